package io.msx.agent.internal.job;

import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.StepAction;
import io.msx.avro.status.JobOutcome;
import io.msx.avro.status.RunStatus;
import io.msx.avro.status.StepOutcome;
import io.msx.schemas.JobRules;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * One run of a job: its steps in order as OS processes, each with its retries, then the step's on-success or
 * on-failure action (next step, quit with success, quit with failure, go to step N). {@link #execute()} blocks on the
 * calling thread; {@link #cancel()} and {@link #awaitStopped} may be called from any thread: the running step's
 * processes are killed (its process group and every process carrying {@code MSX_RUN_ID}, see {@link Orphans}) and no
 * step starts after a cancel.
 *
 * <p>Each step attempt runs in its own process group, reported to the {@link StepListener} as it starts, with
 * {@code MSX_JOB_ID}, {@code MSX_RUN_ID}, {@code MSX_STEP_ID} and {@code MSX_ATTEMPT_SEQ} (1, 2, ... for the attempts
 * of the run) in an environment otherwise made by {@link JobIsolation} (which may also refuse to start a step: the
 * attempt then fails with the reason, and is not retried). An attempt keeps at most
 * {@code min(maxOutputBytes, outcomeMaxBytes)} bytes of output, and the outcome is cut to {@code outcomeMaxBytes}
 * by {@link OutcomeBudget} (while the run goes on too, so a run of many attempts does not hold all their output in
 * memory).
 */
public final class JobRun {

    private final UUID runId;
    private final JobDefinition job;
    private final String trigger;
    private final Integer startStepId;
    private final JobIsolation isolation;
    private final Clock clock;
    private final String threadName;
    private final int outcomeMaxBytes;
    private final StepListener listener;
    private final CountDownLatch canceled = new CountDownLatch(1);
    private final Object lock = new Object();
    /** Guarded by lock: set by cancel, after which no attempt begins. */
    private boolean cancelRequested;
    /** Guarded by lock: a step process is running or being killed. */
    private boolean attemptActive;
    private int attemptSeq;

    /**
     * A run with the default outcome budget, whose step process groups are not recorded, isolated by
     * {@link JobIsolation#defaults} in {@code workDir}.
     */
    public JobRun(UUID runId, JobDefinition job, String trigger, Integer startStepId, Path workDir, Clock clock,
                  String threadName) {
        this(runId, job, trigger, startStepId, JobIsolation.defaults(workDir), clock, threadName,
                OutcomeBudget.DEFAULT_MAX_BYTES, StepListener.NONE);
    }

    /**
     * @param isolation       how its step processes are started (environment, working directory, user, allow-list)
     * @param outcomeMaxBytes budget of the outcome's encoded size, at least {@link OutcomeBudget#MIN_MAX_BYTES}
     * @param listener        told the process group of each step attempt as it starts
     */
    public JobRun(UUID runId, JobDefinition job, String trigger, Integer startStepId, JobIsolation isolation,
                  Clock clock, String threadName, int outcomeMaxBytes, StepListener listener) {
        if (outcomeMaxBytes < OutcomeBudget.MIN_MAX_BYTES) {
            throw new IllegalArgumentException("outcome budget " + outcomeMaxBytes + " bytes is below the minimum of "
                    + OutcomeBudget.MIN_MAX_BYTES);
        }
        this.outcomeMaxBytes = outcomeMaxBytes;
        this.listener = listener;
        this.runId = runId;
        this.job = job;
        this.trigger = trigger;
        this.startStepId = startStepId;
        this.isolation = isolation;
        this.clock = clock;
        this.threadName = threadName;
    }

    public UUID runId() {
        return runId;
    }

    public String jobId() {
        return job.getJobId();
    }

    public String trigger() {
        return trigger;
    }

    /** Step the run starts at; null for the first. */
    public Integer startStepId() {
        return startStepId;
    }

    public long jobVersion() {
        return job.getVersion();
    }

    /**
     * Stops the run: no step starts after this returns, the current step's processes are killed (by the run's own
     * thread, within about 50 ms) and the run ends CANCELED. Does not block.
     */
    public void cancel() {
        synchronized (lock) {
            cancelRequested = true;
        }
        canceled.countDown();
    }

    /**
     * After {@link #cancel()}: waits until the step process running (if any) has been killed, then kills and waits
     * for any process of the run still alive (such as one a finished step left in the background).
     *
     * @return true when no process of the run remains; false when some survive {@code timeout}, or when interrupted
     *         (the interrupt flag is then set)
     */
    public boolean awaitStopped(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lock) {
            while (attemptActive) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(lock, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
        return Orphans.kill(List.of(Orphans.runMarker(runId.toString())), List.of(), false, left).clean();
    }

    /** Marks a step process as about to start; false when the run is canceled (nothing may start). */
    private boolean beginAttempt() {
        synchronized (lock) {
            if (cancelRequested) {
                return false;
            }
            attemptActive = true;
            return true;
        }
    }

    private void endAttempt() {
        synchronized (lock) {
            attemptActive = false;
            lock.notifyAll();
        }
    }

    private boolean isCanceled() {
        return canceled.getCount() == 0;
    }

    /**
     * Runs the steps and returns the outcome, without its status header (the reporter adds it when it spools the
     * event); never throws for a failing step. A run entering steps more than {@link JobRules#maxStepExecutions}
     * times is stopped as a go-to-step loop.
     */
    public JobOutcome.Builder execute() {
        Instant started = now();
        long startNanos = System.nanoTime();
        Map<Integer, JobStep> steps = new HashMap<>();
        job.getSteps().forEach(s -> steps.put(s.getStepId(), s));
        Attempts outcomes = new Attempts();
        Integer current = startStepId != null ? startStepId : job.getSteps().get(0).getStepId();
        RunStatus status = RunStatus.SUCCEEDED;
        String message = null;
        int executions = 0;
        int maxExecutions = JobRules.maxStepExecutions(job);
        while (current != null) {
            JobStep step = steps.get(current);
            if (isCanceled()) {
                status = RunStatus.CANCELED;
                message = "canceled before step " + current;
                break;
            }
            if (step == null) {
                status = RunStatus.FAILED;
                message = "step " + current + " does not exist";
                break;
            }
            if (++executions > maxExecutions) {
                status = RunStatus.FAILED;
                message = "more than " + maxExecutions + " step executions: go-to-step loop stopped";
                break;
            }
            boolean succeeded = runStep(step, outcomes);
            if (isCanceled()) {
                status = RunStatus.CANCELED;
                message = "canceled during step " + step.getStepId() + " (" + step.getName() + ")";
                break;
            }
            StepAction action = succeeded ? step.getOnSuccess() : step.getOnFailure();
            Integer goTo = succeeded ? step.getOnSuccessGoToStep() : step.getOnFailureGoToStep();
            switch (action) {
                case NEXT_STEP -> {
                    current = next(step);
                    if (current == null) {
                        status = succeeded ? RunStatus.SUCCEEDED : RunStatus.FAILED;
                        message = "last step " + step.getStepId() + (succeeded ? " succeeded" : " failed");
                    }
                }
                case GO_TO_STEP -> current = goTo;
                case QUIT_WITH_SUCCESS -> {
                    status = RunStatus.SUCCEEDED;
                    message = "quit with success after step " + step.getStepId();
                    current = null;
                }
                default -> {
                    status = RunStatus.FAILED;
                    message = "quit with failure after step " + step.getStepId() + " (" + step.getName() + ")";
                    current = null;
                }
            }
        }
        Instant ended = now();
        return OutcomeBudget.fit(JobOutcome.newBuilder()
                .setRunId(runId).setJobId(job.getJobId()).setJobVersion(job.getVersion()).setTrigger(trigger)
                .setStatus(status).setMessage(message).setStartedAt(started).setEndedAt(ended)
                .setDurationMillis(Duration.ofNanos(System.nanoTime() - startNanos).toMillis())
                .setSteps(outcomes.list), outcomeMaxBytes);
    }

    /**
     * The attempts so far. Once their rough size passes twice the budget they are cut to it (outputs and messages
     * only: which attempts to drop is decided once, at the end), so memory stays near the budget.
     */
    private final class Attempts {
        private List<StepOutcome> list = new ArrayList<>();
        private long roughBytes;
        private long threshold = 2L * outcomeMaxBytes;

        void add(StepOutcome attempt) {
            list.add(attempt);
            roughBytes += 3L * (attempt.getOutput().length() + (attempt.getMessage() == null ? 0
                    : attempt.getMessage().length())) + attempt.getName().length() + 64;
            if (roughBytes > threshold) {
                JobOutcome.Builder partial = JobOutcome.newBuilder().setRunId(runId).setJobId(job.getJobId())
                        .setTrigger(trigger).setStatus(RunStatus.UNKNOWN).setStartedAt(Instant.EPOCH)
                        .setEndedAt(Instant.EPOCH).setDurationMillis(0).setSteps(list);
                OutcomeBudget.trimAttempts(partial, outcomeMaxBytes);
                list = new ArrayList<>(partial.getSteps());
                roughBytes = OutcomeBudget.encodedSize(partial);
                // attempts cut to their bare fields may still pass the budget: compact again only after as much more
                threshold = Math.max(threshold, 2 * roughBytes);
            }
        }
    }

    private Integer next(JobStep step) {
        List<JobStep> all = job.getSteps();
        int index = all.indexOf(step);
        return index + 1 < all.size() ? all.get(index + 1).getStepId() : null;
    }

    /** Runs a step with its retries; returns whether it finally succeeded. */
    private boolean runStep(JobStep step, Attempts outcomes) {
        // bounded by JobRules for new jobs; clamped so a stored pre-bounds job cannot overflow
        int attempts = 1 + Math.min(JobRules.MAX_RETRY_ATTEMPTS, Math.max(0, step.getRetryAttempts()));
        for (int attempt = 1; attempt <= attempts; attempt++) {
            Instant started = now();
            if (!beginAttempt()) {
                return false;
            }
            StepProcess.Result result;
            try {
                String seq = Integer.toString(++attemptSeq);
                result = StepProcess.run(step, isolation, Map.of(
                        "MSX_JOB_ID", job.getJobId(), "MSX_RUN_ID", runId.toString(),
                        "MSX_STEP_ID", Integer.toString(step.getStepId()), "MSX_ATTEMPT_SEQ", seq),
                        new StepProcess.Markers(Orphans.runMarker(runId.toString()), "MSX_ATTEMPT_SEQ=" + seq),
                        outputCap(step), this::isCanceled, listener::started, threadName);
            } finally {
                endAttempt();
            }
            boolean ok = result.exitCode() != null && step.getSuccessExitCodes().contains(result.exitCode());
            boolean retry = !ok && !result.canceled() && result.retriable() && attempt < attempts;
            RunStatus stepStatus = ok ? RunStatus.SUCCEEDED : result.canceled() ? RunStatus.CANCELED
                    : retry ? RunStatus.RETRY : RunStatus.FAILED;
            String message = result.error() != null ? result.error()
                    : ok ? "exit code " + result.exitCode()
                    : "exit code " + result.exitCode() + " is not a success code " + step.getSuccessExitCodes()
                            + (retry ? "; retry " + attempt + " of " + (attempts - 1) + " in "
                            + step.getRetryIntervalSeconds() + " s" : "");
            outcomes.add(StepOutcome.newBuilder()
                    .setStepId(step.getStepId()).setName(step.getName()).setAttempt(attempt).setStatus(stepStatus)
                    .setExitCode(result.exitCode()).setMessage(message).setStartedAt(started).setEndedAt(now())
                    .setOutput(result.output()).setOutputTruncated(result.truncated()).build());
            if (ok) {
                return true;
            }
            if (!retry) {
                return false;
            }
            try {
                if (canceled.await(step.getRetryIntervalSeconds(), TimeUnit.SECONDS)) {
                    return false;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                canceled.countDown();
                return false;
            }
        }
        return false;
    }

    /** Output kept per attempt: the step's own limit, never above the rules' bound nor the outcome's budget. */
    private int outputCap(JobStep step) {
        return Math.max(0, Math.min(Math.min(step.getMaxOutputBytes(), JobRules.MAX_OUTPUT_BYTES), outcomeMaxBytes));
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }
}
