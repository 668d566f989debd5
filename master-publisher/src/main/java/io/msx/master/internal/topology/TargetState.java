package io.msx.master.internal.topology;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The views' state of one target, in the {@code target-state} store (JSON): its registration as the command
 * sub-topology decided it, what it reported (times on ITS clock, or the time its event was produced), the
 * deduplication position {@code (epoch, lastSeq)}, and the resync bookkeeping. Mutable; owned by the stream thread
 * of its partition.
 */
public final class TargetState {

    public String name;
    /** From the command sub-topology: whether it is registered (and not defected). */
    public boolean registered;
    public boolean defected;
    public String location;
    public List<String> groups = new ArrayList<>();
    public Instant registeredAt;

    /** The status-signing key the target presented in its last Enlist (base64 of the X.509 DER), or null. */
    public String presentedKey;
    /** The key its status events must be signed with (base64 DER); null until one is accepted. */
    public String acceptedKey;
    /** The fingerprint an operator approved (registration), or null. */
    public String approvedFingerprint;
    /** The last Enlist signed by a key not accepted yet (the record value, base64): applied once it is accepted. */
    public String heldEnlist;

    /** The current installation; null before the first event. */
    public String epoch;
    /** The installation before the current one, to see two installations alternate. */
    public String previousEpoch;
    public long lastSeq;
    public long staleEvents;
    public Instant staleWarnedAt;

    public String agentVersion;
    public String timeZone;
    public int pollingIntervalSeconds = 60;
    public Instant enlistedAt;
    /** Local time in its last check-in (its clock). */
    public Instant lastPoll;
    /** When it sent its last check-in (its clock, from the event header): a restore never makes it younger. */
    public Instant lastPollReceivedAt;
    /** When it sent its last event (its clock). */
    public Instant lastEventAt;
    public String lastPollTrigger;
    public String lastAnsweredInstructionId;
    public long spoolDepth;
    /** Age of the oldest spooled event at the last check-in; null when empty (or not reported). */
    public Long spoolOldestAgeMillis;
    public boolean spoolFull;
    public Long clockOffsetMillis;
    public boolean resyncRequested;
    public String resyncReason;
    public long instructionsLost;
    public long deadLetteredEvents;
    public long undecodableInstructions;

    /** The resync command being waited for, and its last instruction to this target; null when none. */
    public UUID resyncCommandId;
    public String resyncAwaiting;
    /** When a resync was last posted or asked for (master clock): requests are answered at most once per window. */
    public Instant resyncIssuedAt;

    /** Instructions posted to it so far: numbers its download-list rows. */
    public long postedCount;

    public TargetState() {
    }

    public TargetState(String name) {
        this.name = name;
    }
}
