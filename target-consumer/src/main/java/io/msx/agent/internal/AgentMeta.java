package io.msx.agent.internal;

import io.msx.spool.StateChange;
import io.msx.spool.StatusOutbox;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;

/**
 * What the agent keeps about itself in the {@link AgentStore#AGENT} column family, next to the offset of the last
 * applied instruction: its installation epoch (created with the store), whether it was defected, the polling interval
 * the master set, whether it waits for a resync, and counters its check-ins report. Each setter only builds a
 * {@link StateChange}: the caller writes it in the same batch as the acknowledgement that reports it, so a restart
 * finds exactly what was acknowledged. Thread-safe (reads go straight to RocksDB).
 */
public final class AgentMeta {

    private static final byte[] EPOCH = utf8("epoch");
    private static final byte[] DEFECTED = utf8("defected");
    private static final byte[] POLL_INTERVAL_MS = utf8("poll.interval.ms");
    private static final byte[] RESYNC_REQUESTED = utf8("resync.requested");
    private static final byte[] INSTRUCTIONS_LOST = utf8("instructions.lost");
    private static final byte[] UNDECODABLE = utf8("instructions.undecodable");
    private static final byte[] INSTRUCTION_SEQ = utf8("instructions.seq");

    private final StatusOutbox store;

    public AgentMeta(StatusOutbox store) {
        this.store = store;
    }

    /** The installation epoch, or empty in a store created before epochs (or not yet initialised). */
    public Optional<String> epoch() {
        return string(EPOCH);
    }

    /** A new installation epoch: a random UUID, unique to the store it is written into. */
    public static StateChange newEpoch() {
        return epoch(UUID.randomUUID().toString());
    }

    public static StateChange epoch(String epoch) {
        return new StateChange.Put(AgentStore.AGENT, EPOCH, utf8(epoch));
    }

    /** Why the master defected this target; empty while it is enlisted. */
    public Optional<String> defected() {
        return string(DEFECTED);
    }

    public static StateChange defected(String reason) {
        return new StateChange.Put(AgentStore.AGENT, DEFECTED, utf8(reason == null || reason.isBlank()
                ? "defected by the master" : reason));
    }

    /** The polling interval the master set last, or empty: the configured one applies. */
    public Optional<Duration> pollInterval() {
        return number(POLL_INTERVAL_MS).map(Duration::ofMillis);
    }

    public static StateChange pollInterval(Duration interval) {
        return new StateChange.Put(AgentStore.AGENT, POLL_INTERVAL_MS, longBytes(interval.toMillis()));
    }

    /** Why the agent waits for a resync (a new installation, instructions lost); empty when it does not. */
    public Optional<String> resyncRequested() {
        return string(RESYNC_REQUESTED);
    }

    public static StateChange resyncRequested(String reason) {
        return new StateChange.Put(AgentStore.AGENT, RESYNC_REQUESTED, utf8(reason));
    }

    /**
     * Why a store behind its consumer group's committed offset asks for a resync: it was restored from a backup or
     * cloned. Offsets are the last applied by the store and by the group.
     */
    public static String restoredReason(long storeApplied, long groupApplied) {
        return "restored or cloned data directory: its store had applied up to offset " + storeApplied
                + ", its consumer group up to " + groupApplied;
    }

    public static StateChange resyncDone() {
        return new StateChange.Delete(AgentStore.AGENT, RESYNC_REQUESTED);
    }

    /** Instructions that expired from the topic before this installation read them. */
    public long instructionsLost() {
        return number(INSTRUCTIONS_LOST).orElse(0L);
    }

    public static StateChange instructionsLost(long total) {
        return new StateChange.Put(AgentStore.AGENT, INSTRUCTIONS_LOST, longBytes(total));
    }

    /** Records on the topic that were not instructions this agent could read (null, corrupt, unknown type). */
    public long undecodable() {
        return number(UNDECODABLE).orElse(0L);
    }

    public static StateChange undecodable(long total) {
        return new StateChange.Put(AgentStore.AGENT, UNDECODABLE, longBytes(total));
    }

    /** The sequence number of the last signed instruction applied, 0 before any. */
    public long instructionSeq() {
        return number(INSTRUCTION_SEQ).orElse(0L);
    }

    public static StateChange instructionSeq(long seq) {
        return new StateChange.Put(AgentStore.AGENT, INSTRUCTION_SEQ, longBytes(seq));
    }

    private Optional<String> string(byte[] key) {
        byte[] value = store.stateGet(AgentStore.AGENT, key);
        return value == null ? Optional.empty() : Optional.of(new String(value, StandardCharsets.UTF_8));
    }

    private Optional<Long> number(byte[] key) {
        byte[] value = store.stateGet(AgentStore.AGENT, key);
        return value == null || value.length != Long.BYTES ? Optional.empty()
                : Optional.of(ByteBuffer.wrap(value).getLong());
    }

    private static byte[] longBytes(long value) {
        return ByteBuffer.allocate(Long.BYTES).putLong(value).array();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
