package io.msx.master;

import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.avro.CommandStatus;
import io.msx.avro.InstructionHeader;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.command.EnlistTarget;
import io.msx.avro.command.StartJob;
import io.msx.avro.command.UpsertJob;
import io.msx.local.KafkaProcessStack;
import io.msx.local.LocalStack;
import io.msx.master.client.CommandClient;
import io.msx.schemas.AvroCodec;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.schemas.SchemaRegistryConfig;
import io.msx.schemas.Topics;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Commands sent to a master that may die at any moment, and the proof afterwards that each was answered once and
 * each of its instructions is on each target topic once (read_committed): for the crash and fail-over tests.
 */
final class FanOutLedger implements AutoCloseable {

    final Topics topics;
    final List<String> targets;
    /** Kafka client settings: bootstrap servers and, on the secured local stack, the super-user's credentials. */
    private final Map<String, Object> kafka;
    private final SchemaRegistryClient registry;
    private final MsxCodec codec;
    private final KafkaProducer<String, byte[]> producer;
    private final List<UUID> fanOuts = new ArrayList<>();

    FanOutLedger(LocalStack stack, int targetCount) {
        this(Configs.kafka(stack), stack.schemaRegistryUrl(), targetCount);
    }

    /** On a plaintext child broker. */
    FanOutLedger(KafkaProcessStack stack, int targetCount) {
        this(Configs.kafka(stack), stack.schemaRegistryUrl(), targetCount);
    }

    private FanOutLedger(Map<String, Object> kafka, String schemaRegistryUrl, int targetCount) {
        this.kafka = kafka;
        this.topics = new Topics(LocalStack.uniqueTopicPrefix());
        this.targets = IntStream.range(0, targetCount).mapToObj(i -> "t" + i).toList();
        this.registry = new SchemaRegistryClient(SchemaRegistryConfig.of(schemaRegistryUrl));
        this.codec = MsxCodec.of(registry, true);
        this.producer = new KafkaProducer<>(kafka, new StringSerializer(), new ByteArraySerializer());
    }

    /** Waits until a master answers commands (it has created its topics then). */
    void awaitAnswering() {
        try (CommandClient client = new CommandClient(kafka, registry, topics)) {
            await().atMost(Duration.ofSeconds(90)).ignoreExceptions().alias("a master answering commands")
                    .until(() -> client.submit(EnlistTarget.newBuilder().setHeader(header()).setTarget(targets.get(0))
                            .build(), Duration.ofSeconds(5)).isPresent());
        }
    }

    /** Enlists every target and assigns them job "fan". */
    void enlistAndAssign() throws Exception {
        List<UUID> enlists = new ArrayList<>();
        for (String target : targets) {
            enlists.add(send(h -> EnlistTarget.newBuilder().setHeader(h).setTarget(target).build()));
        }
        awaitAnswered(enlists, Duration.ofSeconds(120));
        UpsertJob upsert = UpsertJob.newBuilder().setHeader(header()).setJob(JobDefinition.newBuilder()
                .setJobId("fan").setName("fan").setTargets(targets).setSteps(List.of(JobStep.newBuilder()
                        .setStepId(1).setName("s").setCommand(List.of("true")).build())).build()).build();
        try (CommandClient client = new CommandClient(kafka, registry, topics)) {
            assertThat(client.submit(upsert, Duration.ofSeconds(60)).orElseThrow().getStatus())
                    .isEqualTo(CommandStatus.ACCEPTED);
        }
        fanOuts.add(upsert.getHeader().getCommandId());
    }

    /** Sends {@code count} StartJob commands of job "fan" (each an instruction to every target). */
    void startFanOuts(int count) throws Exception {
        for (int i = 0; i < count; i++) {
            fanOuts.add(send(h -> StartJob.newBuilder().setHeader(h).setJobId("fan").build()));
        }
    }

    UUID send(Function<CommandHeader, SpecificRecord> command) throws Exception {
        CommandHeader header = header();
        producer.send(new ProducerRecord<>(topics.commands(), header.getCommandId().toString(),
                codec.encode(command.apply(header)))).get();
        return header.getCommandId();
    }

