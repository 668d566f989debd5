package io.msx.target.internal;

import io.msx.avro.AckStatus;
import io.msx.avro.CheckIn;
import io.msx.avro.CheckInTrigger;
import io.msx.avro.InstructionAck;
import io.msx.avro.StatusEvent;
import io.msx.schemas.AvroCodec;
import io.msx.spool.OutboxStats;
import io.msx.spool.StatusOutbox;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;

/**
 * Builds this target's status events and appends them to its outbox, which assigns each its sequence number.
 * Thread-safe: the instruction loop and the check-in scheduler both report.
 */
public final class StatusReporter {

    /** Stands for the id of an instruction whose bytes could not be decoded. */
    public static final UUID UNDECODABLE = new UUID(0, 0);

    private final String target;
    private final StatusOutbox outbox;
    private final AvroCodec<StatusEvent> codec;
    private final Clock clock;
    private final AgentState state;
    private final java.util.concurrent.atomic.AtomicLong rejectedAtLastCheckIn = new java.util.concurrent.atomic.AtomicLong();

    public StatusReporter(String target, StatusOutbox outbox, AvroCodec<StatusEvent> codec, Clock clock,
                          AgentState state) {
        this.target = target;
        this.outbox = outbox;
        this.codec = codec;
        this.clock = clock;
        this.state = state;
    }

    /** Appends an event with {@code body} (one of the StatusEvent body records) and returns its sequence number. */
    public long report(Object body) {
        Instant now = now();
        return outbox.append(target, seq -> codec.encode(StatusEvent.newBuilder()
                .setTarget(target).setSeq(seq).setOccurredAt(now).setBody(body).build()));
    }

    public long checkIn(CheckInTrigger trigger, UUID answersInstruction, ZoneId zone, String agentVersion) {
        OutboxStats stats = outbox.stats();
        // The spool was full since the last check-in if it refused any append in between.
        boolean full = rejectedAtLastCheckIn.getAndSet(stats.rejectedAppends()) < stats.rejectedAppends();
        return report(CheckIn.newBuilder()
                .setTrigger(trigger)
                .setAnswersInstructionId(answersInstruction)
                .setLocalTime(now())
                .setTimeZone(zone.getId())
                .setAgentVersion(agentVersion)
                .setPollingIntervalSeconds((int) state.pollInterval().toSeconds())
                .setLastAppliedOffset(state.lastAppliedOffset())
                .setRunningJobs(List.of())
                .setSpoolDepth(stats.depth())
                .setSpoolOldestAgeMillis(stats.oldestAge().map(Duration::toMillis).orElse(null))
                .setSpoolFull(full)
                .build());
    }

    public long ack(UUID instructionId, long offset, String error) {
        return report(InstructionAck.newBuilder()
                .setInstructionId(instructionId)
                .setOffset(offset)
                .setStatus(error == null ? AckStatus.APPLIED : AckStatus.FAILED)
                .setError(error)
                .setAppliedAt(now())
                .build());
    }

    public Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }

    public StatusOutbox outbox() {
        return outbox;
    }
}
