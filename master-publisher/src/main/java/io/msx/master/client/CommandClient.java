package io.msx.master.client;

import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.schemas.AvroCodec;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.SchemaRegistry;
import io.msx.schemas.Topics;
import io.msx.schemas.WireFormatException;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.avro.specific.SpecificRecord;
import io.msx.security.CommandSignatures;
import io.msx.security.Signer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Publishes commands to {@code msx.commands} and waits for the master's answer on {@code msx.command-results}.
 * Not thread-safe: one command at a time (it is what the CLI and scripts need).
 */
public final class CommandClient implements AutoCloseable {

    private final Topics topics;
    private final KafkaProducer<String, byte[]> producer;
    private final KafkaConsumer<String, byte[]> consumer;
    private final MsxCodec codec;
    private final AvroCodec<CommandResult> results;
    private Signer signer;

    /** A client whose Kafka clients start from {@code kafka}: bootstrap servers and security settings. */
    public CommandClient(Map<String, Object> kafka, SchemaRegistry registry, Topics topics) {
        this.topics = topics;
        Map<String, Object> producerConfig = new java.util.HashMap<>(kafka);
        producerConfig.putAll(Map.of(
                ProducerConfig.CLIENT_ID_CONFIG, "msx-cli",
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.MAX_BLOCK_MS_CONFIG, 15_000));
        this.producer = new KafkaProducer<>(producerConfig, new StringSerializer(), new ByteArraySerializer());
        Map<String, Object> consumerConfig = new java.util.HashMap<>(kafka);
        consumerConfig.putAll(Map.of(
                ConsumerConfig.CLIENT_ID_CONFIG, "msx-cli-results",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false));
        this.consumer = new KafkaConsumer<>(consumerConfig, new StringDeserializer(), new ByteArrayDeserializer());
        this.codec = MsxCodec.of(registry, true);
        this.results = AvroCodec.of(CommandResult.class, codec);
    }

    /** Signs every command with an operator's key: the master records its fingerprint as who issued it. */
    public CommandClient signWith(Signer operatorKey) {
        this.signer = operatorKey;
        return this;
    }

    /**
     * Publishes {@code command} (a record of the {@link MessageFamily#COMMAND} family, e.g. a ForcePoll) and waits
     * for its result.
     *
     * @return the result, or empty when none arrived within {@code timeout} (is the master running?)
     * @throws IllegalStateException    when the commands topic does not exist (no master ever ran here)
     * @throws IllegalArgumentException when {@code command} is not a command
     */
    public Optional<CommandResult> submit(SpecificRecord command, Duration timeout) throws InterruptedException {
        CommandHeader header = MessageFamily.COMMAND.header(command);
        long deadline = System.nanoTime() + timeout.toNanos();
        List<TopicPartition> partitions = consumer.partitionsFor(topics.commandResults(), Duration.ofSeconds(10))
                .stream().map(p -> new TopicPartition(p.topic(), p.partition())).toList();
        if (partitions.isEmpty()) {
            throw new IllegalStateException("topic " + topics.commandResults() + " does not exist: is a master "
                    + "running against this Kafka with topic prefix '" + topics.prefix() + "'?");
        }
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        partitions.forEach(consumer::position); // fix the start before the command can be answered
        String id = header.getCommandId().toString();
        try {
            byte[] value = codec.encode(command);
            ProducerRecord<String, byte[]> record = new ProducerRecord<>(topics.commands(), id, value);
            if (signer != null) {
                CommandSignatures.sign(signer, null, value, record.headers());
            }
            producer.send(record)
                    .get(Math.max(1, remaining(deadline)), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot publish the command to " + topics.commands() + ": "
                    + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            return Optional.empty();
        }
        while (remaining(deadline) > 0) {
            for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(Math.min(200,
                    Math.max(1, remaining(deadline)))))) {
                if (id.equals(record.key())) {
                    try {
                        return Optional.of(results.decode(record.topic(), record.partition(), record.offset(),
                                record.value()));
                    } catch (WireFormatException e) {
                        throw new IllegalStateException("the master's answer is unreadable: " + e.getMessage(), e);
                    }
                }
            }
        }
        return Optional.empty();
    }

    private static long remaining(long deadlineNanos) {
        return (deadlineNanos - System.nanoTime()) / 1_000_000;
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
    }
}
