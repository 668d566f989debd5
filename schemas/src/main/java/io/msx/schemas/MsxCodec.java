package io.msx.schemas;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import org.apache.avro.Conversions;
import org.apache.avro.Schema;
import org.apache.avro.data.TimeConversions;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericContainer;
import org.apache.avro.generic.GenericDatumWriter;
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
import java.util.List;
import java.util.Objects;

/**
 * Encodes any msx record and decodes the records of a topic that carries several types, in the Confluent wire
 * format (magic byte {@code 0}, 4-byte big-endian schema id, Avro binary) with RecordNameStrategy subjects (a type's
 * full name). Decoding goes schema id → writer schema → record name → this build's generated class, resolving the
 * writer's schema against this build's, so a newer or older writer reads fine while the schemas stay compatible.
 *
 * <p>Decoding untrusted bytes never throws for bad input and never lets one record take the process down: the value
 * size is checked before decoding, Avro's own string, bytes and collection limits are in force
 * ({@link DecodeLimits#applyToAvro()}), and any {@link Error} thrown while decoding one record (an
 * {@code OutOfMemoryError} from a forged length) becomes a {@link Decoded.Malformed} for that record.
 *
 * <p>Thread-safe. Calls the registry for the first use of a writer schema and for every unseen id; a registry that
 * cannot be reached raises the retriable {@link SchemaRegistryUnavailableException} (retry the same record later).
 */
public final class MsxCodec {

    public static final byte MAGIC_BYTE = 0;
    public static final int HEADER_SIZE = 5;

    /** Generic records may hold either raw values (long, String) or logical ones (Instant, UUID). */
    private static final GenericData GENERIC = withConversions(new GenericData());
    /**
     * The generated classes' model with every logical type msx uses registered: a generated class's own model
     * misses the conversions of logical types inside unions of nested records (JobSchedule.runOnceAt inside a
     * JobInsert), which then neither encode nor decode.
     */
    private static final SpecificData SPECIFIC = withConversions(new SpecificData());

    private static <T extends GenericData> T withConversions(T model) {
        model.addLogicalTypeConversion(new TimeConversions.TimestampMillisConversion());
        model.addLogicalTypeConversion(new Conversions.UUIDConversion());
        return model;
    }

    /** The model to read and write msx's generated classes with (single-object encoding of stored state too). */
    public static SpecificData specificData() {
        return SPECIFIC;
    }

    private final SchemaRegistry registry;
    private final boolean autoRegister;
    private final DecodeLimits limits;
    /** Writer schema id per schema written by this process (a handful of types). */
    private final Cache<Schema, Integer> writerIds;
    /** How to read each writer schema id seen, per family: bounded, loaded atomically. */
    private final Cache<ReaderKey, Reader> readers;

