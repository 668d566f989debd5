package io.msx.master;

import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.avro.command.ForcePoll;
import io.msx.local.LocalStack;
import io.msx.schemas.AvroCodec;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.schemas.SchemaRegistryConfig;
import io.msx.schemas.Topics;
import io.msx.agent.TargetAgent;
import io.msx.agent.TargetAgentConfig;
import io.msx.security.InstructionSignatures;
import io.msx.security.SignatureHeaders;
import io.msx.security.Signer;
import io.msx.security.TestKeys;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A master and named agents on the shared local stack, under a unique topic prefix, with what the end-to-end tests
 * need around them: a raw producer that writes any bytes to any topic, the codec, and readers of whole topics.
 */
final class Fleet implements AutoCloseable {

    final LocalStack stack;
    final Topics topics;
    final MasterPublisher master;
    final Map<String, TargetAgent> agents = new LinkedHashMap<>();
    final SchemaRegistryClient registry;
    final MsxCodec codec;
    private final KafkaProducer<byte[], byte[]> producer;

    private Fleet(LocalStack stack, Path data, List<String> targets, Map<String, Object> masterOverrides) {
        this.stack = stack;
        this.topics = new Topics(LocalStack.uniqueTopicPrefix());
        this.registry = new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl()));
        this.codec = MsxCodec.of(registry, false);
        Map<String, Object> masterConfig = Configs.master(stack, topics.prefix(), "fleet");
        masterConfig.putAll(masterOverrides);
        this.master = new MasterPublisher(new MasterConfig(masterConfig), Clock.systemUTC());
        master.start();
        for (String name : targets) {
            TargetAgent agent = new TargetAgent(new TargetAgentConfig(Configs.agent(stack, topics.prefix(), name,
                    data.resolve(name))), Clock.systemUTC());
            agents.put(name, agent);
            agent.start();
        }
        // Large, compressible values reach the broker: the records a careless script could write.
        producer = new KafkaProducer<>(Configs.kafka(stack, ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4",
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 16 * 1024 * 1024),
                new ByteArraySerializer(), new ByteArraySerializer());
        await().atMost(Duration.ofSeconds(60)).alias("targets enlisted, resynced and consuming")
                .until(() -> master.targets().stream().filter(t -> t.status() == TargetStatus.NORMAL)
                        .map(TargetView::name).toList().containsAll(targets)
                        && agents.values().stream().allMatch(a -> consuming(a) && !a.awaitingResync()));
    }

    private static boolean consuming(TargetAgent agent) {
        try {
            return agent.awaitConsuming(Duration.ZERO);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static Fleet start(LocalStack stack, Path data, String... targets) {
        return start(stack, data, Map.of(), targets);
    }

    static Fleet start(LocalStack stack, Path data, Map<String, Object> masterOverrides, String... targets) {
        return new Fleet(stack, data, List.of(targets), masterOverrides);
    }

    static byte[] utf8(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    static CommandHeader header(UUID commandId) {
        return CommandHeader.newBuilder().setCommandId(commandId).setIssuedAt(Instant.now().truncatedTo(
                ChronoUnit.MILLIS)).setIssuedBy("it").build();
    }

    /** Writes one record as is and waits for the broker's acknowledgement; returns where it was written. */
    RecordMetadata send(String topic, byte[] key, byte[] value) {
        try {
            return producer.send(new ProducerRecord<>(topic, key, value)).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot write to " + topic + ": " + e.getCause(), e.getCause());
        }
    }

    /**
     * Writes a status event of {@code target} signed with the target's key (the one {@link Configs#agent} gives its
     * agents), as that target's agent would sign it.
     */
    RecordMetadata sendSignedStatus(String target, byte[] value) {
        Signer signer = Configs.targetKey(target);
        byte[] key = utf8(target);
        RecordHeaders headers = new RecordHeaders();
        SignatureHeaders.write(headers, signer.keyId(), io.msx.security.StatusSignatures.sign(signer, key, value),
                null);
        try {
            return producer.send(new ProducerRecord<>(topics.status(), null, key, value, headers)).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot write to " + topics.status() + ": " + e.getCause(), e.getCause());
        }
    }

    /**
     * Writes an instruction for {@code target} to its topic signed as the master signs (the test master key, the
     * target's next sequence number after the last on its topic): as another master version sharing the key would.
     */
    RecordMetadata sendSignedInstruction(String target, byte[] value) {
        String topic = topics.target(target);
        long seq = readAll(topic).stream().map(r -> SignatureHeaders.read(r.headers()))
                .filter(s -> s != null && s.sequence() != null).mapToLong(SignatureHeaders.Signed::sequence)
                .max().orElse(0) + 1;
        Signer signer = TestKeys.masterSigner();
        RecordHeaders headers = new RecordHeaders();
        SignatureHeaders.write(headers, signer.keyId(), InstructionSignatures.sign(signer, target, seq, value), seq);
        try {
            return producer.send(new ProducerRecord<>(topic, null, utf8("-"), value, headers)).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot write to " + topic + ": " + e.getCause(), e.getCause());
        }
    }

    /** Publishes a ForcePoll for {@code targets} and returns its command id. */
    UUID forcePoll(String... targets) {
        UUID id = UUID.randomUUID();
        send(topics.commands(), utf8(id.toString()), codec.encode(ForcePoll.newBuilder().setHeader(header(id))
                .setTargets(List.of(targets)).build()));
        return id;
    }

    /** Force-polls a target end to end: the command is accepted and the target's answering check-in arrives. */
    void awaitForcePolled(String target) {
        CommandResult result = awaitResult(forcePoll(target));
        assertThat(result.getStatus().name()).as("force poll of %s: %s", target, result.getReason())
                .isEqualTo("ACCEPTED");
        String posted = result.getInstructions().get(0).getInstructionId().toString();
        await().atMost(Duration.ofSeconds(60)).alias(target + " answers force poll " + posted)
                .until(() -> posted.equals(master.target(target).orElseThrow().lastAnsweredInstructionId()));
    }

    /** The one result of a command, waiting for it. */
    CommandResult awaitResult(UUID commandId) {
        List<CommandResult> found = new ArrayList<>();
        await().atMost(Duration.ofSeconds(60)).alias("result of command " + commandId).until(() -> {
            found.clear();
            found.addAll(results().getOrDefault(commandId, List.of()));
            return !found.isEmpty();
        });
        return found.get(0);
    }

    /** Every command result on the results topic, by command id. */
    Map<UUID, List<CommandResult>> results() {
        AvroCodec<CommandResult> results = AvroCodec.of(CommandResult.class, codec);
        Map<UUID, List<CommandResult>> byId = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : readAll(topics.commandResults())) {
            CommandResult result = results.decode(r.topic(), r.partition(), r.offset(), r.value());
            byId.computeIfAbsent(result.getCommandId(), k -> new ArrayList<>()).add(result);
        }
        return byId;
    }

    /** Everything committed on a topic now (an absent topic reads empty). */
    List<ConsumerRecord<byte[], byte[]>> readAll(String topic) {
        return readAll(stack, topic);
    }

    /** Everything committed on a topic of the local stack now (an absent topic reads empty). */
    static List<ConsumerRecord<byte[], byte[]>> readAll(LocalStack stack, String topic) {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Configs.kafka(stack,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 16 * 1024 * 1024),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(10)).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            if (partitions.isEmpty()) {
                return records;
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            await().atMost(Duration.ofSeconds(30)).alias("reading " + topic).until(() -> {
                consumer.poll(Duration.ofMillis(100)).forEach(records::add);
                return partitions.stream().allMatch(p -> consumer.position(p) >= end.get(p));
            });
        }
        return records;
    }

    static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
        agents.values().forEach(TargetAgent::close);
        master.close();
    }
}
