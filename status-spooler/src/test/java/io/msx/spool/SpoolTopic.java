package io.msx.spool;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.awaitility.Awaitility.await;

/** Test helper: a one-partition topic whose values are "id:seq" strings, read back the way the master reads status. */
final class SpoolTopic {

    /** One delivered event. */
    record Delivered(String id, long seq) {
    }

    private SpoolTopic() {
    }

    static void create(String bootstrap, String topic) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        }
    }

    static byte[] value(String id, long seq) {
        return (id + ":" + seq).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Every record of the topic, in offset order, waiting until at least {@code atLeast} are there. */
    static List<Delivered> readAll(String bootstrap, String topic, int atLeast) {
        List<Delivered> all = new ArrayList<>();
        TopicPartition tp = new TopicPartition(topic, 0);
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap), new StringDeserializer(), new StringDeserializer())) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            await().atMost(Duration.ofSeconds(60)).alias(atLeast + " records on " + topic).until(() -> {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    int colon = r.value().lastIndexOf(':');
                    all.add(new Delivered(r.value().substring(0, colon), Long.parseLong(r.value().substring(colon + 1))));
                }
                return all.size() >= atLeast && consumer.position(tp) >= consumer.endOffsets(List.of(tp)).get(tp);
            });
        }
        return all;
    }

    /** The master's rule: a sequence number at or below the highest seen is a replay and is dropped. */
    static List<Delivered> deduplicated(List<Delivered> delivered) {
        List<Delivered> kept = new ArrayList<>();
        long highest = 0;
        for (Delivered d : delivered) {
            if (d.seq() > highest) {
                kept.add(d);
                highest = d.seq();
            }
        }
        return kept;
    }
}
