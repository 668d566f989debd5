package io.msx.master.internal;

import io.msx.schemas.InMemorySchemaRegistry;
import io.msx.avro.InstructionHeader;
import io.msx.avro.JobDefinition;
import io.msx.avro.TargetRegistration;
import io.msx.avro.instruction.JobInsert;
import io.msx.avro.instruction.PollNow;
import io.msx.local.ManualClock;
import io.msx.master.InstructionView;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.Topics;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Rebuilding the master's state from mock topics (no broker): tombstones do what they mean where they mean something,
 * and every record that cannot be used (null where a tombstone means nothing, a tombstone without a key, bytes that
 * do not decode, a registration of a name no longer valid) is skipped instead of stopping the master.
 */
class StateLoaderTest {

    private final Topics topics = new Topics("t.");
    private final ManualClock clock = new ManualClock(Instant.parse("2026-11-25T10:00:00Z"));
    private final MsxCodec codec = MsxCodec.of(InMemorySchemaRegistry.withMsxSchemas(), true);
    private final Map<String, List<Entry>> data = new HashMap<>();

    private record Entry(String key, byte[] value) {
    }

    @Test
    void shouldSkipNullAndUndecodableRecordsWhileRebuilding() {
        put(topics.jobs(), "A", codec.encode(CommandProcessorTest.job("A", List.of("T1"))));
        put(topics.jobs(), "X", "garbage".getBytes(StandardCharsets.UTF_8));
        put(topics.jobs(), null, null);
        put(topics.jobs(), "B", codec.encode(CommandProcessorTest.job("B", List.of("T1"))));
        put(topics.jobs(), "B", null);
        put(topics.targets(), "T1", codec.encode(registration("T1")));
        put(topics.targets(), null, null);
        put(topics.targets(), "C_1", codec.encode(registration("C_1"))); // valid before '_' was refused
        put(topics.targets(), "T9", "garbage".getBytes(StandardCharsets.UTF_8));
        put(topics.targets(), "T2", codec.encode(registration("T2")));
        put(topics.targets(), "T2", null);
        put(topics.target("T1"), "-", codec.encode(PollNow.newBuilder().setHeader(header("T1")).build()));
        put(topics.target("T1"), "-", null);
        put(topics.target("T1"), "-", "garbage".getBytes(StandardCharsets.UTF_8));
        put(topics.target("T1"), "A", codec.encode(JobInsert.newBuilder().setHeader(header("T1"))
                .setJob(CommandProcessorTest.job("A", List.of("T1"))).build()));
        StateLoader loader = new StateLoader(this::consumer, topics, codec);
        JobRegistry jobs = new JobRegistry();
        TargetRegistry targets = new TargetRegistry(clock);
        targets.preRegister("T7", null); // pre-registered by a transaction that aborted: Kafka does not hold it
        DownloadList downloads = new DownloadList();

        loader.load(jobs, targets);
        loader.loadPosted(List.of(topics.target("T1")), downloads);

        assertThat(jobs.all()).extracting(JobDefinition::getJobId).containsExactly("A");
        assertThat(targets.names()).containsExactly("T1");
        assertThat(downloads.list("T1", null)).extracting(InstructionView::operation)
                .containsExactlyInAnyOrder("POLL", "JOB_INSERT");
    }

    private void put(String topic, String key, byte[] value) {
        data.computeIfAbsent(topic, t -> new ArrayList<>()).add(new Entry(key, value));
    }

    private TargetRegistration registration(String target) {
        return TargetRegistration.newBuilder().setTarget(target).setRegisteredAt(clock.instant()).build();
    }

    private InstructionHeader header(String target) {
        return InstructionHeader.newBuilder().setInstructionId(UUID.randomUUID()).setTarget(target)
                .setPostedAt(clock.instant()).build();
    }

    /** A consumer of every topic in {@link #data} (one partition each), handing out their records on first poll. */
    private Consumer<byte[], byte[]> consumer() {
        MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
        Map<TopicPartition, Long> begin = new HashMap<>();
        Map<TopicPartition, Long> end = new HashMap<>();
        data.forEach((topic, entries) -> {
            consumer.updatePartitions(topic, List.of(new PartitionInfo(topic, 0, null, null, null)));
            begin.put(new TopicPartition(topic, 0), 0L);
            end.put(new TopicPartition(topic, 0), (long) entries.size());
        });
        consumer.updateBeginningOffsets(begin);
        consumer.updateEndOffsets(end);
        consumer.schedulePollTask(() -> data.forEach((topic, entries) -> {
            if (consumer.assignment().contains(new TopicPartition(topic, 0))) {
                for (int i = 0; i < entries.size(); i++) {
                    Entry e = entries.get(i);
                    consumer.addRecord(new ConsumerRecord<>(topic, 0, i,
                            e.key() == null ? null : e.key().getBytes(StandardCharsets.UTF_8), e.value()));
                }
            }
        }));
        return consumer;
    }
}
