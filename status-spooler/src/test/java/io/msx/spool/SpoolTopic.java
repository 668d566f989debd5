package io.msx.spool;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.awaitility.Awaitility.await;

/** Test helper: a one-partition topic whose values are "id:seq" strings, read back the way the master reads status. */
final class SpoolTopic {

    /** One delivered event. */
    record Delivered(String id, long seq) {
    }

    private SpoolTopic() {
    }

    /**
     * Creates the topic; {@code kafka} is a client's settings: bootstrap servers and, on the secured local stack,
     * the super-user's credentials ({@code LocalStack.adminClientProperties()}).
     */
    static void create(Map<String, Object> kafka, String topic) throws Exception {
        try (Admin admin = Admin.create(kafka)) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        }
    }

    static byte[] value(String id, long seq) {
        return (id + ":" + seq).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Every record of the topic, in offset order, waiting until at least {@code atLeast} are there. */
    static List<Delivered> readAll(Map<String, Object> kafka, String topic, int atLeast) {
        List<Delivered> all = new ArrayList<>();
        TopicPartition tp = new TopicPartition(topic, 0);
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(kafka, new StringDeserializer(),
                new StringDeserializer())) {
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

    /** Writes a client's settings to a properties file, for a child JVM ({@link #readClientConfig(Path)}). */
    static Path writeClientConfig(Map<String, Object> kafka, Path file) throws IOException {
        Properties p = new Properties();
        kafka.forEach((k, v) -> p.setProperty(k, String.valueOf(v)));
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            p.store(out, "Kafka client settings of a test child JVM");
        }
        return file;
    }

    /** The client settings {@link #writeClientConfig(Map, Path)} wrote. */
    static Map<String, Object> readClientConfig(Path file) throws IOException {
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(in);
        }
        Map<String, Object> kafka = new HashMap<>();
        p.stringPropertyNames().forEach(k -> kafka.put(k, p.getProperty(k)));
        return kafka;
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
