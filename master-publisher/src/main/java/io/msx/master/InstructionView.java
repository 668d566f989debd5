package io.msx.master;

import java.time.Instant;

/**
 * One row of the download list (SQL Server Agent's "download instructions"): an instruction the master posted to a
 * target and what became of it.
 *
 * @param target target it was posted to
 * @param instructionId its id
 * @param operation POLL, SET_POLL, SYNC_TIME, JOB_INSERT, JOB_UPDATE, JOB_DELETE, JOB_START, JOB_STOP, ...
 * @param object the job it concerns, or null
 * @param postedAt when the master posted it; null when only its acknowledgement is known (posted before a restart)
 * @param status POSTED (not applied yet), APPLIED or FAILED
 * @param offset its offset in the target's topic once acknowledged
 * @param appliedAt when the target applied or refused it (target clock)
 * @param error why the target refused it
 * @param checkInAt for a POLL: the local time (target clock) of the check-in that answered it; null before one
 */
public record InstructionView(String target, String instructionId, String operation, String object, Instant postedAt,
                              String status, Long offset, Instant appliedAt, String error,
                              Instant checkInAt) {
}
