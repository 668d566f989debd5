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
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Builds this target's status events and appends them to its outbox, which assigns each its sequence number and
 * writes it in one batch with the state changes it reports. Every event gets its {@link StatusHeader} here (target,
 * installation epoch, the outbox's sequence number, the time of the report). Thread-safe: the instruction loop, the
 * check-in scheduler and job runs all report.
 */
public final class StatusReporter {

    /** Stands for the id of an instruction whose header could not be read. */
    public static final UUID UNDECODABLE = new UUID(0, 0);
    /** Refusals (SKIPPED starts and firings) reported from the reserve per full spell of the spool. */
    public static final int MAX_RESERVED_REFUSALS = 100;
    /** Longest error kept in an acknowledgement: errors may quote what an instruction carried. */
    public static final int MAX_ERROR_CHARS = 2_000;

    private final String target;
    private final StatusOutbox spool;
    private final AgentStore store;
    private final MsxCodec codec;
    private final Clock clock;
    private final AgentState state;
    private final AtomicLong rejectedAtLastCheckIn = new AtomicLong();
    /**
     * Refusals of new work reported from the reserve while the spool is full, at most
     * {@link #MAX_RESERVED_REFUSALS}, so they cannot use up what outcomes of started runs need.
     */
    private final java.util.concurrent.atomic.AtomicInteger reservedRefusals =
            new java.util.concurrent.atomic.AtomicInteger();
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
     * even when the outbox refuses new work (outcomes of runs already started, check-ins).
     *
     * @throws io.msx.spool.SpoolFullException when its share of the outbox is used up (nothing appended)
     */
    public long report(Function<StatusHeader, ? extends SpecificRecord> event, List<StateChange> changes,
                       Priority priority) {
        long seq = spool.append(append(event, changes, priority));
        store.durable(changes);
        return seq;
    }

    /**
     * Appends several events (and their state changes) in one durable write, all or nothing.
     *
     * @return their sequence numbers
     */
    public long[] reportAll(List<StatusOutbox.Append> appends) {
        long[] seqs = spool.appendAll(appends);
        appends.forEach(a -> store.durable(a.changes()));
        return seqs;
    }

    /** The outbox append of one event; {@link AgentStore#durable} must be told once it is written. */
    public StatusOutbox.Append append(Function<StatusHeader, ? extends SpecificRecord> event,
                                      List<StateChange> changes, Priority priority) {
        Instant now = now();
        String epoch = state.epoch();
        return new StatusOutbox.Append(target, s -> codec.encode(statusEvent(event.apply(StatusHeader.newBuilder()
                .setTarget(target).setEpoch(epoch).setSeq(s).setOccurredAt(now).build()))), changes, priority);
    }

    private static SpecificRecord statusEvent(SpecificRecord event) {
        if (MessageFamily.STATUS.type(event.getSchema().getFullName()).isEmpty()) {
            throw new IllegalArgumentException(event.getSchema().getFullName() + " is not a status event type");
        }
        return event;
    }

    /**
     * Sends a check-in from the reserved part of the outbox (the check-in that says the outbox is full must get
     * through). It asks for a resync while the agent waits for one and its loop has chosen where it reads from.
     */
    public long checkIn(CheckInTrigger trigger, UUID answersInstruction, ZoneId zone, String agentVersion) {
        OutboxStats stats = spool.stats();
        if (!stats.full()) {
            reservedRefusals.set(0);
        }
        // full now, or refused an append since the last check-in
        boolean full = stats.full() | rejectedAtLastCheckIn.getAndSet(stats.rejectedAppends())
                < stats.rejectedAppends();
        String resync = state.positioned() ? state.resyncReason() : null;
        Long applied = state.lastAppliedOffset();
        return report(h -> CheckIn.newBuilder()
                .setHeader(h)
                .setTrigger(trigger)
                .setAnswersInstructionId(answersInstruction)
                .setLocalTime(now())
                .setTimeZone(zone.getId())
                .setAgentVersion(agentVersion)
                .setPollingIntervalSeconds((int) state.pollInterval().toSeconds())
                .setLastAppliedOffset(applied == null || applied < 0 ? null : applied)
                .setRunningJobs(runningJobs.get())
                .setSpoolDepth(stats.depth())
                .setSpoolOldestAgeMillis(stats.oldestAge().map(Duration::toMillis).orElse(null))
                .setSpoolFull(full)
                .setJobInventoryDigest(inventoryDigest.get())
                .setResyncRequested(resync != null)
                .setResyncReason(resync)
                .setInstructionsLost(state.instructionsLost())
                .setDeadLetteredEvents(stats.deadLettered())
                .setUndecodableInstructions(state.undecodable())
                .build(), List.of(), Priority.RESERVED);
    }

    private static String bounded(String error) {
        return error == null || error.length() <= MAX_ERROR_CHARS ? error
                : error.substring(0, MAX_ERROR_CHARS) + "... (" + error.length() + " characters)";
    }

    /**
     * The acknowledgement of the instruction at {@code offset}, to append with the instruction's effect
     * ({@code changes}) in the batch that also records the batch's last applied offset: durable together or not at
     * all.
     *
     * @param error null when applied, else why not (the ack is FAILED)
     */
    public StatusOutbox.Append ack(UUID instructionId, long offset, String error, List<StateChange> changes,
                                   Priority priority) {
        List<StateChange> all = changes;
        Instant appliedAt = now();
        return append(h -> InstructionAck.newBuilder()
                .setHeader(h)
                .setInstructionId(instructionId)
                .setOffset(offset)
                .setStatus(error == null ? AckStatus.APPLIED : AckStatus.FAILED)
                .setError(bounded(error))
                .setAppliedAt(appliedAt)
                .build(), all, priority);
    }

    /**
     * A start (instruction or schedule) that does not run: an instance is already running, or the outbox refuses new
     * work. Reported SKIPPED with the reason, never queued silently.
     */
    public StatusOutbox.Append skipped(JobDefinition job, String trigger, String reason, Priority priority) {
        Instant at = now();
        return append(h -> JobOutcome.newBuilder().setHeader(h).setRunId(UUID.randomUUID()).setJobId(job.getJobId())
                .setJobVersion(job.getVersion()).setTrigger(trigger).setStatus(RunStatus.SKIPPED)
                .setMessage(reason).setStartedAt(at).setEndedAt(at).setDurationMillis(0).build(), List.of(),
                priority);
    }

    /** Why a start finds the job's slot taken. */
    public static String alreadyRunning(UUID runningRunId) {
        return "an instance is already running" + (runningRunId == null ? "" : " (run " + runningRunId + ")");
    }

    /**
     * True while a refusal of new work may still be reported from the reserve in this full spell; beyond
     * {@link #MAX_RESERVED_REFUSALS}, starts wait in the topic and schedule firings are only logged.
     */
    public boolean refusalFromReserve() {
        return reservedRefusals.incrementAndGet() <= MAX_RESERVED_REFUSALS;
    }

    /** Why a start is refused while the outbox is full. */
    public String outboxFull() {
        OutboxStats stats = spool.stats();
        return "status spool full (" + stats.depth() + " events waiting for the broker): new runs are refused until "
                + "it drains";
    }

    /** Reports a skipped start at once (schedule firings). */
    public long skippedNow(JobDefinition job, String trigger, String reason, Priority priority) {
        return spool.append(skipped(job, trigger, reason, priority));
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
