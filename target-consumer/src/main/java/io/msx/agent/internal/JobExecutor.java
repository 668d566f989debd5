package io.msx.agent.internal;

import io.msx.RetryPolicy;
import io.msx.avro.JobDefinition;
import io.msx.avro.status.JobOutcome;
import io.msx.avro.status.JobRunStarted;
import io.msx.avro.status.RunStatus;
import io.msx.agent.internal.job.JobIsolation;
import io.msx.agent.internal.job.JobRun;
import io.msx.agent.internal.job.Orphans;
import io.msx.agent.internal.job.OutcomeBudget;
import io.msx.agent.internal.job.StepListener;
import io.msx.spool.StateChange;
import io.msx.spool.StatusOutbox.Priority;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs jobs on a bounded pool of named threads, at most one instance of a job at a time: {@link #reserve} claims a
 * job's slot before its run is recorded, so a second START or schedule tick finds it taken and is reported SKIPPED.
 * A slot is held until the run's outcome is spooled, and given back when the pool refuses the run (reported SKIPPED).
 *
 * <p>Each run reports JobRunStarted (marking its record STARTED), records the process group of each step process as
 * it starts (synchronously, in its {@code StoredRun}, so a restarted agent can kill what survived a crash: see
 * {@link io.msx.agent.internal.job.Orphans#killSurvivors}), and reports its JobOutcome (deleting its record), cut to
 * {@code outcomeMaxBytes} by {@link OutcomeBudget}. Both go to the outbox's reserved part: they report runs already
 * started. An outcome the outbox refuses is retried with back-off until it is taken or the executor shuts down.
 *
 * <p>Thread-safe. {@link #cancelAndAwait} and {@link #shutdown} block; the rest does not.
 */
public final class JobExecutor implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(JobExecutor.class);
    /** Budget of one JobOutcome's encoded size unless configured. */
    public static final int DEFAULT_OUTCOME_MAX_BYTES = OutcomeBudget.DEFAULT_MAX_BYTES;
    /** Process groups kept in a run's record: the latest ones (older ones' processes are found by environment). */
    static final int MAX_RECORDED_GROUPS = 64;
    private static final int QUEUE_CAPACITY = 1000;

    private final String target;
    private final StatusReporter reporter;
    private final AgentStore store;
    private final JobIsolation isolation;
    private final Clock clock;
    private final int outcomeMaxBytes;
    private final ThreadPoolExecutor pool;
    private final Map<String, JobRun> running = new ConcurrentHashMap<>();
    private final AtomicInteger threads = new AtomicInteger();
    /** Monitor notified whenever a slot is freed. */
    private final Object slots = new Object();
    /** Longest a finished run waits for the processes its steps left running to die. */
    private static final Duration LEFTOVER_KILL_TIMEOUT = Duration.ofSeconds(10);
    /** Counted down when shutdown stops waiting: outcomes still being retried are then given up. */
    private final CountDownLatch abandon = new CountDownLatch(1);

    public JobExecutor(String target, int maxConcurrent, StatusReporter reporter, Path workDir, Clock clock) {
        this(target, maxConcurrent, reporter, workDir, clock, DEFAULT_OUTCOME_MAX_BYTES);
    }

    /**
     * @param outcomeMaxBytes budget of each JobOutcome's encoded size, at least {@link OutcomeBudget#MIN_MAX_BYTES}
     * @throws IllegalArgumentException when the budget is below that
     */
    public JobExecutor(String target, int maxConcurrent, StatusReporter reporter, Path workDir, Clock clock,
                       int outcomeMaxBytes) {
        this(target, maxConcurrent, reporter, JobIsolation.defaults(workDir), clock, outcomeMaxBytes);
    }

    /**
     * @param isolation       how step processes start: environment, working directory, user, allow-list
     * @param outcomeMaxBytes budget of each JobOutcome's encoded size, at least {@link OutcomeBudget#MIN_MAX_BYTES}
     * @throws IllegalArgumentException when the budget is below that
     */
    public JobExecutor(String target, int maxConcurrent, StatusReporter reporter, JobIsolation isolation,
                       Clock clock, int outcomeMaxBytes) {
        this(target, maxConcurrent, QUEUE_CAPACITY, reporter, isolation, clock, outcomeMaxBytes);
    }

    JobExecutor(String target, int maxConcurrent, int queueCapacity, StatusReporter reporter, JobIsolation isolation,
                Clock clock, int outcomeMaxBytes) {
        if (outcomeMaxBytes < OutcomeBudget.MIN_MAX_BYTES) {
            throw new IllegalArgumentException("job outcome budget " + outcomeMaxBytes + " bytes is below the minimum"
                    + " of " + OutcomeBudget.MIN_MAX_BYTES);
        }
        this.target = target;
        this.reporter = reporter;
        this.store = reporter.store();
        this.isolation = isolation;
        this.clock = clock;
        this.outcomeMaxBytes = outcomeMaxBytes;
        this.pool = new ThreadPoolExecutor(maxConcurrent, maxConcurrent, 0, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(queueCapacity),
                r -> new Thread(r, "msx-target-" + target + "-run-" + threads.incrementAndGet()));
    }

    /**
     * Claims the job's single slot for a new run.
     *
     * @return the run, or null when an instance of the job is already running or queued
     */
    public JobRun reserve(UUID runId, JobDefinition job, String trigger, Integer startStepId) {
        JobRun run = new JobRun(runId, job, trigger, startStepId, isolation, clock,
                "msx-target-" + target + "-run-" + job.getJobId(), outcomeMaxBytes,
                new GroupRecorder(runId, job.getJobId(), trigger, startStepId));
        return running.putIfAbsent(job.getJobId(), run) == null ? run : null;
    }

    /** How this executor's step processes start; what a job definition is checked against before it is stored. */
    public JobIsolation isolation() {
        return isolation;
    }

    /** Gives a slot back when the run could not be recorded. */
    public void release(JobRun run) {
        free(run);
    }

    /** Frees a run's slot and wakes whoever waits for it ({@link #cancelAndAwait}). */
    private void free(JobRun run) {
        synchronized (slots) {
            running.remove(run.jobId(), run);
            slots.notifyAll();
        }
    }

    /** The run holding a job's slot, or null. */
    public JobRun current(String jobId) {
        return running.get(jobId);
    }

    /**
     * Starts a reserved run. Never throws: when the pool refuses it (queue full, shutting down) the slot is given
     * back and the run reported SKIPPED with the reason, its record deleted in the same write.
     */
    public void start(JobRun run) {
        try {
            pool.execute(() -> execute(run));
        } catch (RejectedExecutionException e) {
            free(run);
            String reason = pool.isShutdown() ? "the agent is shutting down: run not started"
                    : "the agent's run queue is full (" + pool.getActiveCount() + " runs going, "
                    + pool.getQueue().size() + " waiting): run not started";
            log.warn("Job {} run {} skipped: {}", run.jobId(), run.runId(), reason);
            try {
                Instant now = reporter.now();
                reporter.report(h -> JobOutcome.newBuilder().setHeader(h).setRunId(run.runId())
                        .setJobId(run.jobId()).setJobVersion(run.jobVersion()).setTrigger(run.trigger())
                        .setStatus(RunStatus.SKIPPED).setMessage(reason).setStartedAt(now).setEndedAt(now)
                        .setDurationMillis(0).build(), List.of(AgentStore.deleteRun(run.runId())), Priority.RESERVED);
            } catch (RuntimeException failure) {
                log.error("Job {} run {} was skipped but that could not be reported ({}); its record stays and the "
                        + "next agent start deals with it", run.jobId(), run.runId(), failure.toString());
            }
        }
    }

    private void execute(JobRun run) {
        try {
            Instant started = reporter.now();
            try {
                reporter.report(h -> JobRunStarted.newBuilder().setHeader(h).setRunId(run.runId())
                        .setJobId(run.jobId()).setStartedAt(started).setTrigger(run.trigger()).build(),
                        store.putRun(AgentStore.run(run.runId(), run.jobId(), AgentStore.STARTED, run.trigger(),
                                run.startStepId())), Priority.RESERVED);
            } catch (RuntimeException e) {
                log.error("Job {} run {} not started: its start could not be spooled ({}); its record stays PENDING "
                        + "and the run starts when the agent restarts", run.jobId(), run.runId(), e.toString());
                return;
            }
            JobOutcome.Builder outcome;
            try {
                outcome = run.execute();
            } catch (RuntimeException e) {
                log.error("Job {} run {} failed in the agent", run.jobId(), run.runId(), e);
                Instant now = reporter.now();
                outcome = JobOutcome.newBuilder().setRunId(run.runId()).setJobId(run.jobId())
                        .setJobVersion(run.jobVersion()).setTrigger(run.trigger()).setStatus(RunStatus.FAILED)
                        .setMessage("the agent failed running it: " + e).setStartedAt(started).setEndedAt(now)
                        .setDurationMillis(Duration.between(started, now).toMillis());
                OutcomeBudget.fit(outcome, outcomeMaxBytes);
            }
            Orphans.killLeftovers(run.runId(), run.jobId(), LEFTOVER_KILL_TIMEOUT);
            if (reportOutcome(run, outcome)) {
                log.info("Job {} run {} {}: {}", run.jobId(), run.runId(), outcome.getStatus(), outcome.getMessage());
            }
        } finally {
            free(run);
        }
    }

    /**
     * Appends the outcome (deleting the run's record), retrying with back-off while the outbox refuses it, until
     * it is taken or the executor shuts down; the run's slot stays held meanwhile.
     *
     * @return whether it was appended
     */
    private boolean reportOutcome(JobRun run, JobOutcome.Builder outcome) {
        RetryPolicy.Backoff backoff = RetryPolicy.DEFAULT.backoff();
        while (true) {
            try {
                reporter.report(h -> outcome.setHeader(h).build(), List.of(AgentStore.deleteRun(run.runId())),
                        Priority.RESERVED);
                if (backoff.failures() > 0) {
                    log.info("Job {} run {}: outcome spooled after {} failed attempt(s)", run.jobId(), run.runId(),
                            backoff.failures());
                }
                return true;
            } catch (RuntimeException e) {
                Duration pause = backoff.next();
                int failures = backoff.failures();
                // at 5 s between attempts, every 12th is about once a minute
                if (failures <= 3 || failures % 12 == 0) {
                    log.warn("Job {} run {}: outcome not spooled (attempt {}, {}{}); retrying in {} ms", run.jobId(),
                            run.runId(), failures, RetryPolicy.isTransient(e) ? "" : "not transient: ", e.toString(),
                            pause.toMillis());
                }
                try {
                    if (abandon.await(pause.toMillis(), TimeUnit.MILLISECONDS)) {
                        log.error("Job {} run {}: outcome {} given up at shutdown after {} failed attempt(s); the run "
                                + "stays recorded and is reported FAILED when the agent restarts", run.jobId(),
                                run.runId(), outcome.getStatus(), failures);
                        return false;
                    }
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    log.error("Job {} run {}: interrupted while retrying its outcome; the run stays recorded",
                            run.jobId(), run.runId());
                    return false;
                }
            }
        }
    }

    /** Cancels a job's run; false when none holds its slot. Does not wait for its processes. */
    public boolean cancel(String jobId) {
        JobRun run = running.get(jobId);
        if (run == null) {
            return false;
        }
        run.cancel();
        return true;
    }

    /**
     * Cancels a job's run and waits until its step processes are gone, so that a STOP is acknowledged only once it
     * happened. Blocks up to {@code timeout} (a step being killed takes up to about 10 s on its own).
     *
     * @return true when no process of the run remains, or no run holds the job's slot; false when some survive the
     *         timeout (or the thread is interrupted, its flag then set)
     */
    public boolean cancelAndAwait(String jobId, Duration timeout) {
        JobRun run = running.get(jobId);
        if (run == null) {
            return true;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        run.cancel();
        if (!run.awaitStopped(timeout)) {
            return false;
        }
        // and its slot free (leftovers killed, outcome spooled): a START right after the STOP runs
        synchronized (slots) {
            while (running.get(jobId) == run) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    slots.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return true;
    }


    /** Ids of jobs running (or about to), sorted. */
    public List<String> runningJobs() {
        return running.keySet().stream().sorted().toList();
    }

    /**
     * Takes no new runs, lets running ones finish until {@code grace} passes, then cancels the rest, gives up
     * outcomes still being retried, and waits for their outcomes to be reported.
     */
    public void shutdown(Duration grace) {
        pool.shutdown();
        try {
            if (!pool.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                log.warn("{} run(s) still going after {}: canceling them", running.size(), grace);
                running.values().forEach(JobRun::cancel);
                abandon.countDown();
                pool.awaitTermination(30, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            running.values().forEach(JobRun::cancel);
            abandon.countDown();
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        shutdown(Duration.ZERO);
    }

    /**
     * Records each step process group of one run in its {@code StoredRun}, durably, before the run waits for the
     * process: a crash after that leaves the group on record. Runs on the run's thread only.
     */
    private final class GroupRecorder implements StepListener {
        private final UUID runId;
        private final String jobId;
        private final String trigger;
        private final Integer startStepId;
        private final List<Long> groups = new ArrayList<>();

        GroupRecorder(UUID runId, String jobId, String trigger, Integer startStepId) {
            this.runId = runId;
            this.jobId = jobId;
            this.trigger = trigger;
            this.startStepId = startStepId;
        }

        @Override
        public void started(long processGroup) {
            groups.add(processGroup);
            if (groups.size() > MAX_RECORDED_GROUPS) {
                groups.remove(0);
            }
            List<StateChange> changes = store.putRun(AgentStore.run(runId, jobId, AgentStore.STARTED, trigger,
                    startStepId, groups));
            reporter.spool().writeState(changes);
            store.durable(changes);
        }
    }
}
