package io.msx.schemas;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.parser.CronParser;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobSchedule;
import io.msx.avro.JobStep;
import io.msx.avro.StepAction;

import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The rules every job definition meets, with the bound of every number and size in it. The master checks them before
 * it posts a job, and the agent again before it stores one (a record on a target topic may not come from this
 * master). Each bound is a constant here, documented in the README, and tested at its edge.
 *
 * <p>Thread-safe (stateless).
 */
public final class JobRules {

    /** Job ids: letters, digits, '.', '_' and '-' (a job id is a record key, never a topic name). */
    public static final Pattern JOB_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,199}");
    public static final int MAX_NAME_LENGTH = 200;
    public static final int MAX_DESCRIPTION_LENGTH = 4_000;
    public static final int MAX_STEPS = 1_000;
    public static final int MAX_STEP_ID = 99_999;
    public static final int MAX_ARGS = 1_000;
    /** Linux's own limit on one argument (MAX_ARG_STRLEN). */
    public static final int MAX_ARG_LENGTH = 131_072;
    public static final int MAX_ENV_ENTRIES = 1_000;
    public static final int MAX_PATH_LENGTH = 4_096;
    /** Seven days. */
    public static final int MAX_TIMEOUT_SECONDS = 604_800;
    /** SQL Server Agent's own bound on a step's retry attempts. */
    public static final int MAX_RETRY_ATTEMPTS = 9_999;
    /** One day. */
    public static final int MAX_RETRY_INTERVAL_SECONDS = 86_400;
    /** Captured output kept per step attempt. */
    public static final int MAX_OUTPUT_BYTES = 1_048_576;
    public static final int MAX_SUCCESS_EXIT_CODES = 256;
    public static final int MAX_SCHEDULES = 100;
    public static final int MAX_TARGETS = 10_000;
    public static final int MAX_GROUPS = 1_000;
    /** How often a run may enter each step on average before it is stopped as a go-to-step loop. */
    public static final int STEP_EXECUTIONS_PER_STEP = 100;
    public static final int MAX_STEP_EXECUTIONS = 1_000_000;

    private static final CronParser CRON = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));

    private JobRules() {
    }

    /**
     * Step executions allowed in one run of {@code job}: its own {@code maxStepExecutions}, or
     * {@link #STEP_EXECUTIONS_PER_STEP} per step. A job without go-to-step loops enters each step at most once, so
     * it never reaches this bound.
     */
    public static int maxStepExecutions(JobDefinition job) {
        Integer own = job.getMaxStepExecutions();
        return own != null ? own : Math.max(1, job.getSteps().size()) * STEP_EXECUTIONS_PER_STEP;
    }

    /**
     * @throws IllegalArgumentException naming the job, the value and its bound when the definition breaks a rule
     */
    public static void validate(JobDefinition job) {
        String jobId = job.getJobId();
        if (jobId == null || !JOB_ID.matcher(jobId).matches()) {
            throw new IllegalArgumentException("invalid job id '" + shorten(jobId) + "': use 1 to 200 letters, "
                    + "digits, '.', '_' or '-', starting with a letter or digit");
        }
        String where = "job '" + jobId + "'";
        length(where + " name", job.getName(), MAX_NAME_LENGTH);
        if (job.getDescription() != null) {
            length(where + " description", job.getDescription(), MAX_DESCRIPTION_LENGTH);
        }
        List<JobStep> steps = job.getSteps();
        if (steps.isEmpty()) {
            throw new IllegalArgumentException(where + " has no steps");
        }
        count(where + " steps", steps.size(), MAX_STEPS);
        if (job.getMaxStepExecutions() != null) {
            range(where + " maxStepExecutions", job.getMaxStepExecutions(), 1, MAX_STEP_EXECUTIONS);
        }
        Set<Integer> ids = new HashSet<>();
        for (JobStep step : steps) {
            if (step.getStepId() < 1 || step.getStepId() > MAX_STEP_ID || !ids.add(step.getStepId())) {
                throw new IllegalArgumentException(where + ": step id " + step.getStepId()
                        + " is not a unique number from 1 to " + MAX_STEP_ID);
            }
            validateStep(where + " step " + step.getStepId(), step);
        }
        for (JobStep step : steps) {
            checkGoTo(where, step, step.getOnSuccess(), step.getOnSuccessGoToStep(), ids);
            checkGoTo(where, step, step.getOnFailure(), step.getOnFailureGoToStep(), ids);
        }
        count(where + " schedules", job.getSchedules().size(), MAX_SCHEDULES);
        Set<String> scheduleNames = new HashSet<>();
        for (JobSchedule schedule : job.getSchedules()) {
            validateSchedule(schedule);
            if (!scheduleNames.add(schedule.getName())) {
                throw new IllegalArgumentException(where + ": schedule name '" + schedule.getName()
                        + "' is used twice");
            }
        }
        count(where + " targets", job.getTargets().size(), MAX_TARGETS);
        job.getTargets().forEach(Topics::requireValidTargetName);
        count(where + " groups", job.getGroups().size(), MAX_GROUPS);
        job.getGroups().forEach(Topics::requireValidGroupName);
    }

    private static void validateStep(String where, JobStep step) {
        length(where + " name", step.getName(), MAX_NAME_LENGTH);
        if (step.getCommand().isEmpty()) {
            throw new IllegalArgumentException(where + " has no command");
        }
        count(where + " command arguments", step.getCommand().size(), MAX_ARGS);
        for (String arg : step.getCommand()) {
            length(where + " command argument", arg, MAX_ARG_LENGTH);
            noNul(where + " command argument", arg);
        }
        if (step.getCommand().get(0).isEmpty()) {
            throw new IllegalArgumentException(where + ": the program (first command argument) is empty");
        }
        count(where + " env entries", step.getEnv().size(), MAX_ENV_ENTRIES);
        for (Map.Entry<String, String> e : step.getEnv().entrySet()) {
            if (e.getKey().isEmpty() || e.getKey().indexOf('=') >= 0) {
                throw new IllegalArgumentException(where + ": invalid environment variable name '"
                        + shorten(e.getKey()) + "'");
            }
            length(where + " env " + shorten(e.getKey()), e.getKey() + e.getValue(), MAX_ARG_LENGTH);
            noNul(where + " env " + shorten(e.getKey()), e.getKey() + e.getValue());
        }
        if (step.getWorkingDirectory() != null) {
            length(where + " workingDirectory", step.getWorkingDirectory(), MAX_PATH_LENGTH);
            noNul(where + " workingDirectory", step.getWorkingDirectory());
        }
        if (step.getTimeoutSeconds() != null) {
            range(where + " timeoutSeconds", step.getTimeoutSeconds(), 1, MAX_TIMEOUT_SECONDS);
        }
        range(where + " retryAttempts", step.getRetryAttempts(), 0, MAX_RETRY_ATTEMPTS);
        range(where + " retryIntervalSeconds", step.getRetryIntervalSeconds(), 0, MAX_RETRY_INTERVAL_SECONDS);
        range(where + " maxOutputBytes", step.getMaxOutputBytes(), 0, MAX_OUTPUT_BYTES);
        if (step.getSuccessExitCodes().isEmpty()) {
            throw new IllegalArgumentException(where + ": successExitCodes is empty, so the step could never "
                    + "succeed");
        }
        count(where + " successExitCodes", step.getSuccessExitCodes().size(), MAX_SUCCESS_EXIT_CODES);
    }

    /**
     * @throws IllegalArgumentException naming the schedule and what is wrong with it
     */
    public static void validateSchedule(JobSchedule schedule) {
        length("schedule name", schedule.getName(), MAX_NAME_LENGTH);
        if ((schedule.getCron() == null) == (schedule.getRunOnceAt() == null)) {
            throw new IllegalArgumentException("schedule '" + schedule.getName() + "' needs exactly one of cron and "
                    + "runOnceAt");
        }
        try {
            ZoneId.of(schedule.getTimeZone());
        } catch (DateTimeException e) {
            throw new IllegalArgumentException("schedule '" + schedule.getName() + "': invalid time zone '"
                    + shorten(schedule.getTimeZone()) + "'");
        }
        if (schedule.getCron() != null) {
            length("schedule '" + schedule.getName() + "' cron", schedule.getCron(), MAX_NAME_LENGTH);
            try {
                CRON.parse(schedule.getCron()).validate();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("schedule '" + schedule.getName() + "': invalid cron '"
                        + schedule.getCron() + "': " + e.getMessage());
            }
        }
    }

    private static void checkGoTo(String where, JobStep step, StepAction action, Integer goTo, Set<Integer> ids) {
        if (action == StepAction.GO_TO_STEP && (goTo == null || !ids.contains(goTo))) {
            throw new IllegalArgumentException(where + " step " + step.getStepId() + " goes to step " + goTo
                    + ", which does not exist");
        }
    }

    private static void range(String what, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(what + " is " + value + ", allowed " + min + " to " + max);
        }
    }

    private static void count(String what, int size, int max) {
        if (size > max) {
            throw new IllegalArgumentException(what + ": " + size + ", at most " + max + " allowed");
        }
    }

    private static void length(String what, String value, int max) {
        if (value == null) {
            throw new IllegalArgumentException(what + " is missing");
        }
        if (value.length() > max) {
            throw new IllegalArgumentException(what + " is " + value.length() + " characters long, at most " + max
                    + " allowed");
        }
    }

    private static void noNul(String what, String value) {
        if (value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(what + " contains a NUL character");
        }
    }

    private static String shorten(String s) {
        return s == null || s.length() <= 60 ? s : s.substring(0, 60) + "...";
    }
}
