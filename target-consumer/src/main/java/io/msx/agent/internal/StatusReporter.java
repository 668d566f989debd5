package io.msx.agent.internal;

import io.msx.avro.JobDefinition;
import io.msx.avro.StatusHeader;
import io.msx.avro.status.AckStatus;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.CheckInTrigger;
import io.msx.avro.status.InstructionAck;
import io.msx.avro.status.JobOutcome;
import io.msx.avro.status.RunStatus;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.spool.OutboxStats;
import io.msx.spool.StateChange;
import io.msx.spool.StatusOutbox;
import io.msx.spool.StatusOutbox.Priority;
import org.apache.avro.specific.SpecificRecord;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Builds this target's status events and appends them to its spool, which assigns each its sequence number and
 * writes it in one batch with the state changes it reports. Every event gets its {@link StatusHeader} here (target,
 * the spool's sequence number, the time of the report). Thread-safe: the instruction loop, the check-in scheduler and
 * job runs all report.
 */
public final class StatusReporter {

    /** Stands for the id of an instruction whose header could not be read. */
    public static final UUID UNDECODABLE = new UUID(0, 0);

    private final String target;
    private final StatusOutbox spool;
    private final AgentStore store;
    private final MsxCodec codec;
    private final Clock clock;
    private final AgentState state;
    private final AtomicLong rejectedAtLastCheckIn = new AtomicLong();
    private volatile Supplier<List<String>> runningJobs = List::of;
    private volatile Supplier<String> inventoryDigest = () -> "";

    public StatusReporter(String target, StatusOutbox spool, AgentStore store, MsxCodec codec, Clock clock,
                          AgentState state) {
        this.target = target;
        this.spool = spool;
        this.store = store;
        this.codec = codec;
        this.clock = clock;
        this.state = state;
    }

    /** Where check-ins read the running jobs and the inventory digest from. */
    public void inventory(Supplier<List<String>> running, Supplier<String> digest) {
        this.runningJobs = running;
        this.inventoryDigest = digest;
    }

    /**
     * Appends one status event and returns its sequence number.
     *
     * @param event builds the event (a {@link MessageFamily#STATUS} type) around the header it is given
     */
    public long report(Function<StatusHeader, ? extends SpecificRecord> event) {
        return report(event, List.of());
    }

    /** Appends an event together with the state changes it reports, in one durable batch. */
    public long report(Function<StatusHeader, ? extends SpecificRecord> event, List<StateChange> changes) {
        return report(event, changes, Priority.NORMAL);
    }

    /**
     * Appends an event with the state changes it reports; {@link Priority#RESERVED} for events that must be taken
     * even when the spool refuses new work (outcomes of runs already started, check-ins).
     */
    public long report(Function<StatusHeader, ? extends SpecificRecord> event, List<StateChange> changes,
                       Priority priority) {
        long seq = spool.append(append(event, changes, priority));
        store.durable(changes);
        return seq;
    }

    /** The spool append of one event; {@link AgentStore#durable} must be told once it is written. */
    public StatusOutbox.Append append(Function<StatusHeader, ? extends SpecificRecord> event,
                                      List<StateChange> changes, Priority priority) {
        Instant now = now();
        return new StatusOutbox.Append(target, s -> codec.encode(statusEvent(event.apply(StatusHeader.newBuilder()
                .setTarget(target).setSeq(s).setOccurredAt(now).build()))), changes, priority);
    }

    private static SpecificRecord statusEvent(SpecificRecord event) {
        if (MessageFamily.STATUS.type(event.getSchema().getFullName()).isEmpty()) {
            throw new IllegalArgumentException(event.getSchema().getFullName() + " is not a status event type");
        }
        return event;
    }

    public long checkIn(CheckInTrigger trigger, UUID answersInstruction, ZoneId zone, String agentVersion) {
        OutboxStats stats = spool.stats();
        // The spool was full since the last check-in if it refused any append in between.
        boolean full = rejectedAtLastCheckIn.getAndSet(stats.rejectedAppends()) < stats.rejectedAppends();
        return report(h -> CheckIn.newBuilder()
                .setHeader(h)
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
                .build(), List.of(), Priority.RESERVED);
    }

    /**
     * Acknowledges the instruction at {@code offset}: the ack, the offset and the instruction's effect
     * ({@code changes}) are durable together or not at all.
     *
     * @param error null when applied, else why not (the ack is FAILED)
     */
    /** Longest error kept in an acknowledgement: errors may quote what an instruction carried. */
    public static final int MAX_ERROR_CHARS = 2_000;

    private static String bounded(String error) {
        return error == null || error.length() <= MAX_ERROR_CHARS ? error
                : error.substring(0, MAX_ERROR_CHARS) + "... (" + error.length() + " characters)";
    }

    public long ack(UUID instructionId, long offset, String error, List<StateChange> changes) {
        List<StateChange> all = new ArrayList<>(changes);
        all.add(AgentStore.appliedOffset(offset));
        Instant appliedAt = now();
        long seq = report(h -> InstructionAck.newBuilder()
                .setHeader(h)
                .setInstructionId(instructionId)
                .setOffset(offset)
                .setStatus(error == null ? AckStatus.APPLIED : AckStatus.FAILED)
                .setError(bounded(error))
                .setAppliedAt(appliedAt)
                .build(), all);
        state.lastAppliedOffset(offset);
        return seq;
    }

    /** Records {@code offset} as applied with nothing to acknowledge (a tombstone): durably, without an event. */
    public void passOver(long offset) {
        spool.writeState(List.of(AgentStore.appliedOffset(offset)));
        state.lastAppliedOffset(offset);
    }

    /** Reports a start (instruction or schedule) that found an instance running: skipped, never queued silently. */
    public long skipped(JobDefinition job, String trigger, UUID runningRunId) {
        Instant at = now();
        return report(h -> JobOutcome.newBuilder().setHeader(h).setRunId(UUID.randomUUID()).setJobId(job.getJobId())
                .setJobVersion(job.getVersion()).setTrigger(trigger).setStatus(RunStatus.SKIPPED)
                .setMessage("an instance is already running"
                        + (runningRunId == null ? "" : " (run " + runningRunId + ")"))
                .setStartedAt(at).setEndedAt(at).setDurationMillis(0).build());
    }

    public Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }

    public StatusOutbox spool() {
        return spool;
    }

    public AgentStore store() {
        return store;
    }
}
