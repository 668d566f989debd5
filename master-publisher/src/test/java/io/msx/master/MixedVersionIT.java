package io.msx.master;

import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.avro.InstructionHeader;
import io.msx.avro.StatusHeader;
import io.msx.avro.status.Enlist;
import io.msx.avro.status.InstructionAck;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import io.msx.schemas.CompatibilityLevel;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.Topics;
import io.msx.schemas.V2Schemas;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecordBuilder;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Targets and master upgrade in any order: a "v2" release (src/test/resources/v2 of the schemas module) adds an
 * instruction, a status event and a command type, and an optional field to current types. The registry accepts v2
 * under FULL_TRANSITIVE; this build's agent acknowledges the new instruction as unsupported and applies the next one;
 * this build's master dead-letters the new status event and the new command (answering it) and keeps serving; current
 * types written by v2 decode.
 */
@ExtendWith(LocalStackExtension.class)
class MixedVersionIT {

    @TempDir
    Path data;

    private Fleet fleet;
    private Map<String, Schema> v2;
    private MsxCodec v2Writer;

    @BeforeEach
    void startAndPublishV2(LocalStack stack) {
        fleet = Fleet.start(stack, data, "T1");
        v2 = V2Schemas.load();
        for (Schema schema : v2.values()) {
            fleet.registry.setCompatibility(schema.getFullName(), CompatibilityLevel.FULL_TRANSITIVE);
            assertThat(fleet.registry.isCompatible(schema.getFullName(), schema)).as(schema.getFullName()).isTrue();
            fleet.registry.register(schema.getFullName(), schema);
        }
        v2Writer = MsxCodec.of(fleet.registry, false);
    }

    @AfterEach
    void stop() {
        fleet.close();
    }