    /** Waits until each command has a result, and returns how many results each has. */
    Map<UUID, Integer> awaitAnswered(List<UUID> ids, Duration timeout) {
        AvroCodec<CommandResult> results = AvroCodec.of(CommandResult.class, registry, false);
        Map<UUID, Integer> answers = new HashMap<>();
        try (KafkaConsumer<byte[], byte[]> reader = committedReader()) {
            List<TopicPartition> partitions = reader.partitionsFor(topics.commandResults()).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            reader.assign(partitions);
            reader.seekToBeginning(partitions);
            await().atMost(timeout).alias(ids.size() + " commands answered").until(() -> {
                reader.poll(Duration.ofMillis(100)).forEach(r -> answers.merge(results.decode(r.topic(),
                        r.partition(), r.offset(), r.value()).getCommandId(), 1, Integer::sum));
                return answers.keySet().containsAll(ids);
            });
        }
        return answers;
    }

    /**
     * Every fan-out was answered exactly once, and every target topic holds each fan-out's instruction exactly once.
     */
    void assertExactlyOnce(String seed) {
        Map<UUID, Integer> answers = awaitAnswered(fanOuts, Duration.ofSeconds(180));
        assertThat(fanOuts).allSatisfy(id -> assertThat(answers.get(id)).as("results for %s (%s)", id, seed)
                .isEqualTo(1));
        MsxCodec instructions = MsxCodec.of(registry, false);
        Map<String, Map<UUID, Integer>> perTarget = new HashMap<>();
        List<TopicPartition> partitions = targets.stream().map(t -> new TopicPartition(topics.target(t), 0))
                .toList();
        Set<UUID> expected = new HashSet<>(fanOuts);
        try (KafkaConsumer<byte[], byte[]> reader = committedReader()) {
            reader.assign(partitions);
            reader.seekToBeginning(partitions);
            // A killed master's open transaction holds read_committed readers back until it is aborted: wait until
            // every instruction is readable, then read to the end to see any duplicate.
            await().atMost(Duration.ofSeconds(90)).alias("every fan-out readable on every target topic").until(() -> {
                poll(reader, instructions, perTarget);
                return targets.stream().allMatch(t -> perTarget.getOrDefault(topics.target(t), Map.of()).keySet()
                        .containsAll(expected));
            });
            Map<TopicPartition, Long> ends = reader.endOffsets(partitions);
            await().atMost(Duration.ofSeconds(60)).alias("every target topic read to its end").until(() -> {
                poll(reader, instructions, perTarget);
                return partitions.stream().allMatch(tp -> reader.position(tp) >= ends.get(tp));
            });
        }
        for (String target : targets) {
            Map<UUID, Integer> perCommand = perTarget.getOrDefault(topics.target(target), Map.of());
            assertThat(perCommand.keySet()).as("commands on %s (%s)", target, seed).isEqualTo(expected);
            assertThat(perCommand.values()).as("instructions per command on %s", target).containsOnly(1);
        }
    }

    private static void poll(KafkaConsumer<byte[], byte[]> reader, MsxCodec instructions,
                             Map<String, Map<UUID, Integer>> perTarget) {
        reader.poll(Duration.ofMillis(200)).forEach(r -> perTarget.computeIfAbsent(r.topic(), t -> new HashMap<>())
                .merge(commandIdOf(instructions.decode(MessageFamily.INSTRUCTION, r.topic(), r.partition(),
                        r.offset(), r.value())), 1, Integer::sum));
    }

    private static UUID commandIdOf(Decoded instruction) {
        InstructionHeader header = MessageFamily.INSTRUCTION.header(((Decoded.Message) instruction).value());
        return header.getCommandId();
    }

    static CommandHeader header() {
        return CommandHeader.newBuilder().setCommandId(UUID.randomUUID())
                .setIssuedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS)).build();
    }

    private KafkaConsumer<byte[], byte[]> committedReader() {
        Map<String, Object> config = new HashMap<>(kafka);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        return new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    @Override
    public void close() {
        producer.close();
    }
}
