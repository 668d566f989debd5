package io.msx.agent.internal;

import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.SchemaStore;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

/**
 * One stored type in Avro's single-object encoding ({@code C3 01}, the writer schema's 8-byte CRC-64-AVRO
 * fingerprint, then the Avro binary body). Decoding finds the writer's schema by its fingerprint in a
 * {@link SchemaStore} and resolves it against this build's schema, so older records read as current ones.
 * Thread-safe.
 *
 * @param <T> the generated class of the type
 */
public final class StateCodec<T extends SpecificRecord> {

    /** First two bytes of every single-object encoded value. */
    public static final byte[] MAGIC = {(byte) 0xC3, 0x01};
    public static final int HEADER_SIZE = 10;

    private final Schema schema;
    private final long fingerprint;
    private final BinaryMessageEncoder<T> encoder;
    private final BinaryMessageDecoder<T> decoder;

    public StateCodec(Schema schema, SchemaStore schemas) {
        this.schema = schema;
        this.fingerprint = AgentSchemas.fingerprint(schema);
        SpecificData model = SpecificData.getForSchema(schema);
        this.encoder = new BinaryMessageEncoder<>(model, schema);
        this.decoder = new BinaryMessageDecoder<>(model, schema, schemas);
    }

    /** The schema values are written with. */
    public Schema schema() {
        return schema;
    }

    /** Fingerprint of {@link #schema()}, as written into every encoded value. */
    public long fingerprint() {
        return fingerprint;
    }

    public byte[] encode(T value) {
        try {
            ByteBuffer buffer = encoder.encode(value);
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + schema.getFullName(), e);
        }
    }

    /**
     * @throws IllegalArgumentException naming the writer's fingerprint when its schema is unknown, or the bytes are
     *                                  not a single-object encoded value of this type
     */
    public T decode(byte[] bytes) {
        try {
            return decoder.decode(bytes);
        } catch (IOException | RuntimeException | Error e) {
            throw new IllegalArgumentException("not a readable " + schema.getName() + " (writer schema "
                    + writerFingerprint(bytes) + "): " + e.getMessage(), e);
        }
    }

    /** True when {@code bytes} start like a single-object encoded value. */
    public static boolean isSingleObject(byte[] bytes) {
        return bytes.length >= HEADER_SIZE && bytes[0] == MAGIC[0] && bytes[1] == MAGIC[1];
    }

    private static String writerFingerprint(byte[] bytes) {
        if (!isSingleObject(bytes)) {
            return "unknown: no single-object header";
        }
        // the fingerprint is little-endian in the single-object header
        long fp = ByteBuffer.wrap(bytes, 2, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        return "fingerprint " + Long.toHexString(fp);
    }
}
