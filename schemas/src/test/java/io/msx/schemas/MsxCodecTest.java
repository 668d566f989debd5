package io.msx.schemas;

import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.avro.InstructionHeader;
import io.msx.avro.command.ForcePoll;
import io.msx.avro.instruction.PollNow;
import io.msx.avro.status.CheckIn;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The multi-type codec on bytes a careless script or an attacker could write; registry in memory. */
class MsxCodecTest {

    private InMemorySchemaRegistry registry;
    private MsxCodec codec;

    @BeforeEach
    void setUp() {
        registry = InMemorySchemaRegistry.withMsxSchemas();
        codec = MsxCodec.of(registry, false, DecodeLimits.DEFAULTS);
    }

    @Test
    void shouldRoundTripEachFamilyToItsGeneratedClass() {
        ForcePoll poll = Messages.forcePoll("T1", "T2");
        PollNow instruction = Messages.pollNow("T1");
        CheckIn checkIn = Messages.checkIn("T1", 7);

        assertThat(message(codec.decode(MessageFamily.COMMAND, "c", 0, 1, codec.encode(poll)))).isEqualTo(poll);
        assertThat(message(codec.decode(MessageFamily.INSTRUCTION, "t", 0, 1, codec.encode(instruction))))
                .isEqualTo(instruction);
        assertThat(message(codec.decode(MessageFamily.STATUS, "s", 0, 1, codec.encode(checkIn)))).isEqualTo(checkIn);
        assertThat(MessageFamily.COMMAND.<CommandHeader>header(poll).getCommandId())
                .isEqualTo(poll.getHeader().getCommandId());
    }

    @Test
    void shouldReturnATombstoneForNull() {
        assertThat(codec.decode(MessageFamily.STATUS, "s", 0, 1, null)).isInstanceOf(Decoded.Tombstone.class);
        assertThat(codec.decodeAs(CommandResult.class, "r", 0, 1, null)).isNull();
    }

    @Test
    void shouldRefuseAKnownTypeOfAnotherFamilyReadingItsHeaderWhenItHasNone() {
        Decoded decoded = codec.decode(MessageFamily.INSTRUCTION, "t", 0, 1, codec.encode(Messages.forcePoll("T1")));
        assertThat(decoded).isInstanceOf(Decoded.Malformed.class);
        assertThat(((Decoded.Malformed) decoded).reason()).contains("io.msx.avro.command.ForcePoll")
                .contains("a command type").contains("does not belong here");
    }

    @Test
    void shouldGiveATypedResultWithTheHeaderForATypeThisBuildDoesNotKnow() {
        Schema rotate = V2Schemas.load().get(V2Schemas.ROTATE_LOGS);
        int id = registry.register(rotate.getFullName(), rotate);
        UUID instructionId = UUID.randomUUID();
        GenericRecord header = new GenericData.Record(InstructionHeader.getClassSchema());
        header.put("instructionId", instructionId.toString());
        header.put("target", "T1");
        header.put("commandId", null);
        header.put("postedAt", 1234L);
        GenericRecord record = new GenericData.Record(rotate);
        record.put("header", header);
        record.put("keepFiles", 3);

        Decoded decoded = codec.decode(MessageFamily.INSTRUCTION, "t", 0, 1, codec.encode(record));

        assertThat(decoded).isInstanceOf(Decoded.UnknownType.class);
        Decoded.UnknownType unknown = (Decoded.UnknownType) decoded;
        assertThat(unknown.reason()).isEqualTo("unknown message type io.msx.avro.instruction.RotateLogs, schema id "
                + id);
        assertThat(((InstructionHeader) unknown.header()).getInstructionId()).isEqualTo(instructionId);
    }

    @Test
    void shouldReadACurrentTypeWrittenWithAnAddedOptionalField() {
        Schema v2 = V2Schemas.load().get(V2Schemas.POLL_NOW);
        registry.register(v2.getFullName(), v2);
        PollNow current = Messages.pollNow("T1");
        GenericRecord record = new GenericData.Record(v2);
        GenericRecord header = new GenericData.Record(InstructionHeader.getClassSchema());
        header.put("instructionId", current.getHeader().getInstructionId().toString());
        header.put("target", "T1");
        header.put("postedAt", current.getHeader().getPostedAt().toEpochMilli());
        record.put("header", header);
        record.put("drainSpool", false);
        record.put("reason", "v2 field");

        PollNow read = (PollNow) message(codec.decode(MessageFamily.INSTRUCTION, "t", 0, 1, codec.encode(record)));

        assertThat(read.getHeader()).isEqualTo(current.getHeader());
        assertThat(read.getDrainSpool()).isFalse();
    }

