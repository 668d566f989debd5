package io.msx.spool;

import java.time.Duration;
import java.util.List;
import java.util.function.LongFunction;

/**
 * Where a target puts every outgoing status event. The outbox gives each event a sequence number that is strictly
 * increasing across restarts, so the receiver can ignore a {@code (key, seq)} it has seen, and sends events to Kafka
 * in sequence order. An event Kafka refuses for good (too large, unserializable) is moved to the outbox's local
 * dead-letter store, counted in {@link OutboxStats#deadLettered()}, and the events after it go on.
 *
 * <p>The outbox is also its owner's database: the owner keeps its own state there ({@link StateChange}s in its own
 * column families, written atomically with events), so that a state change and the event reporting it are durable
 * together or not at all. The outbox knows nothing of jobs, nor of what that state means.
 *
 * <p>An outbox whose storage fails or whose threads die is FAILED for good: {@link #failure()} says why, and every
 * append fails naming that reason. Its owner polls {@link #failure()} for its health.
 *
 * <p>Implementations are thread-safe. {@link #close(Duration)} is idempotent.
 */
public interface StatusOutbox extends AutoCloseable {

    /**
     * Which part of the outbox's capacity an append may use. {@link #NORMAL} appends are refused once the outbox holds
     * {@code spool.max.bytes - spool.reserved.bytes}; {@link #RESERVED} ones may use the rest: for events that must
     * never be refused while the outbox drains (outcomes of runs already started, check-ins that report the outbox
     * is full).
     */
    enum Priority {
        NORMAL, RESERVED
    }

    /**
     * One event to append with the owner's state changes that go with it.
     *
     * @param key         record key (the target name)
     * @param valueForSeq builds the record value given the sequence number assigned to it
     * @param changes     the owner's state changes written in the same batch
     */
    record Append(String key, LongFunction<byte[]> valueForSeq, List<StateChange> changes, Priority priority) {
        public Append {
            changes = List.copyOf(changes);
        }
    }

    /**
     * Appends one event.
     *
     * @return the sequence number assigned
     * @throws SpoolFullException when its share of the capacity is used up; it was then not appended
     * @throws OutboxException when the event cannot be accepted; it was then not appended
     */
    default long append(String key, LongFunction<byte[]> valueForSeq) {
        return append(new Append(key, valueForSeq, List.of(), Priority.NORMAL));
    }

    /** Appends one event and the state changes that go with it, durable together or not at all. */
    default long append(Append append) {
        return appendAll(List.of(append))[0];
    }

    /**
     * Appends several events (consecutive sequence numbers, in list order) and all their state changes in ONE durable
     * write: all of them or none.
     *
     * @return the sequence numbers assigned, in order
     * @throws SpoolFullException when any of them does not fit its share of the capacity; none was appended
     * @throws OutboxException when they cannot be accepted (closed, FAILED, a state write failed); none was appended
     */
    long[] appendAll(List<Append> appends);

    /** Writes state changes alone (no event), durably, in order with appends. */
    void writeState(List<StateChange> changes);

    /** One value of the owner's state, or null. */
    byte[] stateGet(String columnFamily, byte[] key);

    /** Every entry of one of the owner's state column families, in key order. */
    void stateForEach(String columnFamily, java.util.function.BiConsumer<byte[], byte[]> action);

    /** How much is waiting to be sent. */
    OutboxStats stats();

    /**
     * Empty while the outbox is healthy; the reason once it failed for good (a storage write failed, or one of its
     * threads died). From then on every append fails with an {@link OutboxException} naming it; the owner should
     * restart. Never blocks.
     */
    java.util.Optional<String> failure();

    /**
     * Tries to send everything appended so far, waiting at most {@code timeout}.
     *
     * @return true when nothing is left waiting
     */
    boolean flush(Duration timeout);

    /** Sends what it can within {@code timeout}, then releases every resource. */
    void close(Duration timeout);

    @Override
    default void close() {
        close(Duration.ofSeconds(30));
    }
}
