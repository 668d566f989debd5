package io.msx.spool.internal;

import io.msx.spool.DeadLetter;
import io.msx.spool.SpoolStorageException;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;

/**
 * A dead letter as stored in the {@code dead} column family: key = 8-byte big-endian sequence number; value = format
 * version (1 byte), append time and dead-letter time (epoch ms, 8 bytes each), original value size (4 bytes), key
 * length (4 bytes), key, reason length (4 bytes), reason (UTF-8, at most {@link #MAX_REASON_BYTES}), value prefix.
 */
final class DeadLetterFormat {

    static final byte FORMAT_VERSION = 1;
    static final int MAX_REASON_BYTES = 1024;
    private static final int HEADER = 1 + 8 + 8 + 4 + 4 + 4;

    private DeadLetterFormat() {
    }

    static byte[] encode(SpooledEvent event, String reason, long deadLetteredAtMillis, int valueMaxBytes) {
        byte[] why = reason.getBytes(StandardCharsets.UTF_8);
        if (why.length > MAX_REASON_BYTES) {
            why = Arrays.copyOf(why, MAX_REASON_BYTES);
        }
        int kept = Math.min(event.value().length, valueMaxBytes);
        return ByteBuffer.allocate(HEADER + event.key().length + why.length + kept)
                .put(FORMAT_VERSION).putLong(event.appendedAtMillis()).putLong(deadLetteredAtMillis)
                .putInt(event.value().length).putInt(event.key().length).put(event.key())
                .putInt(why.length).put(why).put(event.value(), 0, kept).array();
    }

    static DeadLetter decode(byte[] storedKey, byte[] stored) {
        long seq = SpooledEvent.seqOf(storedKey);
        try {
            ByteBuffer buffer = ByteBuffer.wrap(stored);
            byte version = buffer.get();
            if (version != FORMAT_VERSION) {
                throw new SpoolStorageException("corrupt dead letter at seq " + seq + ": unknown format version "
                        + version);
            }
            long appendedAt = buffer.getLong();
            long deadAt = buffer.getLong();
            int valueSize = buffer.getInt();
            byte[] key = new byte[buffer.getInt()];
            buffer.get(key);
            byte[] reason = new byte[buffer.getInt()];
            buffer.get(reason);
            byte[] prefix = new byte[buffer.remaining()];
            buffer.get(prefix);
            return new DeadLetter(seq, new String(key, StandardCharsets.UTF_8), Instant.ofEpochMilli(appendedAt),
                    Instant.ofEpochMilli(deadAt), new String(reason, StandardCharsets.UTF_8), valueSize, prefix);
        } catch (RuntimeException e) {
            if (e instanceof SpoolStorageException s) {
                throw s;
            }
            throw new SpoolStorageException("corrupt dead letter at seq " + seq + ": " + e, e);
        }
    }
}
