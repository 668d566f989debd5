package io.msx.schemas;

import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecord;

/**
 * Encodes and decodes one Avro record type (compacted state, command results) in the Confluent wire format, through
 * an {@link MsxCodec}, so it shares its decoding limits and caches. Topics carrying several message types use the
 * {@link MsxCodec} directly.
 *
 * <p>Thread-safe. A down registry raises the retriable {@link SchemaRegistryUnavailableException}, bad bytes raise
 * {@link WireFormatException}.
 */
public final class AvroCodec<T extends SpecificRecord> {

    public static final byte MAGIC_BYTE = MsxCodec.MAGIC_BYTE;
    public static final int HEADER_SIZE = MsxCodec.HEADER_SIZE;

    private final Class<T> type;
    private final Schema schema;
    private final MsxCodec codec;

    private AvroCodec(Class<T> type, MsxCodec codec) {
        this.type = type;
        this.schema = MsxSchemas.schemaOf(type);
        this.codec = codec;
    }

    public static <T extends SpecificRecord> AvroCodec<T> of(Class<T> type, MsxCodec codec) {
        return new AvroCodec<>(type, codec);
    }

    /**
     * @param autoRegister register this type's schema on first encode (false: it must already be registered)
     */
    public static <T extends SpecificRecord> AvroCodec<T> of(Class<T> type, SchemaRegistry registry,
                                                             boolean autoRegister) {
        return new AvroCodec<>(type, MsxCodec.of(registry, autoRegister));
    }

    /** The RecordNameStrategy subject of a schema: its full name. */
    public static String subjectOf(Schema schema) {
        return MsxCodec.subjectOf(schema);
    }

    public String subject() {
        return subjectOf(schema);
    }

    public Schema schema() {
        return schema;
    }

    /** The id under which this type's schema is written, registering it first if allowed. */
    public int writerSchemaId() {
        return codec.writerSchemaId(schema);
    }

    public byte[] encode(T value) {
        return codec.encode(value);
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
        return codec.decodeAs(type, topic, partition, offset, data);
    }

    public Class<T> type() {
        return type;
    }
}
