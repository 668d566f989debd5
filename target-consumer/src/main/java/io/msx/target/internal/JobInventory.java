package io.msx.target.internal;

import io.msx.avro.JobDefinition;
import io.msx.avro.JobSchedule;
import io.msx.avro.JobStep;
import io.msx.avro.StepAction;
import io.msx.target.internal.job.Schedules;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The jobs this target holds, in memory (a mirror of the {@code jobs} column family, changed only after the change is
 * durable). Thread-safe.
 */
public final class JobInventory {

    private static final Pattern JOB_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,199}");

    private final Map<String, JobDefinition> jobs = new ConcurrentHashMap<>();

    public void load(Map<String, JobDefinition> stored) {
        jobs.clear();
        jobs.putAll(stored);
    }

    public JobDefinition get(String jobId) {
        return jobs.get(jobId);
    }

    public void put(JobDefinition job) {
        jobs.put(job.getJobId(), job);
    }

    public void remove(String jobId) {
        jobs.remove(jobId);
    }

    public List<JobDefinition> all() {
        return List.copyOf(jobs.values());
    }

    /** SHA-256 over the sorted {@code id:version} lines: equal on master and target when they hold the same jobs. */
    public String digest() {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            jobs.values().stream().map(j -> j.getJobId() + ":" + j.getVersion() + "\n").sorted()
                    .forEach(line -> sha.update(line.getBytes(StandardCharsets.UTF_8)));
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JVM", e);
        }
    }

    /**
     * @throws IllegalArgumentException naming what makes the definition unrunnable
     */
    public static void validate(JobDefinition job) {
        if (!JOB_ID.matcher(job.getJobId()).matches()) {
            throw new IllegalArgumentException("invalid job id '" + job.getJobId() + "'");
        }
        if (job.getSteps().isEmpty()) {
            throw new IllegalArgumentException("job '" + job.getJobId() + "' has no steps");
        }
        Set<Integer> ids = new HashSet<>();
        for (JobStep step : job.getSteps()) {
            if (step.getStepId() < 1 || !ids.add(step.getStepId())) {
                throw new IllegalArgumentException("job '" + job.getJobId() + "': step id " + step.getStepId()
                        + " is not a unique positive number");
            }
            if (step.getCommand().isEmpty()) {
                throw new IllegalArgumentException("job '" + job.getJobId() + "' step " + step.getStepId()
                        + " has no command");
            }
            if (step.getRetryAttempts() < 0 || step.getRetryIntervalSeconds() < 0) {
                throw new IllegalArgumentException("job '" + job.getJobId() + "' step " + step.getStepId()
                        + ": negative retry settings");
            }
        }
        for (JobStep step : job.getSteps()) {
            checkGoTo(job, step, step.getOnSuccess(), step.getOnSuccessGoToStep(), ids);
            checkGoTo(job, step, step.getOnFailure(), step.getOnFailureGoToStep(), ids);
        }
        for (JobSchedule schedule : job.getSchedules()) {
            Schedules.validate(schedule);
        }
    }

    private static void checkGoTo(JobDefinition job, JobStep step, StepAction action, Integer goTo, Set<Integer> ids) {
        if (action == StepAction.GO_TO_STEP && (goTo == null || !ids.contains(goTo))) {
            throw new IllegalArgumentException("job '" + job.getJobId() + "' step " + step.getStepId()
                    + " goes to step " + goTo + ", which does not exist");
        }
    }
}