    private static InstructionHeader instructionHeader(String target) {
        return InstructionHeader.newBuilder().setInstructionId(UUID.randomUUID()).setTarget(target)
                .setPostedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS)).build();
    }

    @Test
    void shouldAckAnUnknownInstructionAsUnsupportedAndApplyTheNext() {
        String topic = fleet.topics.target("T1");
        GenericRecordBuilder rotate = new GenericRecordBuilder(v2.get(V2Schemas.ROTATE_LOGS));
        InstructionHeader rotateHeader = instructionHeader("T1");
        rotate.set("header", rotateHeader);
        rotate.set("keepFiles", 3);
        // signed as a v2 master sharing the key would sign them
        long rotateOffset = fleet.sendSignedInstruction("T1", v2Writer.encode(rotate.build())).offset();
        GenericRecordBuilder poll = new GenericRecordBuilder(v2.get(V2Schemas.POLL_NOW));
        InstructionHeader pollHeader = instructionHeader("T1");
        poll.set("header", pollHeader);
        poll.set("drainSpool", true);
        poll.set("reason", "a v2 field");
        fleet.sendSignedInstruction("T1", v2Writer.encode(poll.build()));

        await().atMost(Duration.ofSeconds(60)).alias("T1 answers the v2 PollNow after the unknown instruction")
                .until(() -> pollHeader.getInstructionId().toString()
                        .equals(fleet.master.target("T1").orElseThrow().lastAnsweredInstructionId()));
        List<InstructionAck> acks = new ArrayList<>();
        await().atMost(Duration.ofSeconds(30)).alias("both acks on the status topic").until(() -> {
            acks.clear();
            acks.addAll(acks("T1"));
            return acks.size() >= 2;
        });
        assertThat(acks).filteredOn(a -> a.getInstructionId().equals(rotateHeader.getInstructionId()))
                .singleElement().satisfies(a -> {
                    assertThat(a.getStatus().name()).isEqualTo("FAILED");
                    assertThat(a.getOffset()).isEqualTo(rotateOffset);
                    assertThat(a.getError()).contains("unknown message type " + V2Schemas.ROTATE_LOGS)
                            .contains("not supported by this agent version");
                });
        assertThat(acks).filteredOn(a -> a.getInstructionId().equals(pollHeader.getInstructionId()))
                .singleElement().satisfies(a -> assertThat(a.getStatus().name()).isEqualTo("APPLIED"));
        List<ConsumerRecord<byte[], byte[]>> dead = fleet.readAll(Topics.deadLetter(topic));
        assertThat(dead).singleElement().satisfies(r -> {
            assertThat(Fleet.header(r, "msx.dlq.reason")).contains(V2Schemas.ROTATE_LOGS);
            assertThat(Fleet.header(r, "msx.dlq.offset")).isEqualTo(Long.toString(rotateOffset));
        });
    }

    @Test
    void shouldDeadLetterAnUnknownStatusEventAndReadAnEvolvedOne() {
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        // a v2 target "T9": a current Enlist, then the new DiskReport, then a CheckIn with a v2 field
        fleet.sendSignedStatus("T9", fleet.codec.encode(Enlist.newBuilder()
                .setHeader(new StatusHeader("T9", 1L, now, null)).setAgentVersion("2.0.0").setTimeZone("UTC")
                .setPollingIntervalSeconds(60).setPublicKey(java.nio.ByteBuffer.wrap(io.msx.security.Ed25519Keys
                        .publicKeyDer(Configs.targetKey("T9").publicKey()))).build()));
        GenericRecordBuilder disk = new GenericRecordBuilder(v2.get(V2Schemas.DISK_REPORT));
        disk.set("header", new StatusHeader("T9", 2L, now, null));
        disk.set("freeBytes", 123L);
        disk.set("volumes", List.of("/"));
        fleet.sendSignedStatus("T9", v2Writer.encode(disk.build()));
        GenericRecordBuilder checkIn = new GenericRecordBuilder(v2.get(V2Schemas.CHECK_IN));
        Instant localTime = now.plusSeconds(1);
        checkIn.set("header", new StatusHeader("T9", 3L, localTime, null));
        checkIn.set("trigger", new GenericData.EnumSymbol(v2.get(V2Schemas.CHECK_IN).getField("trigger").schema(),
                "SCHEDULED"));
        checkIn.set("answersInstructionId", null);
        checkIn.set("localTime", localTime);
        checkIn.set("timeZone", "UTC");
        checkIn.set("agentVersion", "2.0.0");
        checkIn.set("pollingIntervalSeconds", 60);
        checkIn.set("loadAverage", 0.5);
        fleet.sendSignedStatus("T9", v2Writer.encode(checkIn.build()));

        await().atMost(Duration.ofSeconds(60)).alias("the master read T9's v2 check-in")
                .until(() -> fleet.master.target("T9").map(t -> "SCHEDULED".equals(t.lastPollTrigger()))
                        .orElse(false));
        List<ConsumerRecord<byte[], byte[]>> dead = new ArrayList<>();
        await().atMost(Duration.ofSeconds(30)).alias("DiskReport dead-lettered").until(() -> {
            dead.clear();
            dead.addAll(fleet.readAll(Topics.deadLetter(fleet.topics.status())));
            return !dead.isEmpty();
        });
        assertThat(dead).singleElement().satisfies(r -> assertThat(Fleet.header(r, "msx.dlq.reason"))
                .contains("unknown message type " + V2Schemas.DISK_REPORT));
        fleet.awaitForcePolled("T1"); // and the master keeps serving
    }

    @Test
    void shouldAnswerAnUnknownCommandAsRejectedAndAcceptAnEvolvedOne() {
        UUID drainId = UUID.randomUUID();
        GenericRecordBuilder drain = new GenericRecordBuilder(v2.get(V2Schemas.DRAIN));
        drain.set("header", new CommandHeader(drainId, Instant.now().truncatedTo(ChronoUnit.MILLIS), "v2"));
        drain.set("targets", List.of("T1"));
        fleet.send(fleet.topics.commands(), Fleet.utf8(drainId.toString()), v2Writer.encode(drain.build()));
        UUID pollId = UUID.randomUUID();
        GenericRecordBuilder poll = new GenericRecordBuilder(v2.get(V2Schemas.FORCE_POLL));
        poll.set("header", new CommandHeader(pollId, Instant.now().truncatedTo(ChronoUnit.MILLIS), "v2"));
        poll.set("targets", List.of("T1"));
        poll.set("reason", "a v2 field");
        fleet.send(fleet.topics.commands(), Fleet.utf8(pollId.toString()), v2Writer.encode(poll.build()));

        CommandResult rejected = fleet.awaitResult(drainId);
        assertThat(rejected.getStatus().name()).isEqualTo("REJECTED");
        assertThat(rejected.getReason()).contains("unknown message type " + V2Schemas.DRAIN)
                .contains("not supported by this master version");
        CommandResult accepted = fleet.awaitResult(pollId);
        assertThat(accepted.getStatus().name()).as(accepted.getReason()).isEqualTo("ACCEPTED");
        assertThat(fleet.readAll(Topics.deadLetter(fleet.topics.commands()))).singleElement()
                .satisfies(r -> assertThat(Fleet.header(r, "msx.dlq.reason")).contains(V2Schemas.DRAIN));
        fleet.awaitForcePolled("T1");
    }

    private List<InstructionAck> acks(String target) {
        List<InstructionAck> acks = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : fleet.readAll(fleet.topics.status())) {
            Decoded decoded = fleet.codec.decode(MessageFamily.STATUS, r.topic(), r.partition(), r.offset(),
                    r.value());
            if (decoded instanceof Decoded.Message m && m.value() instanceof InstructionAck ack
                    && ack.getHeader().getTarget().equals(target)) {
                acks.add(ack);
            }
        }
        return acks;
    }
}
