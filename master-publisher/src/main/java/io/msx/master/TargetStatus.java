package io.msx.master;

/** A target's health as the master sees it (SQL Server Agent's Manage Target Servers statuses). */
public enum TargetStatus {
    /**
     * It presented a status-signing key and none is accepted yet: its events change no view until
     * {@code msx target accept --fingerprint} names the key's fingerprint.
     */
    PENDING,
    /** Checked in within three polling intervals. */
    NORMAL,
    /** No check-in for three polling intervals. */
    SUSPECTED_OFFLINE,
    /** A resync was posted and the target has not yet acknowledged all of it. */
    RESYNC_PENDING,
    /**
     * Its spool refused status events at its last check-in (it was full): job outcomes are being refused, so the
     * broker has been unreachable from it for long, or spool.max.bytes is too small. An operator must act.
     */
    BLOCKED
}
