package io.msx.agent;

import io.msx.avro.JobDefinition;
import io.msx.schemas.JobRules;

/**
 * Rules every job definition must meet; the master checks them before posting a job, the agent before storing it.
 * The rules themselves are {@link JobRules}'.
 */
public final class Jobs {

    private Jobs() {
    }

    /**
     * @throws IllegalArgumentException naming what makes the definition unrunnable (no steps, a go-to-step to a
     *                                  missing step, an invalid cron or time zone, a value beyond its bound, ...)
     */
    public static void validate(JobDefinition job) {
        JobRules.validate(job);
    }
}
