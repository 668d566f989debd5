package io.msx.security;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The Kafka record headers that carry a signature next to the signed value: {@code msx.key} (the signer's key
 * fingerprint), {@code msx.sig} (64 bytes) and, for instructions, {@code msx.seq} (the per-target instruction
 * sequence, 8 bytes big-endian). The value bytes themselves are unchanged, so readers that do not check signatures
 * still decode them.
 */
public final class SignatureHeaders {

    public static final String KEY_ID = "msx.key";
    public static final String SIGNATURE = "msx.sig";
    public static final String SEQUENCE = "msx.seq";

    private SignatureHeaders() {
    }

    /** The signature the headers carry, or null where they carry none (or the headers are null). */
    public static Signed read(Headers headers) {
        if (headers == null) {
            return null;
        }
        byte[] keyId = last(headers, KEY_ID);
        byte[] signature = last(headers, SIGNATURE);
        if (keyId == null && signature == null) {
            return null;
        }
        byte[] seq = last(headers, SEQUENCE);
        Long sequence = seq != null && seq.length == Long.BYTES ? ByteBuffer.wrap(seq).getLong() : null;
        return new Signed(keyId == null ? null : new String(keyId, StandardCharsets.UTF_8), signature, sequence,
                seq != null && sequence == null);
    }

    /** Replaces any signature headers with these. */
    public static void write(Headers headers, String keyId, byte[] signature, Long sequence) {
        headers.remove(KEY_ID).remove(SIGNATURE).remove(SEQUENCE);
        headers.add(KEY_ID, keyId.getBytes(StandardCharsets.UTF_8));
        headers.add(SIGNATURE, signature);
        if (sequence != null) {
            headers.add(SEQUENCE, sequenceBytes(sequence));
        }
    }

    public static byte[] sequenceBytes(long sequence) {
        return ByteBuffer.allocate(Long.BYTES).putLong(sequence).array();
    }

    private static byte[] last(Headers headers, String key) {
        Header h = headers.lastHeader(key);
        return h == null ? null : h.value();
    }

    /**
     * A signature as read from headers.
     *
     * @param keyId          signer's key fingerprint, or null
     * @param signature      signature bytes, or null
     * @param sequence       instruction sequence, or null
     * @param malformedSequence whether a sequence header was there but not 8 bytes
     */
    public record Signed(String keyId, byte[] signature, Long sequence, boolean malformedSequence) {
    }
}
