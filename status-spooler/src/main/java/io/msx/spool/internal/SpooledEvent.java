package io.msx.spool.internal;

import io.msx.spool.SpoolStorageException;

import java.nio.ByteBuffer;

/**
 * One spooled event as stored: key = 8-byte big-endian sequence number (so RocksDB's byte order is sequence order);
 * value = format version (1 byte), append time (epoch ms, 8 bytes), key length (4 bytes), key, value.
 */
public record SpooledEvent(long seq, long appendedAtMillis, byte[] key, byte[] value) {

    static final byte FORMAT_VERSION = 1;
    private static final int HEADER = 1 + 8 + 4;

    /** Bytes this event counts against {@code spool.max.bytes}. */
    public long size() {
        return 8L + HEADER + key.length + value.length;
    }

    public static byte[] seqKey(long seq) {
        return ByteBuffer.allocate(8).putLong(seq).array();
    }

    public static long seqOf(byte[] key) {
        if (key.length != 8) {
            throw new IllegalArgumentException("spool key of " + key.length + " bytes, expected 8");
        }
        return ByteBuffer.wrap(key).getLong();
    }

    public byte[] encodeValue() {
        return ByteBuffer.allocate(HEADER + key.length + value.length)
                .put(FORMAT_VERSION).putLong(appendedAtMillis).putInt(key.length).put(key).put(value).array();
    }

    /** Reads a stored record, or throws naming the sequence number and what is wrong with it. */
    public static SpooledEvent decode(byte[] storedKey, byte[] stored) {
        long seq;
        try {
            seq = seqOf(storedKey);
        } catch (IllegalArgumentException e) {
            throw new SpoolStorageException("corrupt spool entry: " + e.getMessage());
        }
        if (stored.length < HEADER || stored[0] != FORMAT_VERSION) {
            throw new SpoolStorageException("corrupt spool entry at seq " + seq + ": "
                    + (stored.length < HEADER ? stored.length + " bytes" : "unknown format version " + stored[0]));
        }
        ByteBuffer buffer = ByteBuffer.wrap(stored, 1, stored.length - 1);
        long appendedAt = buffer.getLong();
        int keyLength = buffer.getInt();
        if (keyLength < 0 || keyLength > buffer.remaining()) {
            throw new SpoolStorageException("corrupt spool entry at seq " + seq + ": key length " + keyLength);
        }
        byte[] key = new byte[keyLength];
        buffer.get(key);
        byte[] value = new byte[buffer.remaining()];
        buffer.get(value);
        return new SpooledEvent(seq, appendedAt, key, value);
    }
}
