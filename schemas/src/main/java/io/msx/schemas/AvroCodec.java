package io.msx.schemas;

import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Encodes and decodes one Avro record type in the Confluent wire format: magic byte {@code 0}, the 4-byte big-endian
 * schema id, then Avro binary. Subjects follow RecordNameStrategy (the record's full name), so every per-target topic
 * shares one subject per type. Decoding resolves the writer's schema by id against this type's schema, so records
 * written by an older or newer version of msx read fine as long as the schemas are compatible.
 *
 * <p>Thread-safe. Calls the registry on the first use of a schema and on every unseen id; a down registry raises the
 * retriable {@link SchemaRegistryUnavailableException}, bad bytes raise {@link WireFormatException}.
 */
public final class AvroCodec<T extends SpecificRecord> {

    public static final byte MAGIC_BYTE = 0;
    public static final int HEADER_SIZE = 5;

    private final Class<T> type;
    private final Schema schema;
    private final SpecificData model;
    private final SchemaRegistryClient registry;
    private final boolean autoRegister;
    private final ConcurrentMap<Integer, DatumReader<T>> readers = new ConcurrentHashMap<>();
    private final SpecificDatumWriter<T> writer;
    private volatile int writerId = -1;

    private AvroCodec(Class<T> type, SchemaRegistryClient registry, boolean autoRegister) {
        this.type = type;
        this.model = SpecificData.getForClass(type);
        this.schema = model.getSchema(type);
        this.registry = registry;
        this.autoRegister = autoRegister;
        this.writer = new SpecificDatumWriter<>(schema, model);
    }

    /**
     * @param autoRegister register this type's schema on first encode (false: it must already be registered)
     */
    public static <T extends SpecificRecord> AvroCodec<T> of(Class<T> type, SchemaRegistryClient registry,
                                                             boolean autoRegister) {
        return new AvroCodec<>(type, registry, autoRegister);
    }

    /** The RecordNameStrategy subject of a schema: its full name. */
    public static String subjectOf(Schema schema) {
        return schema.getFullName();
    }

    public String subject() {
        return subjectOf(schema);
    }

    public Schema schema() {
        return schema;
    }

    /** The id under which this type's schema is written, registering it first if allowed. */
    public int writerSchemaId() {
        int id = writerId;
        if (id < 0) {
            id = autoRegister ? registry.register(subject(), schema)
                    : registry.lookupId(subject(), schema).orElseThrow(() -> new SchemaRegistryException(
                            "schema of " + subject() + " is not registered and auto-registration is off", 404, 40403));
            writerId = id;
        }
        return id;
    }

    public byte[] encode(T value) {
        int id = writerSchemaId();
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        out.write(MAGIC_BYTE);
        out.writeBytes(ByteBuffer.allocate(4).putInt(id).array());
        BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
        try {
            writer.write(value, encoder);
            encoder.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + subject(), e);
        }
        return out.toByteArray();
    }

    /** Decodes bytes that were not read from a topic (tests, files). */
    public T decode(String topic, byte[] data) {
        return decode(topic, -1, -1, data);
    }

    /**
     * Decodes one record's value.
     *
     * @return null only for null data (a tombstone), never for bad bytes
     * @throws WireFormatException naming topic, partition and offset when the bytes are not a record of this type
     */
    public T decode(String topic, int partition, long offset, byte[] data) {
        if (data == null) {
            return null;
        }
        if (data.length < HEADER_SIZE) {
            throw new WireFormatException("truncated: " + data.length + " bytes, need at least " + HEADER_SIZE
                    + " (magic byte and schema id)", topic, partition, offset, null);
        }
        if (data[0] != MAGIC_BYTE) {
            throw new WireFormatException(String.format("unknown magic byte 0x%02x, expected 0x00 (Confluent wire "
                    + "format)", data[0]), topic, partition, offset, null);
        }
        int id = ByteBuffer.wrap(data, 1, 4).getInt();
        DatumReader<T> reader;
        try {
            reader = readers.computeIfAbsent(id, this::newReader);
        } catch (SchemaRegistryException e) {
            if (e.status() == 404) {
                throw new WireFormatException("schema id " + id + " unknown to the registry at "
                        + registry.config().url(), topic, partition, offset, e);
            }
            throw e;
        } catch (AvroRuntimeException e) {
            throw new WireFormatException("writer schema id " + id + " cannot be read as " + subject() + ": "
                    + e.getMessage(), topic, partition, offset, e);
        }
        BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(data, HEADER_SIZE, data.length - HEADER_SIZE, null);
        T value;
        try {
            value = reader.read(null, decoder);
        } catch (IOException | RuntimeException e) {
            throw new WireFormatException("truncated or corrupt Avro body for schema id " + id + " (" + subject()
                    + "): " + e, topic, partition, offset, e);
        }
        try {
            if (!decoder.isEnd()) {
                throw new WireFormatException("trailing bytes after the Avro body for schema id " + id + " ("
                        + subject() + ")", topic, partition, offset, null);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return value;
    }

    private DatumReader<T> newReader(int id) {
        Schema writerSchema = registry.schemaById(id);
        if (!writerSchema.getFullName().equals(schema.getFullName())) {
            throw new AvroRuntimeException("it is a " + writerSchema.getFullName());
        }
        return new SpecificDatumReader<>(writerSchema, schema, model);
    }

    public Class<T> type() {
        return type;
    }
}