    private MsxCodec(SchemaRegistry registry, boolean autoRegister, DecodeLimits limits) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.autoRegister = autoRegister;
        this.limits = Objects.requireNonNull(limits, "limits");
        int capacity = registry.cacheCapacity();
        this.writerIds = Caffeine.newBuilder().maximumSize(capacity).build();
        this.readers = Caffeine.newBuilder().maximumSize(capacity).build();
        limits.applyToAvro();
    }

    /**
     * @param autoRegister register a type's schema on its first encode (false: it must already be registered)
     * @param limits       bounds on decoding, also made Avro's limits in this JVM
     */
    public static MsxCodec of(SchemaRegistry registry, boolean autoRegister, DecodeLimits limits) {
        return new MsxCodec(registry, autoRegister, limits);
    }

    public static MsxCodec of(SchemaRegistry registry, boolean autoRegister) {
        return of(registry, autoRegister, DecodeLimits.DEFAULTS);
    }

    public DecodeLimits limits() {
        return limits;
    }

    public SchemaRegistry registry() {
        return registry;
    }

    /** The RecordNameStrategy subject of a schema: its full name. */
    public static String subjectOf(Schema schema) {
        return schema.getFullName();
    }

    /** The id under which {@code schema} is written, registering it first if allowed. */
    public int writerSchemaId(Schema schema) {
        return writerIds.get(schema, s -> {
            String subject = subjectOf(s);
            return autoRegister ? registry.register(subject, s)
                    : registry.lookupId(subject, s).orElseThrow(() -> new SchemaRegistryException(
                    "schema of " + subject + " is not registered and auto-registration is off", 404, 40403));
        });
    }

    /**
     * Encodes a generated (specific) record, or a generic record with its own schema (a client that knows only a
     * subject's latest schema).
     */
    public byte[] encode(GenericContainer value) {
        Schema schema = value.getSchema();
        int id = writerSchemaId(schema);
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        out.write(MAGIC_BYTE);
        out.writeBytes(ByteBuffer.allocate(4).putInt(id).array());
        BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
        GenericDatumWriter<Object> writer = value instanceof SpecificRecord
                ? new SpecificDatumWriter<>(schema, SPECIFIC)
                : new GenericDatumWriter<>(schema, GENERIC);
        try {
            writer.write(value, encoder);
            encoder.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + subjectOf(schema), e);
        }
        return out.toByteArray();
    }

    /** Decodes bytes that were not read from a topic (tests, files). */
    public Decoded decode(MessageFamily family, String topic, byte[] data) {
        return decode(family, topic, -1, -1, data);
    }

    /**
     * Decodes one record value of a topic carrying {@code family}'s types.
     *
     * @throws SchemaRegistryUnavailableException when the registry cannot be asked for the writer's schema (retry)
     */
    public Decoded decode(MessageFamily family, String topic, int partition, long offset, byte[] data) {
        return decode(Expected.family(family), topic, partition, offset, data);
    }

    /**
     * Decodes one record value that must be of a single type (compacted state topics, command results).
     *
     * @return the value, or null for a tombstone
     * @throws WireFormatException naming topic, partition and offset when it is anything else
     */
    public <T extends SpecificRecord> T decodeAs(Class<T> type, String topic, int partition, long offset,
                                                 byte[] data) {
        Decoded decoded = decode(Expected.single(type), topic, partition, offset, data);
        if (decoded instanceof Decoded.Message m) {
            return type.cast(m.value());
        }
        if (decoded instanceof Decoded.UnknownType u) {
            throw new WireFormatException(u.reason() + ", expected " + MsxSchemas.schemaOf(type).getFullName(),
                    topic, partition, offset, null);
        }
        if (decoded instanceof Decoded.Malformed m) {
            throw new WireFormatException(m.reason(), topic, partition, offset, null);
        }
        return null; // tombstone
    }

    private Decoded decode(Expected expected, String topic, int partition, long offset, byte[] data) {
        if (data == null) {
            return new Decoded.Tombstone();
        }
        if (data.length > limits.maxRecordBytes()) {
            return new Decoded.Malformed("record value of " + data.length + " bytes exceeds the decoding limit of "
                    + limits.maxRecordBytes() + " bytes", null);
        }
        if (data.length < HEADER_SIZE) {
            return new Decoded.Malformed("truncated: " + data.length + " bytes, need at least " + HEADER_SIZE
                    + " (magic byte and schema id)", null);
        }
        if (data[0] != MAGIC_BYTE) {
            return new Decoded.Malformed(String.format("unknown magic byte 0x%02x, expected 0x00 (Confluent wire "
                    + "format)", data[0]), null);
        }
        int id = ByteBuffer.wrap(data, 1, 4).getInt();
        Reader reader = readers.get(new ReaderKey(expected, id), key -> newReader(key.expected(), key.id()));
        if (reader.refusal() != null) {
            return new Decoded.Malformed(reader.refusal(), readHeader(reader, data));
        }
        if (reader.unknownName() != null) {
            return new Decoded.UnknownType(reader.unknownName(), id, readHeader(reader, data));
        }
        Object value;
        BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(data, HEADER_SIZE, data.length - HEADER_SIZE, null);
        try {
            value = reader.datumReader().read(null, decoder);
            if (!decoder.isEnd()) {
                return new Decoded.Malformed("trailing bytes after the Avro body for schema id " + id + " ("
                        + reader.writerName() + ")", readHeader(reader, data));
            }
        } catch (IOException | RuntimeException | Error e) {
            // Error too: a forged length may still make Avro allocate more than the heap has; that is this record's
            // problem, not the process's.
            return new Decoded.Malformed("truncated or corrupt Avro body for schema id " + id + " ("
                    + reader.writerName() + "): " + e, readHeader(reader, data));
        }
        return new Decoded.Message((SpecificRecord) value, id);
    }

    /**
     * The first array whose items can be written in zero bytes, or null. Avro checks its collection limit when it
     * reads an array, but not when it skips one (a field the reader does not have): a forged count of 2^62 such items
     * would then cost 2^62 iterations and no bytes. No msx schema has one, so a writer schema that does is refused.
     */
    private static String zeroWidthArray(Schema schema, java.util.Set<Schema> seen) {
        switch (schema.getType()) {
            case RECORD -> {
                if (!seen.add(schema)) {
                    return null;
                }
                for (Schema.Field field : schema.getFields()) {
                    String found = zeroWidthArray(field.schema(), seen);
                    if (found != null) {
                        return found;
                    }
                }
                return null;
            }
            case ARRAY -> {
                return takesNoBytes(schema.getElementType(), new java.util.HashSet<>())
                        ? "array of " + schema.getElementType().getType().getName()
                        : zeroWidthArray(schema.getElementType(), seen);
            }
            case MAP -> {
                return zeroWidthArray(schema.getValueType(), seen); // every entry has a key: at least one byte
            }
            case UNION -> {
                for (Schema branch : schema.getTypes()) {
                    String found = zeroWidthArray(branch, seen);
                    if (found != null) {
                        return found;
                    }
                }
                return null;
            }
            default -> {
                return null;
            }
        }
    }

    private static boolean takesNoBytes(Schema schema, java.util.Set<Schema> seen) {
        return switch (schema.getType()) {
            case NULL -> true;
            case FIXED -> schema.getFixedSize() == 0;
            case RECORD -> seen.add(schema) && schema.getFields().stream().allMatch(f -> takesNoBytes(f.schema(), seen));
            default -> false; // unions and enums write an index, everything else at least a byte
        };
    }

    /** The header of a record whose body cannot be used, when its type has one and it decodes; else null. */
    private static SpecificRecord readHeader(Reader reader, byte[] data) {
        if (reader.headerReader() == null) {
            return null;
        }
        try {
            BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(data, HEADER_SIZE, data.length - HEADER_SIZE,
                    null);
            return (SpecificRecord) reader.headerReader().read(null, decoder);
        } catch (IOException | RuntimeException | Error e) {
            return null;
        }
    }

    private Reader newReader(Expected expected, int id) {
        Schema writer;
        try {
            writer = registry.schemaById(id);
        } catch (SchemaRegistryException e) {
            if (e.status() != 404) {
                throw e;
            }
            // remembered like any id: a flood of records with made-up ids costs one registry call per id
            return Reader.refused(null, "schema id " + id + " unknown to the registry at " + registry.location());
        } catch (SchemaRegistryUnavailableException e) {
            throw e;
        } catch (RuntimeException e) {
            // e.g. an invalid default (AvroTypeException) in a schema someone registered: this id is unusable
            return Reader.refused(null, "schema id " + id + " is not an Avro schema msx can read: " + e);
        }
        if (writer.getType() != Schema.Type.RECORD) {
            return Reader.refused(writer.getFullName(), "schema id " + id + " is a " + writer.getType()
                    + ", not a record");
        }
        String unbounded = zeroWidthArray(writer, new java.util.HashSet<>());
        if (unbounded != null) {
            return Reader.refused(writer.getFullName(), "schema id " + id + " (" + writer.getFullName() + ") has an "
                    + "array of items that take no bytes (" + unbounded + "): its item count cannot be bounded");
        }
        String name = writer.getFullName();
        DatumReader<Object> headerReader = headerReader(expected.family(), writer);
        Class<? extends SpecificRecord> known = expected.known(name);
        if (known == null) {
            String foreign = MessageFamily.ofType(name).map(f -> "a " + f.name().toLowerCase() + " type")
                    .orElse(MsxSchemas.isSingleType(name) ? "a known type" : null);
            if (foreign != null || (expected.family() == null)) {
                return Reader.refused(name, "record type " + name + " (" + (foreign != null ? foreign
                        : "unknown") + ") does not belong here; expected " + expected.describe(), headerReader);
            }
            return Reader.unknown(name, headerReader);
        }
        Schema reader = MsxSchemas.schemaOf(known);
        return Reader.known(name, new SpecificDatumReader<>(writer, reader, SPECIFIC),
                headerReader);
    }

    /**
     * Reads only the header of a writer's record. The header is the first field, so its bytes come first: they are
     * read with the writer's header schema resolved to this build's, and nothing after them is touched (a corrupt or
     * unknown body costs nothing).
     */
    private static DatumReader<Object> headerReader(MessageFamily family, Schema writer) {
        if (family == null || writer.getFields().isEmpty()) {
            return null;
        }
        Schema.Field first = writer.getFields().get(0);
        if (!MessageFamily.HEADER_FIELD.equals(first.name()) || first.schema().getType() != Schema.Type.RECORD
                || !first.schema().getFullName().equals(family.headerSchema().getFullName())) {
            return null;
        }
        return new SpecificDatumReader<>(first.schema(), family.headerSchema(), SPECIFIC);
    }

    /** What a topic accepts: a message family, or one single type. */
    private record Expected(MessageFamily family, Class<? extends SpecificRecord> single) {
        static Expected family(MessageFamily family) {
            return new Expected(Objects.requireNonNull(family, "family"), null);
        }

        static Expected single(Class<? extends SpecificRecord> type) {
            return new Expected(null, type);
        }

        Class<? extends SpecificRecord> known(String name) {
            if (family != null) {
                return family.type(name).orElse(null);
            }
            return MsxSchemas.schemaOf(single).getFullName().equals(name) ? single : null;
        }

        String describe() {
            return family != null ? "a " + family.name().toLowerCase() + " type"
                    : MsxSchemas.schemaOf(single).getFullName();
        }
    }

    private record ReaderKey(Expected expected, int id) {
    }

    private record Reader(String writerName, DatumReader<Object> datumReader, DatumReader<Object> headerReader,
                          String unknownName, String refusal) {
        static Reader known(String name, DatumReader<Object> reader, DatumReader<Object> header) {
            return new Reader(name, reader, header, null, null);
        }

        static Reader unknown(String name, DatumReader<Object> header) {
            return new Reader(name, null, header, name, null);
        }

        static Reader refused(String name, String why) {
            return refused(name, why, null);
        }

        static Reader refused(String name, String why, DatumReader<Object> header) {
            return new Reader(name, null, header, null, why);
        }
    }
}
