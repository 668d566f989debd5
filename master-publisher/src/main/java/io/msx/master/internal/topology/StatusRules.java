package io.msx.master.internal.topology;

import io.msx.avro.StatusHeader;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.ClockReport;
import io.msx.avro.status.Enlist;
import io.msx.avro.status.InstructionAck;
import io.msx.master.TargetStatus;
import io.msx.master.TargetView;
import org.apache.avro.specific.SpecificRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * How a status event changes a target's {@link TargetState}, and what status the views show. Deduplicates by
 * {@code (target, epoch, seq)}: a target's events share one partition, in order, so within the current installation
 * (a null epoch from an older agent counts as {@code ""}) any seq at or below the last one seen is a replay. An
 * Enlist of another epoch is a new installation whose seq starts again: the target switches to it. Any other event
 * of an epoch that is not the current one is stale (the old installation's replay, or a clone using the same name):
 * ignored and counted. A seq more than {@link #MAX_SEQ_JUMP} beyond the last of its epoch is refused, so a forged or
 * corrupt header cannot make every genuine event after it look like a replay. Stateless.
 */
public final class StatusRules {

    private static final Logger log = LoggerFactory.getLogger(StatusRules.class);

    /** Check-ins a target may miss before it is suspected offline. */
    public static final int MISSED_POLLS_BEFORE_SUSPECT = 3;
    /** Polling intervals of a target after which a resync it still asks for is issued again. */
    public static final int POLLS_BEFORE_RESYNC_REISSUED = 3;
    /**
     * How far a seq may jump beyond the last seq of its epoch. Within one installation seqs skip only events that never
     * reached the status topic (dead-lettered by the target), at most what a spool holds: at the default 256 MiB
     * {@code spool.max.bytes}, and some 30 bytes at least per event, under ten million.
     */
    public static final long MAX_SEQ_JUMP = 10_000_000L;
    /** At most one WARN per target about stale events in this time. */
    static final Duration STALE_WARNING_INTERVAL = Duration.ofMinutes(1);

    /** What an event did to the state. */
    public enum Applied { FRESH, REPLAY, STALE }

    private StatusRules() {
    }

    /**
     * Applies one status event to its target's state.
     *
     * @param now master clock, for warnings only
     * @throws IllegalArgumentException when the seq jumps more than {@link #MAX_SEQ_JUMP} beyond the last of its
     *                                  epoch (nothing is changed)
     */
    public static Applied apply(TargetState s, SpecificRecord body, StatusHeader header, Instant now) {
        String eventEpoch = header.getEpoch() == null ? "" : header.getEpoch();
        boolean otherEpoch = s.epoch != null && !s.epoch.equals(eventEpoch);
        if (otherEpoch && !(body instanceof Enlist)) {
            stale(s, eventEpoch, now);
            return Applied.STALE;
        }
        long seq = header.getSeq();
        long last = otherEpoch ? 0 : s.lastSeq; // a new installation counts from 1 again
        if (seq <= last) {
            return Applied.REPLAY;
        }
        // The first event seen has nothing to jump from. Another installation's Enlist is measured from the current
        // epoch's last seq: a wiped store starts at 1, a restored or cloned one somewhere below it.
        long from = otherEpoch ? s.lastSeq : last;
        if (s.epoch != null && seq - from > MAX_SEQ_JUMP) { // no overflow: seq > from >= 0
            throw new IllegalArgumentException(String.format("seq %,d of target %s (epoch '%s') jumps more than %,d "
                    + "beyond its last seq %,d: refused as forged or corrupt", seq, s.name, eventEpoch,
                    MAX_SEQ_JUMP, from));
        }
        if (otherEpoch) {
            switchTo(s, eventEpoch);
        }
        s.epoch = eventEpoch;
        s.lastSeq = seq;
        // times the target reported (its clock), so neither a restart nor a backlog makes a target look younger
        Instant occurredAt = header.getOccurredAt();
        s.lastEventAt = occurredAt;
        if (body instanceof Enlist enlist) {
            s.enlistedAt = header.getOccurredAt();
            if (enlist.getLocation() != null) {
                s.location = enlist.getLocation();
            }
            s.agentVersion = enlist.getAgentVersion();
            s.timeZone = enlist.getTimeZone();
            s.pollingIntervalSeconds = enlist.getPollingIntervalSeconds();
        } else if (body instanceof CheckIn checkIn) {
            s.lastPoll = checkIn.getLocalTime();
            // on the master's clock when a clock sync measured the target's offset
            s.lastPollReceivedAt = s.clockOffsetMillis == null ? occurredAt : occurredAt.minusMillis(s.clockOffsetMillis);
            s.lastPollTrigger = checkIn.getTrigger().name();
            if (checkIn.getAnswersInstructionId() != null) {
                s.lastAnsweredInstructionId = checkIn.getAnswersInstructionId().toString();
            }
            s.agentVersion = checkIn.getAgentVersion();
            s.timeZone = checkIn.getTimeZone();
            s.pollingIntervalSeconds = checkIn.getPollingIntervalSeconds();
            s.spoolDepth = checkIn.getSpoolDepth();
            s.spoolOldestAgeMillis = checkIn.getSpoolOldestAgeMillis();
            s.spoolFull = checkIn.getSpoolFull();
            s.resyncRequested = checkIn.getResyncRequested();
            s.resyncReason = checkIn.getResyncRequested() ? checkIn.getResyncReason() : null;
            s.instructionsLost = checkIn.getInstructionsLost();
            s.deadLetteredEvents = checkIn.getDeadLetteredEvents();
            s.undecodableInstructions = checkIn.getUndecodableInstructions();
        } else if (body instanceof ClockReport report) {
            s.clockOffsetMillis = Duration.between(report.getMasterTime(), report.getLocalTime()).toMillis();
        } else if (body instanceof InstructionAck ack && ack.getInstructionId().toString().equals(s.resyncAwaiting)) {
            s.resyncAwaiting = null;
            s.resyncCommandId = null;
        }
        return Applied.FRESH;
    }

    /**
     * Whether the master should now resync a target that asks for it (in its last check-in), and if so claims it:
     * at most once per {@value #POLLS_BEFORE_RESYNC_REISSUED} of its polling intervals, counting every resync posted
     * to its current installation (an operator's too).
     */
    public static boolean claimRequestedResync(TargetState s, Instant now) {
        Duration window = Duration.ofSeconds((long) s.pollingIntervalSeconds * POLLS_BEFORE_RESYNC_REISSUED);
        if (!s.resyncRequested || s.resyncIssuedAt != null && now.isBefore(s.resyncIssuedAt.plus(window))) {
            return false;
        }
        s.resyncIssuedAt = now;
        return true;
    }

    /**
     * Whether an event is live: sent within {@value #POLLS_BEFORE_RESYNC_REISSUED} of the target's polling intervals
     * of {@code now} (its clock corrected by a measured offset), not read from a backlog.
     */
    public static boolean isLive(TargetState s, StatusHeader header, Instant now) {
        Instant sent = s.clockOffsetMillis == null ? header.getOccurredAt()
                : header.getOccurredAt().minusMillis(s.clockOffsetMillis);
        return Duration.between(sent, now).compareTo(Duration.ofSeconds((long) s.pollingIntervalSeconds
                * POLLS_BEFORE_RESYNC_REISSUED)) <= 0;
    }

    /** A new installation enlisted: what the master knew of the previous one's state no longer holds. */
    private static void switchTo(TargetState s, String newEpoch) {
        if (newEpoch.equals(s.previousEpoch)) {
            log.warn("Target {} switched back from epoch '{}' to '{}': two installations (e.g. a cloned data "
                    + "directory) claim the name {}; stop one of them", s.name, s.epoch, newEpoch, s.name);
        } else {
            log.info("Target {} reinstalled: epoch '{}' -> '{}'", s.name, s.epoch, newEpoch);
        }
        s.previousEpoch = s.epoch;
        s.resyncIssuedAt = null;
        s.resyncRequested = false;
        s.resyncReason = null;
        s.spoolDepth = 0;
        s.spoolOldestAgeMillis = null;
        s.spoolFull = false;
        s.instructionsLost = 0;
        s.deadLetteredEvents = 0;
        s.undecodableInstructions = 0;
    }

    private static void stale(TargetState s, String eventEpoch, Instant now) {
        s.staleEvents++;
        if (s.staleWarnedAt == null || !now.isBefore(s.staleWarnedAt.plus(STALE_WARNING_INTERVAL))) {
            s.staleWarnedAt = now;
            log.warn("Target {}: ignoring events of epoch '{}', its current installation is epoch '{}' ({} stale "
                    + "event(s) so far): a replay of an earlier installation, or another installation using the "
                    + "name", s.name, eventEpoch, s.epoch, s.staleEvents);
        }
    }

    /** Its status at {@code now} (master clock). */
    public static TargetStatus status(TargetState s, Instant now) {
        if (s.presentedKey != null && s.acceptedKey == null) {
            return TargetStatus.PENDING;
        }
        if (s.spoolFull) {
            return TargetStatus.BLOCKED;
        }
        if (s.resyncAwaiting != null || s.resyncRequested) {
            return TargetStatus.RESYNC_PENDING;
        }
        Instant seen = s.lastPollReceivedAt != null ? s.lastPollReceivedAt : s.registeredAt;
        Duration allowed = Duration.ofSeconds((long) s.pollingIntervalSeconds * MISSED_POLLS_BEFORE_SUSPECT);
        if (seen == null || Duration.between(seen, now).compareTo(allowed) > 0) {
            return TargetStatus.SUSPECTED_OFFLINE;
        }
        return TargetStatus.NORMAL;
    }

    /** The row the REST API and the CLI show. */
    public static TargetView view(TargetState s, Instant now, Long unread) {
        return new TargetView(s.name, status(s, now), s.location, List.copyOf(s.groups), s.agentVersion, s.timeZone,
                s.pollingIntervalSeconds, s.enlistedAt, s.lastPoll, s.lastPollReceivedAt, s.lastPollTrigger,
                s.lastAnsweredInstructionId, s.spoolDepth, s.spoolFull, s.clockOffsetMillis, unread, s.lastSeq,
                s.epoch, s.staleEvents, s.resyncReason, s.instructionsLost, s.deadLetteredEvents,
                s.undecodableInstructions, fingerprint(s.acceptedKey), fingerprint(s.presentedKey),
                s.spoolOldestAgeMillis);
    }

    private static String fingerprint(String keyBase64) {
        return keyBase64 == null ? null : io.msx.security.Ed25519Keys.fingerprint(io.msx.security.Ed25519Keys
                .publicKeyFromDer(java.util.Base64.getDecoder().decode(keyBase64)));
    }
}
