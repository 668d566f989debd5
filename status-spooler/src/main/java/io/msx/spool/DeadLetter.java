package io.msx.spool;

import java.time.Instant;

/**
 * An event Kafka refused for good (too large, unserializable, an invalid record), kept in the spool's local
 * dead-letter store for operators instead of blocking the events after it. The value is kept up to
 * {@code spool.dead.letter.value.max.bytes}; {@link #valueSize()} is its original size.
 *
 * @param seq            the event's sequence number
 * @param key            the record key it had
 * @param appendedAt     when it was appended
 * @param deadLetteredAt when the relay gave up on it
 * @param reason         why Kafka refused it (the exception's type and message)
 * @param valueSize      bytes of its original value
 * @param valuePrefix    the first bytes of its value, at most {@code spool.dead.letter.value.max.bytes}
 */
public record DeadLetter(long seq, String key, Instant appendedAt, Instant deadLetteredAt, String reason,
                         int valueSize, byte[] valuePrefix) {

    /** True when only a prefix of the value was kept. */
    public boolean truncated() {
        return valuePrefix.length < valueSize;
    }
}
