package io.msx.master;

import java.time.Instant;
import java.util.List;

/**
 * One run of a job on one target, as job history shows it (SQL Server Agent's job history with step detail).
 *
 * @param target where it ran
 * @param runId unique run id
 * @param jobId job run
 * @param jobVersion definition version that ran
 * @param trigger START instruction id or {@code schedule:<name>}
 * @param status SUCCEEDED, FAILED, CANCELED or SKIPPED
 * @param message summary
 * @param startedAt start (target clock)
 * @param endedAt end (target clock)
 * @param durationMillis duration
 * @param steps step attempts in the order they ran
 */
public record JobRunView(String target, String runId, String jobId, long jobVersion, String trigger, String status,
                         String message, Instant startedAt, Instant endedAt, long durationMillis,
                         List<Step> steps) {

    /** One attempt of one step. */
    public record Step(int stepId, String name, int attempt, String status, Integer exitCode, String message,
                       String output, boolean outputTruncated) {
    }
}
