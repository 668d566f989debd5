package io.msx.master;

import io.msx.avro.JobDefinition;
import io.msx.avro.JobSchedule;
import io.msx.avro.JobStep;

import java.util.List;

/**
 * A job's whole definition as the master holds it ({@code GET /jobs/{id}}, the console's job page). A step's
 * environment is shown by variable names only: its values may be secrets.
 *
 * @param jobId id
 * @param name name
 * @param description description, or null
 * @param version definition version
 * @param enabled whether its schedules fire
 * @param targets targets it is assigned to
 * @param groups target groups it is assigned to
 * @param steps its steps, in order
 * @param schedules its schedules
 */
public record JobDetail(String jobId, String name, String description, long version, boolean enabled,
                        List<String> targets, List<String> groups, List<Step> steps, List<Schedule> schedules) {

    /**
     * One step.
     *
     * @param envNames names of the environment variables it sets (not their values)
     */
    public record Step(int stepId, String name, List<String> command, String workingDirectory, Integer timeoutSeconds,
                       int retryAttempts, int retryIntervalSeconds, String onSuccess, Integer onSuccessGoToStep,
                       String onFailure, Integer onFailureGoToStep, List<Integer> successExitCodes,
                       int maxOutputBytes, List<String> envNames) {
    }

    /** One schedule: a cron expression or one time ({@code runOnceAt}, epoch millis). */
    public record Schedule(String name, String cron, String timeZone, Long runOnceAt, boolean enabled) {
    }

    public static JobDetail of(JobDefinition j) {
        return new JobDetail(j.getJobId(), j.getName(), j.getDescription(), j.getVersion(), j.getEnabled(),
                List.copyOf(j.getTargets()), List.copyOf(j.getGroups()),
                j.getSteps().stream().map(JobDetail::step).toList(),
                j.getSchedules().stream().map(JobDetail::schedule).toList());
    }

    private static Step step(JobStep s) {
        return new Step(s.getStepId(), s.getName(), List.copyOf(s.getCommand()), s.getWorkingDirectory(),
                s.getTimeoutSeconds(), s.getRetryAttempts(), s.getRetryIntervalSeconds(), s.getOnSuccess().name(),
                s.getOnSuccessGoToStep(), s.getOnFailure().name(), s.getOnFailureGoToStep(),
                List.copyOf(s.getSuccessExitCodes()), s.getMaxOutputBytes(),
                s.getEnv().keySet().stream().map(String::valueOf).sorted().toList());
    }

    private static Schedule schedule(JobSchedule s) {
        return new Schedule(s.getName(), s.getCron(), s.getTimeZone(),
                s.getRunOnceAt() == null ? null : s.getRunOnceAt().toEpochMilli(), s.getEnabled());
    }
}
