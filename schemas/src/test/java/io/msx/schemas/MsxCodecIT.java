package io.msx.schemas;

import io.msx.avro.CommandHeader;
import io.msx.avro.StatusHeader;
import io.msx.avro.command.ForcePoll;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The Confluent wire format and schema evolution against a real Apicurio Registry: the v2 schema set (new types and
 * current types with an added optional field) is accepted under FULL_TRANSITIVE, and this build reads what v2 writes.
 */
@ExtendWith(LocalStackExtension.class)
class MsxCodecIT {

    private SchemaRegistryClient registry;
    private MsxCodec codec;

    @BeforeEach
    void setUp(LocalStack stack) {
        registry = new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl()));
        MsxSchemas.register(registry);
        codec = MsxCodec.of(registry, false);
    }

    @Test
    void shouldRoundTripInTheConfluentWireFormat() {
        ForcePoll command = Messages.forcePoll("T1", "T2");
        byte[] bytes = codec.encode(command);

        assertThat(bytes[0]).isEqualTo((byte) 0);
        int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
        assertThat(registry.schemaById(id)).isEqualTo(ForcePoll.getClassSchema());
        assertThat(registry.latest("io.msx.avro.command.ForcePoll").id()).isEqualTo(id);
        Decoded decoded = codec.decode(MessageFamily.COMMAND, "msx.commands", 0, 7, bytes);
        assertThat(((Decoded.Message) decoded).value()).isEqualTo(command);
        assertThat(((Decoded.Message) decoded).schemaId()).isEqualTo(id);
    }

    @Test
    void shouldHaveEverySubjectFullTransitive() {
        for (Schema schema : MsxSchemas.ALL) {
            assertThat(registry.compatibility(schema.getFullName())).as(schema.getFullName())
                    .contains(CompatibilityLevel.FULL_TRANSITIVE);
        }
    }

    @Test
    void shouldAcceptTheV2SchemaSetUnderFullTransitiveAndReadWhatItWrites() {
        Map<String, Schema> v2 = V2Schemas.load();
        for (Schema schema : v2.values()) {
            registry.setCompatibility(schema.getFullName(), CompatibilityLevel.FULL_TRANSITIVE);
            assertThat(registry.isCompatible(schema.getFullName(), schema)).as(schema.getFullName()).isTrue();
            registry.register(schema.getFullName(), schema);
        }
        MsxCodec v2Writer = MsxCodec.of(registry, false);

        // a new status type: unknown to this build, its header still readable
        GenericRecord disk = new GenericData.Record(v2.get(V2Schemas.DISK_REPORT));
        disk.put("header", new StatusHeader("T1", 42L, java.time.Instant.ofEpochMilli(5), null));
        disk.put("freeBytes", 1L << 40);
        disk.put("volumes", List.of("/"));
        Decoded unknown = codec.decode(MessageFamily.STATUS, "msx.status", 0, 1, v2Writer.encode(disk));
        assertThat(unknown).isInstanceOf(Decoded.UnknownType.class);
        assertThat(((Decoded.UnknownType) unknown).recordName()).isEqualTo(V2Schemas.DISK_REPORT);
        assertThat(((StatusHeader) ((Decoded.UnknownType) unknown).header()).getSeq()).isEqualTo(42L);

        // a current type with an added optional field: read as this build's class
        GenericRecord poll = new GenericData.Record(v2.get(V2Schemas.FORCE_POLL));
        UUID commandId = UUID.randomUUID();
        poll.put("header", new CommandHeader(commandId, java.time.Instant.ofEpochMilli(9), "v2-script"));
        poll.put("targets", List.of("T7"));
        poll.put("reason", "v2");
        Decoded read = codec.decode(MessageFamily.COMMAND, "msx.commands", 0, 2, v2Writer.encode(poll));
        ForcePoll forcePoll = (ForcePoll) ((Decoded.Message) read).value();
        assertThat(forcePoll.getHeader().getCommandId()).isEqualTo(commandId);
        assertThat(forcePoll.getTargets()).containsExactly("T7");
    }

    @Test
    void shouldRefuseAnIncompatibleChangeToASubject() {
        Schema current = ForcePoll.getClassSchema();
        List<Schema.Field> fields = new java.util.ArrayList<>(current.getFields().stream()
                .map(f -> new Schema.Field(f, f.schema())).toList());
        fields.add(new Schema.Field("mandatory", Schema.create(Schema.Type.INT), "no default", (Object) null));
        Schema breaking = Schema.createRecord(current.getName(), current.getDoc(), current.getNamespace(), false,
                fields);
        assertThat(registry.isCompatible(current.getFullName(), breaking)).isFalse();
        assertThatThrownBy(() -> registry.register(current.getFullName(), breaking))
                .isInstanceOf(SchemaRegistryException.class)
                .satisfies(e -> assertThat(((SchemaRegistryException) e).status()).isEqualTo(409));
    }

    @Test
    void shouldRefuseAnUnknownSchemaIdAndNameTheRecordForSingleTypes() {
        byte[] bytes = codec.encode(Messages.forcePoll("T1"));
        ByteBuffer.wrap(bytes, 1, 4).putInt(876_543_210);
        Decoded decoded = codec.decode(MessageFamily.COMMAND, "t", 3, 9, bytes);
        assertThat(((Decoded.Malformed) decoded).reason()).contains("schema id 876543210 unknown");
        AvroCodec<io.msx.avro.CommandResult> results = AvroCodec.of(io.msx.avro.CommandResult.class, codec);
        assertThatThrownBy(() -> results.decode("t", 3, 9, bytes))
                .isInstanceOf(WireFormatException.class).hasMessageContaining("t-3@9");
    }

    @Test
    void shouldSurfaceWireErrorsAsKafkaSerializationExceptions() {
        AvroDeserializer<io.msx.avro.CommandResult> deserializer = new AvroDeserializer<>(
                AvroCodec.of(io.msx.avro.CommandResult.class, codec));
        assertThat(deserializer.deserialize("t", null)).isNull();
        assertThatThrownBy(() -> deserializer.deserialize("t", new byte[] {9, 9, 9, 9, 9, 9}))
                .isInstanceOf(SerializationException.class)
                .hasCauseInstanceOf(WireFormatException.class);
    }
}
