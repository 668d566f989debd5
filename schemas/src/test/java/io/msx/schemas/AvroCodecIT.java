package io.msx.schemas;

import io.msx.avro.Command;
import io.msx.avro.ForcePoll;
import io.msx.avro.Instruction;
import io.msx.avro.PollNow;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import org.apache.avro.Schema;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The Confluent wire format against a real Apicurio Registry. */
@ExtendWith(LocalStackExtension.class)
class AvroCodecIT {

    private SchemaRegistryClient registry;
    private AvroCodec<Command> commands;

    @BeforeEach
    void setUp(LocalStack stack) {
        registry = new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl()));
        commands = AvroCodec.of(Command.class, registry, true);
    }

    private static Command forcePoll(String... targets) {
        return Command.newBuilder()
                .setCommandId(UUID.randomUUID())
                .setIssuedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS))
                .setBody(ForcePoll.newBuilder().setTargets(List.of(targets)).build())
                .build();
    }

    @Test
    void shouldRoundTripInTheConfluentWireFormat() {
        Command command = forcePoll("T1", "T2");
        byte[] bytes = commands.encode(command);

        assertThat(bytes[0]).isEqualTo((byte) 0);
        int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
        assertThat(registry.schemaById(id)).isEqualTo(Command.getClassSchema());
        assertThat(commands.decode("msx.commands", 0, 7, bytes)).isEqualTo(command);
    }

    @Test
    void shouldNameTopicPartitionAndOffsetOnABadMagicByte() {
        byte[] bytes = commands.encode(forcePoll("T1"));
        bytes[0] = 1;
        assertThatThrownBy(() -> commands.decode("msx.commands", 2, 42, bytes))
                .isInstanceOf(WireFormatException.class)
                .hasMessageContaining("msx.commands-2@42")
                .hasMessageContaining("magic byte 0x01");
    }

    @Test
    void shouldRefuseATruncatedHeaderAndATruncatedBody() {
        byte[] bytes = commands.encode(forcePoll("T1"));
        assertThatThrownBy(() -> commands.decode("t", 0, 1, new byte[] {0, 0}))
                .isInstanceOf(WireFormatException.class).hasMessageContaining("truncated: 2 bytes");
        byte[] cut = Arrays.copyOf(bytes, bytes.length - 3);
        assertThatThrownBy(() -> commands.decode("t", 0, 2, cut))
                .isInstanceOf(WireFormatException.class).hasMessageContaining("t-0@2")
                .hasMessageContaining("truncated or corrupt Avro body");
    }

    @Test
    void shouldRefuseTrailingBytes() {
        byte[] bytes = commands.encode(forcePoll("T1"));
        byte[] longer = Arrays.copyOf(bytes, bytes.length + 2);
        assertThatThrownBy(() -> commands.decode("t", 0, 3, longer))
                .isInstanceOf(WireFormatException.class).hasMessageContaining("trailing bytes");
    }

    @Test
    void shouldRefuseAnUnknownSchemaId() {
        byte[] bytes = commands.encode(forcePoll("T1"));
        ByteBuffer.wrap(bytes, 1, 4).putInt(876_543_210);
        assertThatThrownBy(() -> commands.decode("t", 3, 9, bytes))
                .isInstanceOf(WireFormatException.class)
                .hasMessageContaining("t-3@9")
                .hasMessageContaining("schema id 876543210 unknown");
    }

    @Test
    void shouldRefuseARecordOfAnotherType() {
        AvroCodec<Instruction> instructions = AvroCodec.of(Instruction.class, registry, true);
        byte[] instruction = instructions.encode(Instruction.newBuilder()
                .setInstructionId(UUID.randomUUID()).setTarget("T1")
                .setPostedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS))
                .setBody(PollNow.newBuilder().build()).build());
        assertThatThrownBy(() -> commands.decode("t", 0, 5, instruction))
                .isInstanceOf(WireFormatException.class)
                .hasMessageContaining("io.msx.avro.Instruction");
    }

    @Test
    void shouldReadDataWrittenWithAnOlderCompatibleSchema() {
        // An older writer of the same record, lacking a field that the current one has with a default.
        Schema current = Command.getClassSchema();
        Schema older = Schema.createRecord(current.getName(), current.getDoc(), current.getNamespace(), false,
                current.getFields().stream().filter(f -> !f.name().equals("issuedBy"))
                        .map(f -> new Schema.Field(f, f.schema())).toList());
        assertThat(older.getField("issuedBy")).as("test set-up removed the field").isNull();
        int olderId = registry.register("it-older-" + UUID.randomUUID(), older);

        Command written = forcePoll("T9");
        org.apache.avro.generic.GenericRecord generic = new org.apache.avro.generic.GenericData.Record(older);
        generic.put("commandId", written.getCommandId().toString());
        generic.put("issuedAt", written.getIssuedAt().toEpochMilli());
        org.apache.avro.generic.GenericRecord body =
                new org.apache.avro.generic.GenericData.Record(ForcePoll.getClassSchema());
        body.put("targets", List.of("T9"));
        generic.put("body", body);
        var out = new java.io.ByteArrayOutputStream();
        out.write(0);
        out.writeBytes(ByteBuffer.allocate(4).putInt(olderId).array());
        var encoder = org.apache.avro.io.EncoderFactory.get().binaryEncoder(out, null);
        try {
            new org.apache.avro.generic.GenericDatumWriter<org.apache.avro.generic.GenericRecord>(older)
                    .write(generic, encoder);
            encoder.flush();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }

        Command read = commands.decode("t", 0, 0, out.toByteArray());
        assertThat(read.getCommandId()).isEqualTo(written.getCommandId());
        assertThat(read.getIssuedBy()).isNull();
        assertThat(((ForcePoll) read.getBody()).getTargets()).containsExactly("T9");
    }

    @Test
    void shouldSurfaceWireErrorsAsKafkaSerializationExceptions() {
        AvroDeserializer<Command> deserializer = new AvroDeserializer<>(commands);
        assertThat(deserializer.deserialize("t", null)).isNull();
        assertThatThrownBy(() -> deserializer.deserialize("t", new byte[] {9, 9, 9, 9, 9, 9}))
                .isInstanceOf(SerializationException.class)
                .hasCauseInstanceOf(WireFormatException.class);
    }
}
