package io.msx.target.internal;

import io.msx.avro.AckStatus;
import io.msx.avro.CheckIn;
import io.msx.avro.CheckInTrigger;
import io.msx.avro.InstructionAck;
import io.msx.avro.StatusEvent;
import io.msx.schemas.AvroCodec;
import io.msx.spool.OutboxStats;
import io.msx.spool.StateChange;
import io.msx.spool.StatusSpool;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Builds this target's status events and appends them to its spool, which assigns each its sequence number and
 * writes it in one batch with the state changes it reports. Thread-safe: the instruction loop, the check-in
 * scheduler and job runs all report.
 */
public final class StatusReporter {

    /** Stands for the id of an instruction whose bytes could not be decoded. */
    public static final UUID UNDECODABLE = new UUID(0, 0);

    private final String target;
    private final StatusSpool spool;
    private final AvroCodec<StatusEvent> codec;
    private final Clock clock;
    private final AgentState state;
    private final AtomicLong rejectedAtLastCheckIn = new AtomicLong();
    private volatile Supplier<List<String>> runningJobs = List::of;
    private volatile Supplier<String> inventoryDigest = () -> "";

    public StatusReporter(String target, StatusSpool spool, AvroCodec<StatusEvent> codec, Clock clock,
                          AgentState state) {
        this.target = target;
        this.spool = spool;
        this.codec = codec;
        this.clock = clock;
        this.state = state;
    }

    /** Where check-ins read the running jobs and the inventory digest from. */
    public void inventory(Supplier<List<String>> running, Supplier<String> digest) {
        this.runningJobs = running;
        this.inventoryDigest = digest;
    }

    /** Appends an event with {@code body} (one of the StatusEvent body records) and returns its sequence number. */
    public long report(Object body) {
        return report(body, List.of());
    }

    /** Appends an event together with the state changes it reports, in one durable batch. */
    public long report(Object body, List<StateChange> changes) {
        Instant now = now();
        return spool.append(target, seq -> codec.encode(StatusEvent.newBuilder()
                .setTarget(target).setSeq(seq).setOccurredAt(now).setBody(body).build()), changes);
    }

    public long checkIn(CheckInTrigger trigger, UUID answersInstruction, ZoneId zone, String agentVersion) {
        OutboxStats stats = spool.stats();
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
                .setRunningJobs(runningJobs.get())
                .setSpoolDepth(stats.depth())
                .setSpoolOldestAgeMillis(stats.oldestAge().map(Duration::toMillis).orElse(null))
                .setSpoolFull(full)
                .setJobInventoryDigest(inventoryDigest.get())
                .build());
    }

    /**
     * Acknowledges the instruction at {@code offset}: the ack, the offset and the instruction's effect
     * ({@code changes}) are durable together or not at all.
     */
    public long ack(UUID instructionId, long offset, String error, List<StateChange> changes) {
        List<StateChange> all = new ArrayList<>(changes);
        all.add(AgentStore.appliedOffset(offset));
        long seq = report(InstructionAck.newBuilder()
                .setInstructionId(instructionId)
                .setOffset(offset)
                .setStatus(error == null ? AckStatus.APPLIED : AckStatus.FAILED)
                .setError(error)
                .setAppliedAt(now())
                .build(), all);
        state.lastAppliedOffset(offset);
        return seq;
    }

    /** Reports a start (instruction or schedule) that found an instance running: skipped, never queued silently. */
    public long skipped(io.msx.avro.JobDefinition job, String trigger, UUID runningRunId) {
        return report(io.msx.avro.JobOutcome.newBuilder().setRunId(UUID.randomUUID()).setJobId(job.getJobId())
                .setJobVersion(job.getVersion()).setTrigger(trigger).setStatus(io.msx.avro.RunStatus.SKIPPED)
                .setMessage("an instance is already running"
                        + (runningRunId == null ? "" : " (run " + runningRunId + ")"))
                .setStartedAt(now()).setEndedAt(now()).setDurationMillis(0).build());
    }

    public Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }

    public StatusSpool spool() {
        return spool;
    }
}