    @Test
    void shouldRefuseAForgedCollectionCountWithoutAllocatingIt() {
        // magic 0, ForcePoll's schema id, a command header, then an array block count of about 2^31
        int id = registry.lookupId("", ForcePoll.getClassSchema()).orElseThrow();
        byte[] valid = codec.encode(Messages.forcePoll());
        byte[] forged = Arrays.copyOf(valid, valid.length + 5);
        int countAt = valid.length - 1; // the empty array's terminating 0
        byte[] hugeCount = zigZagVarint(2_147_483_000L);
        System.arraycopy(hugeCount, 0, forged, countAt, hugeCount.length);
        forged = Arrays.copyOf(forged, countAt + hugeCount.length + 3);
        assertThat(ByteBuffer.wrap(forged, 1, 4).getInt()).isEqualTo(id);

        Decoded decoded = codec.decode(MessageFamily.COMMAND, "c", 0, 9, forged);

        assertThat(decoded).as(String.valueOf(decoded)).isInstanceOf(Decoded.Malformed.class);
        assertThat(((Decoded.Malformed) decoded).reason()).as(String.valueOf(decoded)).contains("Collection length 2147483000 exceeds the maximum allowed of 100000");
        assertThat(((CommandHeader) ((Decoded.Malformed) decoded).header()).getCommandId()).isNotNull();
    }

    @Test
    void shouldRefuseAWriterSchemaWhoseSkippedArrayCouldNotBeBounded() {
        // a compatible "v2" ForcePoll with an array of nulls: Avro skips it without checking the count
        Schema current = ForcePoll.getClassSchema();
        List<Schema.Field> fields = new java.util.ArrayList<>(current.getFields().stream()
                .map(f -> new Schema.Field(f, f.schema())).toList());
        fields.add(new Schema.Field("pad", Schema.createArray(Schema.create(Schema.Type.NULL)), "pad", List.of()));
        Schema padded = Schema.createRecord(current.getName(), current.getDoc(), current.getNamespace(), false,
                fields);
        int id = registry.register(current.getFullName(), padded);
        byte[] valid = codec.encode(Messages.forcePoll());
        ByteBuffer.wrap(valid, 1, 4).putInt(id);
        byte[] forged = Arrays.copyOf(valid, valid.length + 10);
        byte[] count = zigZagVarint(Long.MAX_VALUE / 4);
        System.arraycopy(count, 0, forged, valid.length, count.length);
        forged = Arrays.copyOf(forged, valid.length + count.length + 1);

        Decoded decoded = codec.decode(MessageFamily.COMMAND, "c", 0, 1, forged);

        assertThat(decoded).isInstanceOf(Decoded.Malformed.class);
        assertThat(((Decoded.Malformed) decoded).reason()).contains("array of items that take no bytes");
    }

    @Test
    void shouldRefuseASchemaIdWhoseSchemaCannotBeParsed() {
        SchemaRegistry broken = new SchemaRegistry() {
            @Override
            public int register(String subject, Schema schema) {
                return registry.register(subject, schema);
            }

            @Override
            public java.util.OptionalInt lookupId(String subject, Schema schema) {
                return registry.lookupId(subject, schema);
            }

            @Override
            public Schema schemaById(int id) {
                // what SchemaRegistryClient does with a registered schema holding an invalid default
                return new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"X\",\"fields\":"
                        + "[{\"name\":\"x\",\"type\":\"int\",\"default\":\"a\"}]}");
            }

            @Override
            public String location() {
                return "broken";
            }

            @Override
            public int cacheCapacity() {
                return 10;
            }
        };
        byte[] bytes = codec.encode(Messages.forcePoll("T1"));

        Decoded decoded = MsxCodec.of(broken, false).decode(MessageFamily.COMMAND, "c", 0, 1, bytes);

