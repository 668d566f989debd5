package io.msx.master;

/** A target's health as the master sees it (SQL Server Agent's Manage Target Servers statuses). */
public enum TargetStatus {
    /** Checked in within three polling intervals. */
    NORMAL,
    /** No check-in for three polling intervals. */
    SUSPECTED_OFFLINE,
    /** Its jobs differ from what the master assigned; a resync is under way. */
    RESYNC_PENDING,
    /** An instruction could not be applied and needs an operator. */
    BLOCKED
}
