package io.msx.master;

import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.avro.CommandStatus;
import io.msx.avro.command.ForcePoll;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import io.msx.master.client.CommandClient;
import io.msx.schemas.DeadLetters;
import io.msx.schemas.AvroCodec;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.schemas.SchemaRegistryConfig;
import io.msx.schemas.Topics;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Garbage on the commands topic is dead-lettered with its reason, answered when its id is readable, and skipped. */
@ExtendWith(LocalStackExtension.class)
class MalformedCommandIT {

    private LocalStack stack;
    private Topics topics;
    private MasterPublisher master;

    @BeforeEach
    void startMaster(LocalStack stack) {
        this.stack = stack;
        topics = new Topics(LocalStack.uniqueTopicPrefix());
        master = new MasterPublisher(new MasterConfig(Configs.master(stack, topics.prefix(), "dlq-it")),
                Clock.systemUTC());
        master.start();
    }

    @AfterEach
    void stop() {
        master.close();
    }

    @Test
    void shouldDeadLetterGarbageAnswerItAndKeepProcessing() throws Exception {
        String garbageId = UUID.randomUUID().toString();
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Configs.kafka(stack),
                new StringSerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(topics.commands(), garbageId,
                    "not avro".getBytes(StandardCharsets.UTF_8))).get();
        }

        // A valid command after the garbage is still answered: the loop did not stop.
        SchemaRegistryClient registry = new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl()));
        CommandResult valid;
        try (CommandClient client = new CommandClient(Configs.kafka(stack), registry, topics)) {
            valid = client.submit(ForcePoll.newBuilder().setHeader(CommandHeader.newBuilder()
                    .setCommandId(UUID.randomUUID()).setIssuedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS)).build())
                    .setTargets(List.of("nobody")).build(), Duration.ofSeconds(60)).orElseThrow();
        }
        assertThat(valid.getReason()).isEqualTo("unknown target 'nobody' (no targets are enlisted)");

        List<ConsumerRecord<byte[], byte[]>> dead = readAll(Topics.deadLetter(topics.commands()), 1);
        assertThat(dead).singleElement().satisfies(r -> {
            assertThat(new String(r.key(), StandardCharsets.UTF_8)).isEqualTo(garbageId);
            assertThat(new String(r.value(), StandardCharsets.UTF_8)).isEqualTo("not avro");
            assertThat(new String(r.headers().lastHeader(DeadLetters.REASON_HEADER).value(), StandardCharsets.UTF_8))
                    .contains("magic byte");
            assertThat(new String(r.headers().lastHeader(DeadLetters.TOPIC_HEADER).value(), StandardCharsets.UTF_8))
                    .isEqualTo(topics.commands());
        });

        AvroCodec<CommandResult> results = AvroCodec.of(CommandResult.class, registry, false);
        List<CommandResult> answers = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : readAll(topics.commandResults(), 2)) {
            answers.add(results.decode(r.topic(), r.partition(), r.offset(), r.value()));
        }
        assertThat(answers).anySatisfy(a -> {
            assertThat(a.getCommandId().toString()).isEqualTo(garbageId);
            assertThat(a.getStatus()).isEqualTo(CommandStatus.REJECTED);
            assertThat(a.getReason()).startsWith("malformed command:");
        });
    }

    private List<ConsumerRecord<byte[], byte[]>> readAll(String topic, int atLeast) {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Configs.kafka(stack,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            await().atMost(Duration.ofSeconds(30)).alias(atLeast + " record(s) on " + topic).until(() -> {
                consumer.poll(Duration.ofMillis(100)).forEach(records::add);
                return records.size() >= atLeast;
            });
        }
        return records;
    }
}