        assertThat(decoded).isInstanceOf(Decoded.Malformed.class);
        assertThat(((Decoded.Malformed) decoded).reason()).contains("is not an Avro schema msx can read");
    }

    @Test
    void shouldRefuseARecordOverTheSizeLimitUnreadAndAcceptOneAtIt() {
        byte[] encoded = codec.encode(Messages.forcePoll("T1"));
        MsxCodec atLimit = MsxCodec.of(registry, false, new DecodeLimits(encoded.length, 1024, 1024, 100));
        MsxCodec belowLimit = MsxCodec.of(registry, false, new DecodeLimits(encoded.length - 1, 1024, 1024, 100));

        assertThat(atLimit.decode(MessageFamily.COMMAND, "c", 0, 1, encoded)).isInstanceOf(Decoded.Message.class);
        Decoded refused = belowLimit.decode(MessageFamily.COMMAND, "c", 0, 1, encoded);
        assertThat(refused).isInstanceOf(Decoded.Malformed.class);
        assertThat(((Decoded.Malformed) refused).reason()).contains(encoded.length + " bytes exceeds");
        DecodeLimits.DEFAULTS.applyToAvro();
    }

    @Test
    void shouldRefuseAStringOneByteOverAvrosLimitAndReadOneAtIt() {
        String target = "T".repeat(64);
        byte[] encoded = codec.encode(Messages.forcePoll(target));
        try {
            MsxCodec at = MsxCodec.of(registry, false, new DecodeLimits(10_000, 64, 64, 100));
            assertThat(at.decode(MessageFamily.COMMAND, "c", 0, 1, encoded)).isInstanceOf(Decoded.Message.class);
            MsxCodec over = MsxCodec.of(registry, false, new DecodeLimits(10_000, 63, 64, 100));
            Decoded refused = over.decode(MessageFamily.COMMAND, "c", 0, 1, encoded);
            assertThat(refused).isInstanceOf(Decoded.Malformed.class);
            assertThat(((Decoded.Malformed) refused).reason()).contains("String length 64 exceeds maximum allowed");
        } finally {
            DecodeLimits.DEFAULTS.applyToAvro();
        }
    }

    @Test
    void shouldDescribeEachKindOfBadBytes() {
        byte[] valid = codec.encode(Messages.forcePoll("T1"));
        assertThat(malformed(new byte[] {0, 0})).contains("truncated: 2 bytes");
        byte[] magic = valid.clone();
        magic[0] = 1;
        assertThat(malformed(magic)).contains("magic byte 0x01");
        assertThat(malformed(Arrays.copyOf(valid, valid.length - 3))).contains("truncated or corrupt Avro body");
        assertThat(malformed(Arrays.copyOf(valid, valid.length + 2))).contains("trailing bytes");
        byte[] unknownId = valid.clone();
        ByteBuffer.wrap(unknownId, 1, 4).putInt(876_543_210);
        assertThat(malformed(unknownId)).contains("schema id 876543210 unknown to the registry");
    }

    @Test
    void shouldThrowAWireFormatErrorNamingTheRecordForASingleTypeTopic() {
        byte[] poll = codec.encode(Messages.forcePoll("T1"));
        assertThatThrownBy(() -> codec.decodeAs(CommandResult.class, "msx.command-results", 2, 42, poll))
                .isInstanceOf(WireFormatException.class)
                .hasMessageContaining("msx.command-results-2@42")
                .hasMessageContaining("io.msx.avro.command.ForcePoll");
    }

    @Test
    void shouldEncodeAGenericRecordOfAKnownTypeAsTheSameBytes() {
        ForcePoll poll = Messages.forcePoll("T1");
        GenericRecord generic = (GenericRecord) GenericData.get().deepCopy(ForcePoll.getClassSchema(), poll);
        assertThat(codec.encode(generic)).isEqualTo(codec.encode(poll));
    }

    private String malformed(byte[] bytes) {
        Decoded decoded = codec.decode(MessageFamily.COMMAND, "c", 0, 1, bytes);
        assertThat(decoded).isInstanceOf(Decoded.Malformed.class);
        return ((Decoded.Malformed) decoded).reason();
    }

    private static Object message(Decoded decoded) {
        assertThat(decoded).isInstanceOf(Decoded.Message.class);
        return ((Decoded.Message) decoded).value();
    }

    private static byte[] zigZagVarint(long value) {
        long n = (value << 1) ^ (value >> 63);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while ((n & ~0x7FL) != 0) {
            out.write((int) ((n & 0x7F) | 0x80));
            n >>>= 7;
        }
        out.write((int) n);
        return out.toByteArray();
    }

    @Test
    void shouldRoundTripAJobWithAOneTimeSchedule() {
        // a logical type (timestamp-millis) inside a union inside a nested record: found by the codec fuzzer
        io.msx.avro.JobDefinition job = JobRulesTest.job(List.of(JobRulesTest.step(1).build()));
        job = io.msx.avro.JobDefinition.newBuilder(job).setSchedules(List.of(io.msx.avro.JobSchedule.newBuilder()
                .setName("once").setRunOnceAt(Messages.now()).build())).build();
        io.msx.avro.instruction.JobInsert insert = io.msx.avro.instruction.JobInsert.newBuilder()
                .setHeader(Messages.pollNow("T1").getHeader()).setJob(job).build();
        // (compared as bytes: Avro's generated equals() cannot compare such a field itself)
        Object read = message(codec.decode(MessageFamily.INSTRUCTION, "t", 0, 1, codec.encode(insert)));
        assertThat(((io.msx.avro.instruction.JobInsert) read).getJob().getSchedules().get(0).getRunOnceAt())
                .isEqualTo(job.getSchedules().get(0).getRunOnceAt());
        assertThat(codec.encode((io.msx.avro.instruction.JobInsert) read)).isEqualTo(codec.encode(insert));
    }

    @Test
    void everyMessageTypeStartsWithItsFamilysHeader() {
        for (MessageFamily family : MessageFamily.values()) {
            for (Schema schema : family.schemas()) {
                assertThat(schema.getNamespace()).as(schema.getFullName()).isEqualTo(family.namespace());
                Schema.Field first = schema.getFields().get(0);
                assertThat(first.name()).as(schema.getFullName()).isEqualTo(MessageFamily.HEADER_FIELD);
                assertThat(first.schema()).as(schema.getFullName()).isEqualTo(family.headerSchema());
            }
        }
        assertThat(MsxSchemas.ALL).extracting(Schema::getFullName).doesNotHaveDuplicates();
        assertThat(List.of(MessageFamily.values())).allSatisfy(f -> assertThat(f.types()).isNotEmpty());
    }
}
