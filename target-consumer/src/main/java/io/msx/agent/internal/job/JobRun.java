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
 * calling thread; {@link #cancel()} may be called from any thread and kills the running step's process tree.
 */
public final class JobRun {

    private final UUID runId;
    private final JobDefinition job;
    private final String trigger;
    private final Integer startStepId;
    private final Path workDir;
    private final Clock clock;
    private final String threadName;
    private final CountDownLatch canceled = new CountDownLatch(1);

    public JobRun(UUID runId, JobDefinition job, String trigger, Integer startStepId, Path workDir, Clock clock,
                  String threadName) {
        this.runId = runId;
        this.job = job;
        this.trigger = trigger;
        this.startStepId = startStepId;
        this.workDir = workDir;
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

    /** Stops the run: the current step's process tree is killed and the run ends CANCELED. */
    public void cancel() {
        canceled.countDown();
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
        List<StepOutcome> outcomes = new ArrayList<>();
        Integer current = startStepId != null ? startStepId : job.getSteps().get(0).getStepId();
        RunStatus status = RunStatus.SUCCEEDED;
        String message = null;
        int executions = 0;
        int maxExecutions = JobRules.maxStepExecutions(job);
        while (current != null) {
            JobStep step = steps.get(current);
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
        return JobOutcome.newBuilder()
                .setRunId(runId).setJobId(job.getJobId()).setJobVersion(job.getVersion()).setTrigger(trigger)
                .setStatus(status).setMessage(message).setStartedAt(started).setEndedAt(ended)
                .setDurationMillis(Duration.ofNanos(System.nanoTime() - startNanos).toMillis())
                .setSteps(outcomes);
    }

    private Integer next(JobStep step) {
        List<JobStep> all = job.getSteps();
        int index = all.indexOf(step);
        return index + 1 < all.size() ? all.get(index + 1).getStepId() : null;
    }

    /** Runs a step with its retries; returns whether it finally succeeded. */
    private boolean runStep(JobStep step, List<StepOutcome> outcomes) {
        // bounded by JobRules for new jobs; clamped so a stored pre-bounds job cannot overflow
        int attempts = 1 + Math.min(io.msx.schemas.JobRules.MAX_RETRY_ATTEMPTS, Math.max(0, step.getRetryAttempts()));
        for (int attempt = 1; attempt <= attempts; attempt++) {
            Instant started = now();
            StepProcess.Result result = StepProcess.run(step, workDir, java.util.Map.of(
                    "MSX_JOB_ID", job.getJobId(), "MSX_RUN_ID", runId.toString(),
                    "MSX_STEP_ID", Integer.toString(step.getStepId())), this::isCanceled, threadName);
            boolean ok = result.exitCode() != null && step.getSuccessExitCodes().contains(result.exitCode());
            boolean retry = !ok && !result.canceled() && attempt < attempts;
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

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }
}
