package io.msx.local;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class KafkaProcessIT {

    @TempDir
    Path dir;

    @Test
    void shouldKeepItsRecordsAndPortsAcrossASigkillAndRestart() throws Exception {
        String topic = LocalStack.uniqueTopicPrefix() + "outage";
        try (KafkaProcess kafka = KafkaProcess.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            Map<String, Object> client = kafka.adminClientProperties();
            try (Admin admin = Admin.create(client)) {
                admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            }
            try (KafkaProducer<String, String> producer = producer(client)) {
                for (int i = 0; i < 10; i++) {
                    producer.send(new ProducerRecord<>(topic, "k", "before-" + i)).get(30, TimeUnit.SECONDS);
                }

                kafka.kill();

                assertThat(kafka.isAlive()).isFalse();
                assertThatThrownBy(() -> producer.send(new ProducerRecord<>(topic, "k", "lost")).get(30,
                        TimeUnit.SECONDS))
                        .as("a send while the broker is down times out")
                        .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(TimeoutException.class);

                kafka.restart();

                assertThat(kafka.bootstrapServers()).isEqualTo(bootstrap);
                // the same producer reconnects by itself; the first sends may still meet a leader being elected
                await().atMost(Duration.ofSeconds(30)).alias("a send succeeds after the restart").ignoreExceptions()
                        .until(() -> producer.send(new ProducerRecord<>(topic, "k", "after")).get(5, TimeUnit.SECONDS)
                                != null);
            }
            List<String> values = new ArrayList<>();
            try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(client, new StringDeserializer(),
                    new StringDeserializer())) {
                TopicPartition tp = new TopicPartition(topic, 0);
                consumer.assign(List.of(tp));
                consumer.seekToBeginning(List.of(tp));
                await().atMost(Duration.ofSeconds(30)).alias("records read back after the restart").until(() -> {
                    consumer.poll(Duration.ofMillis(100)).forEach(r -> values.add(r.value()));
                    return values.contains("after");
                });
            }
            assertThat(values.subList(0, 10)).containsExactly("before-0", "before-1", "before-2", "before-3",
                    "before-4", "before-5", "before-6", "before-7", "before-8", "before-9");
            assertThat(values).doesNotContain("lost").last().isEqualTo("after");
            assertThat(kafka.logFile()).isRegularFile();
        }
        assertThat(dir.resolve("kafka")).as("data deleted on close").doesNotExist();
    }

    @Nested
    @ExtendWith({LocalStackExtension.class, KafkaProcessExtension.class})
    class WithTheExtension {

        @Test
        void shouldGiveTheSameBrokerToBothParameterTypes(KafkaProcessStack stack, KafkaProcess kafka,
                                                        LocalStack shared) {
            assertThat(stack.kafka()).isSameAs(kafka);
            assertThat(kafka.isAlive()).isTrue();
            assertThat(stack.bootstrapServers()).isNotEqualTo(shared.bootstrapServers());
            assertThat(stack.schemaRegistryUrl()).isEqualTo(shared.schemaRegistryUrl());
            assertThat(Files.isDirectory(kafka.dataDir())).isTrue();
        }
    }

    private static KafkaProducer<String, String> producer(Map<String, Object> client) {
        Map<String, Object> p = new java.util.HashMap<>(client);
        p.putAll(Map.<String, Object>of(
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.LINGER_MS_CONFIG, 0,
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 1_000,
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 3_000,
                ProducerConfig.MAX_BLOCK_MS_CONFIG, 3_000,
                ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 200));
        return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    }
}
