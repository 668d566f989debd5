package io.msx.master.internal;

import io.msx.schemas.InMemorySchemaRegistry;
import io.msx.schemas.DeadLetters;
import io.msx.avro.StatusHeader;
import io.msx.avro.TargetRegistration;
import io.msx.avro.command.ResyncTargets;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.CheckInTrigger;
import io.msx.avro.status.Enlist;
import io.msx.local.ManualClock;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.Topics;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The status loop against a mock consumer (no broker): no record stops it; what it cannot apply is dead-lettered. */
class StatusLoopTest {

    private final Topics topics = new Topics("t.");
    private final TopicPartition status = new TopicPartition(topics.status(), 0);
    private final ManualClock clock = new ManualClock(Instant.parse("2026-11-25T10:00:00Z"));
    private final TargetRegistry registry = new TargetRegistry(clock);
    private final MsxCodec codec = MsxCodec.of(InMemorySchemaRegistry.withMsxSchemas(), true);
    private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
    private final MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
            new ByteArraySerializer());
    private final List<String> topicsCreated = new ArrayList<>();

    @Test
    void shouldDeadLetterWhatItCannotApplyAndGoOn() {
        StatusLoop loop = new StatusLoop(consumer, producer, topics, registry, targets -> {
            if (targets.contains("T9")) {
                throw new IllegalStateException("boom");
            }
            topicsCreated.addAll(targets);
        }, codec, clock, new DownloadList());

        run(loop,
                codec.encode(enlist("T1", 1)),
                codec.encode(enlist("C_1", 1)),
                "not avro".getBytes(StandardCharsets.UTF_8),
                null,
                codec.encode(futureEvent("T1")),
                codec.encode(checkIn("T1", 2)),
                codec.encode(enlist("T9", 1)),
                codec.encode(checkIn("T1", 3)));

        assertThat(registry.names()).containsExactly("T1");
        assertThat(registry.view("T1").orElseThrow().lastSeq()).as("events after the bad ones applied").isEqualTo(3);
        assertThat(registry.view("T1").orElseThrow().lastPollTrigger()).isEqualTo("FORCED");
        assertThat(topicsCreated).containsExactly("T1");
        assertThat(producer.history()).filteredOn(r -> r.topic().equals(topics.targets()))
                .extracting(r -> codec.decodeAs(TargetRegistration.class, r.topic(), -1, -1, r.value()).getTarget())
                .containsExactly("T1");
        assertThat(loop.deadLettered()).isEqualTo(4);
        assertThat(deadLetterReasons()).satisfiesExactly(
                r -> assertThat(r).contains("invalid target name 'C_1'").contains("would collide with 'C.1'"),
                r -> assertThat(r).contains("magic byte"),
                r -> assertThat(r).contains("unknown message type io.msx.avro.status.FutureEvent"),
                r -> assertThat(r).isEqualTo("cannot apply Enlist: java.lang.IllegalStateException: boom"));
    }

    @Test
    void shouldRefuseAnImplausibleSeqToTheDeadLetterTopicAndApplyTheTargetsNextEvent() {
        StatusLoop loop = loop();

        run(loop, codec.encode(enlist("T1", 1)), codec.encode(checkIn("T1", Long.MAX_VALUE)),
                codec.encode(checkIn("T1", 2)));

        assertThat(registry.view("T1").orElseThrow().lastSeq()).isEqualTo(2);
        assertThat(loop.deadLettered()).isEqualTo(1);
        assertThat(deadLetterReasons()).singleElement().asString()
                .contains("seq 9,223,372,036,854,775,807 of target T1").contains("refused as forged or corrupt");
    }

    @Test
    void shouldAskForOneResyncWhenALiveCheckInRequestsItButNotForReplayedOnes() {
        StatusLoop loop = loop();

        run(loop, 2, codec.encode(enlist("T1", 1)), codec.encode(asking("T1", 2)), // the replayed history
                codec.encode(asking("T1", 3)), codec.encode(asking("T1", 4)));

        List<ProducerRecord<byte[], byte[]>> commands = producer.history().stream()
                .filter(r -> r.topic().equals(topics.commands())).toList();
        assertThat(commands).as("one command: the second live request is within 3 polling intervals").hasSize(1);
        ResyncTargets resync = codec.decodeAs(ResyncTargets.class, topics.commands(), -1, -1,
                commands.get(0).value());
        assertThat(resync.getTargets()).containsExactly("T1");
        assertThat(resync.getHeader().getIssuedBy()).isEqualTo("master (T1 asked: new installation)");
        assertThat(new String(commands.get(0).key(), StandardCharsets.UTF_8))
                .isEqualTo(resync.getHeader().getCommandId().toString());
        assertThat(registry.view("T1").orElseThrow().status()).isEqualTo(io.msx.master.TargetStatus.RESYNC_PENDING);
    }

    @Test
    void shouldNotAskForAResyncWhenOnlyReplayedCheckInsRequestedIt() {
        run(loop(), 3, codec.encode(enlist("T1", 1)), codec.encode(asking("T1", 2)), codec.encode(asking("T1", 3)),
                codec.encode(checkIn("T1", 4)));

        assertThat(producer.history()).noneMatch(r -> r.topic().equals(topics.commands()));
    }

    private StatusLoop loop() {
        return new StatusLoop(consumer, producer, topics, registry, topicsCreated::addAll, codec, clock,
                new DownloadList());
    }

    private void run(StatusLoop loop, byte[]... values) {
        run(loop, 0, values);
    }

    /** Runs the loop over {@code values}; the first {@code replayed} of them were on the topic when it started. */
    private void run(StatusLoop loop, long replayed, byte[]... values) {
        consumer.updatePartitions(topics.status(), List.of(new PartitionInfo(topics.status(), 0, null, null, null)));
        consumer.updateBeginningOffsets(Map.of(status, 0L));
        consumer.updateEndOffsets(Map.of(status, replayed));
        consumer.schedulePollTask(() -> {
            for (int i = 0; i < values.length; i++) {
                consumer.addRecord(new ConsumerRecord<>(status.topic(), 0, i, "T1".getBytes(StandardCharsets.UTF_8),
                        values[i]));
            }
        });
        consumer.schedulePollTask(loop::shutdown);
        loop.run();
    }

    private List<String> deadLetterReasons() {
        return producer.history().stream().filter(r -> r.topic().equals(Topics.deadLetter(topics.status())))
                .map(ProducerRecord::headers)
                .map(h -> new String(h.lastHeader(DeadLetters.REASON_HEADER).value(), StandardCharsets.UTF_8))
                .toList();
    }

    private StatusHeader header(String target, long seq) {
        return StatusHeader.newBuilder().setTarget(target).setSeq(seq).setOccurredAt(clock.instant()).build();
    }

    private SpecificRecord enlist(String target, long seq) {
        return Enlist.newBuilder().setHeader(header(target, seq)).setAgentVersion("1").setTimeZone("UTC")
                .setPollingIntervalSeconds(60).build();
    }

    private SpecificRecord checkIn(String target, long seq) {
        return CheckIn.newBuilder().setHeader(header(target, seq)).setTrigger(CheckInTrigger.FORCED)
                .setLocalTime(clock.instant()).setTimeZone("UTC").setAgentVersion("1").setPollingIntervalSeconds(60)
                .build();
    }

    private SpecificRecord asking(String target, long seq) {
        return CheckIn.newBuilder((CheckIn) checkIn(target, seq)).setTrigger(CheckInTrigger.SCHEDULED)
                .setResyncRequested(true).setResyncReason("new installation").build();
    }

    /** A status event of a type a newer agent sends and this master does not know. */
    private static GenericRecord futureEvent(String target) {
        Schema schema = SchemaBuilder.record("FutureEvent").namespace("io.msx.avro.status").fields()
                .name("header").type(StatusHeader.getClassSchema()).noDefault()
                .endRecord();
        GenericRecord header = new GenericData.Record(StatusHeader.getClassSchema());
        header.put("target", target);
        header.put("seq", 99L);
        header.put("occurredAt", 0L);
        GenericRecord event = new GenericData.Record(schema);
        event.put("header", header);
        return event;
    }
}
