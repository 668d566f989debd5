package io.msx.agent.internal;

import io.msx.avro.JobDefinition;
import io.msx.avro.status.JobOutcome;
import io.msx.avro.status.JobRunStarted;
import io.msx.agent.internal.job.JobRun;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs jobs on a bounded pool of named threads, at most one instance of a job at a time: {@link #reserve} claims a
 * job's slot before its run is recorded, so a second START or schedule tick finds it taken and is reported SKIPPED.
 * Each run reports JobRunStarted (marking its record STARTED) and its JobOutcome (deleting its record) through the
 * {@link StatusReporter}.
 */
public final class JobExecutor implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(JobExecutor.class);

    private final String target;
    private final StatusReporter reporter;
    private final AgentStore store;
    private final Path workDir;
    private final Clock clock;
    private final ThreadPoolExecutor pool;
    private final Map<String, JobRun> running = new ConcurrentHashMap<>();
    private final AtomicInteger threads = new AtomicInteger();

    public JobExecutor(String target, int maxConcurrent, StatusReporter reporter, Path workDir, Clock clock) {
        this.target = target;
        this.reporter = reporter;
        this.store = reporter.store();
        this.workDir = workDir;
        this.clock = clock;
        this.pool = new ThreadPoolExecutor(maxConcurrent, maxConcurrent, 0, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(1000),
                r -> new Thread(r, "msx-target-" + target + "-run-" + threads.incrementAndGet()));
    }

    /**
     * Claims the job's single slot for a new run.
     *
     * @return the run, or null when an instance of the job is already running or queued
     */
    public JobRun reserve(UUID runId, JobDefinition job, String trigger, Integer startStepId) {
        JobRun run = new JobRun(runId, job, trigger, startStepId, workDir, clock,
                "msx-target-" + target + "-run-" + job.getJobId());
        return running.putIfAbsent(job.getJobId(), run) == null ? run : null;
    }

    /** Gives a slot back when the run could not be recorded. */
    public void release(JobRun run) {
        running.remove(run.jobId(), run);
    }

    /** The run holding a job's slot, or null. */
    public JobRun current(String jobId) {
        return running.get(jobId);
    }

    /** Starts a reserved run. */
    public void start(JobRun run) {
        pool.execute(() -> execute(run));
    }

    private void execute(JobRun run) {
        try {
            Instant started = reporter.now();
            reporter.report(h -> JobRunStarted.newBuilder().setHeader(h).setRunId(run.runId()).setJobId(run.jobId())
                    .setStartedAt(started).setTrigger(run.trigger()).build(),
                    store.putRun(AgentStore.run(run.runId(), run.jobId(), AgentStore.STARTED, run.trigger(), null)));
            JobOutcome.Builder outcome = run.execute();
            reporter.report(h -> outcome.setHeader(h).build(), List.of(AgentStore.deleteRun(run.runId())));
            log.info("Job {} run {} {}: {}", run.jobId(), run.runId(), outcome.getStatus(), outcome.getMessage());
        } catch (RuntimeException e) {
            log.error("Job {} run {} could not be reported: {}", run.jobId(), run.runId(), e.toString());
        } finally {
            running.remove(run.jobId(), run);
        }
    }

    /** Cancels a job's run; false when none holds its slot. */
    public boolean cancel(String jobId) {
        JobRun run = running.get(jobId);
        if (run == null) {
            return false;
        }
        run.cancel();
        return true;
    }

    /** Ids of jobs running (or about to), sorted. */
    public List<String> runningJobs() {
        return running.keySet().stream().sorted().toList();
    }

    /**
     * Takes no new runs, lets running ones finish until {@code grace} passes, then cancels the rest and waits for
     * their outcomes to be reported.
     */
    public void shutdown(Duration grace) {
        pool.shutdown();
        try {
            if (!pool.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                log.warn("{} run(s) still going after {}: canceling them", running.size(), grace);
                running.values().forEach(JobRun::cancel);
                pool.awaitTermination(30, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            running.values().forEach(JobRun::cancel);
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        shutdown(Duration.ZERO);
    }
}
