package io.msx.spool;

import java.time.Duration;
import java.util.function.LongFunction;

/**
 * Where a target puts every outgoing status event. The outbox gives each event a sequence number that is strictly
 * increasing across restarts, so the receiver can ignore a {@code (key, seq)} it has seen, and sends events to Kafka
 * in sequence order.
 *
 * <p>Implementations are thread-safe. {@link #close(Duration)} is idempotent.
 */
public interface StatusOutbox extends AutoCloseable {

    /**
     * Appends one event.
     *
     * @param key record key (the target name)
     * @param valueForSeq builds the record value given the sequence number assigned to it
     * @return the sequence number assigned
     * @throws OutboxException when the event cannot be accepted; it was then not appended
     */
    long append(String key, LongFunction<byte[]> valueForSeq);

    /** How much is waiting to be sent. */
    OutboxStats stats();

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
