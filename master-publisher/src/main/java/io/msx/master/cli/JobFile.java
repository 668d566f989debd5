package io.msx.master.cli;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobSchedule;
import io.msx.avro.JobStep;
import io.msx.avro.StepAction;
import io.msx.schemas.JobRules;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A job definition file as operators write it (YAML, or JSON, which is YAML too). Unknown keys are errors, so a typo
 * never silently drops a setting, and the definition must meet {@link JobRules} (every bound the master checks), so a
 * bad file fails here, before anything is sent. Example:
 * <pre>
 * id: backup
 * name: Nightly backup
 * targets: [db-1, db-2]
 * groups: [databases]
 * maxStepExecutions: 500        # optional: step executions per run (default 100 per step)
 * steps:
 *   - id: 1
 *     name: dump
 *     command: [sh, -c, "pg_dump app > /backup/app.sql"]
 *     timeoutSeconds: 600
 *     retryAttempts: 2
 *     retryIntervalSeconds: 30
 *     onFailure: QUIT_WITH_FAILURE
 * schedules:
 *   - name: nightly
 *     cron: "0 2 * * *"
 *     timeZone: Europe/Berlin
 * </pre>
 */
public record JobFile(String id, String name, String description, Boolean enabled, List<String> targets,
                      List<String> groups, List<Step> steps, List<Schedule> schedules, Integer maxStepExecutions) {

    /** One step. */
    public record Step(Integer id, String name, List<String> command, Map<String, String> env,
                       String workingDirectory, Integer timeoutSeconds, Integer retryAttempts,
                       Integer retryIntervalSeconds, String onSuccess, Integer onSuccessGoToStep, String onFailure,
                       Integer onFailureGoToStep, List<Integer> successExitCodes, Integer maxOutputBytes) {
    }

    /** One schedule. */
    public record Schedule(String name, String cron, String timeZone, Instant runOnceAt, Boolean enabled) {
    }

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .registerModule(new JavaTimeModule())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /**
     * @throws IllegalArgumentException naming the file and what is wrong in it, including a broken {@link JobRules}
     */
    public static JobDefinition read(Path file) {
        JobFile parsed;
        try {
            parsed = YAML.readValue(Files.readString(file), JobFile.class);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("job file " + file + ": " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read job file " + file + ": " + e.getMessage());
        }
        if (parsed == null) {
            throw new IllegalArgumentException("job file " + file + " is empty");
        }
        JobDefinition job = parsed.toDefinition(file);
        try {
            JobRules.validate(job);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("job file " + file + ": " + e.getMessage());
        }
        return job;
    }

    JobDefinition toDefinition(Path file) {
        require(id, "id", file);
        require(steps, "steps", file);
        JobDefinition.Builder job = JobDefinition.newBuilder().setJobId(id).setName(name == null ? id : name)
                .setDescription(description).setEnabled(enabled == null || enabled)
                .setTargets(targets == null ? List.of() : targets)
                .setGroups(groups == null ? List.of() : groups)
                .setMaxStepExecutions(maxStepExecutions)
                .setSchedules(schedules == null ? List.of() : schedules.stream().map(s -> schedule(s, file)).toList());
        int position = 0;
        List<JobStep> built = new java.util.ArrayList<>();
        for (Step s : steps) {
            position++;
            require(s.command(), "steps[" + position + "].command", file);
            JobStep.Builder step = JobStep.newBuilder()
                    .setStepId(s.id() == null ? position : s.id())
                    .setName(s.name() == null ? "step " + position : s.name())
                    .setCommand(s.command())
                    .setEnv(s.env() == null ? Map.of() : s.env())
                    .setWorkingDirectory(s.workingDirectory())
                    .setTimeoutSeconds(s.timeoutSeconds())
                    .setOnSuccessGoToStep(s.onSuccessGoToStep())
                    .setOnFailureGoToStep(s.onFailureGoToStep());
            if (s.retryAttempts() != null) {
                step.setRetryAttempts(s.retryAttempts());
            }
            if (s.retryIntervalSeconds() != null) {
                step.setRetryIntervalSeconds(s.retryIntervalSeconds());
            }
            if (s.onSuccess() != null) {
                step.setOnSuccess(action(s.onSuccess(), file));
            }
            if (s.onFailure() != null) {
                step.setOnFailure(action(s.onFailure(), file));
            }
            if (s.successExitCodes() != null) {
                step.setSuccessExitCodes(s.successExitCodes());
            }
            if (s.maxOutputBytes() != null) {
                step.setMaxOutputBytes(s.maxOutputBytes());
            }
            built.add(step.build());
        }
        return job.setSteps(built).build();
    }

    private static JobSchedule schedule(Schedule s, Path file) {
        require(s.name(), "schedules[].name", file);
        JobSchedule.Builder schedule = JobSchedule.newBuilder().setName(s.name()).setCron(s.cron())
                .setRunOnceAt(s.runOnceAt()).setEnabled(s.enabled() == null || s.enabled());
        if (s.timeZone() != null) {
            schedule.setTimeZone(s.timeZone());
        }
        return schedule.build();
    }

    private static StepAction action(String value, Path file) {
        try {
            return StepAction.valueOf(value.trim().toUpperCase(Locale.ROOT).replace('-', '_').replace(' ', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("job file " + file + ": unknown step action '" + value + "' (use "
                    + "NEXT_STEP, QUIT_WITH_SUCCESS, QUIT_WITH_FAILURE or GO_TO_STEP)");
        }
    }

    private static void require(Object value, String key, Path file) {
        if (value == null || (value instanceof List<?> list && list.isEmpty())) {
            throw new IllegalArgumentException("job file " + file + ": '" + key + "' is required");
        }
    }
}
