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
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import io.msx.master.client.CommandClient;
import io.msx.schemas.AvroCodec;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.schemas.SchemaRegistryConfig;
import io.msx.schemas.Topics;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The master (a child JVM) is killed with SIGKILL while it fans commands out to 50 targets, three times: after a
 * restart every command is answered once, and every target topic holds each command's instruction exactly once
 * (read_committed), because instructions, results and offsets commit in one transaction.
 */
@ExtendWith(LocalStackExtension.class)
class MasterCrashIT {

    private static final int TARGETS = 50;
    private static final int KILLS = 3;
    // 20 starts x 50 targets = 1,000 instructions per round: a kill within 300 ms lands while they are being written
    // (measured: records of aborted transactions are left in the target topics, invisible to read_committed).
    private static final int STARTS_PER_ROUND = 20;

    @Test
    void shouldPostEveryInstructionExactlyOnceAcrossMasterKills(LocalStack stack) throws Exception {
        Topics topics = new Topics(LocalStack.uniqueTopicPrefix());
        SchemaRegistryClient registry = new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl()));
        MsxCodec commands = MsxCodec.of(registry, true);
        List<String> targets = IntStream.range(0, TARGETS).mapToObj(i -> "t" + i).toList();
        long seed = System.nanoTime();
        Random random = new Random(seed);
        List<UUID> fanOuts = new ArrayList<>();

        AvroCodec<CommandResult> results = AvroCodec.of(CommandResult.class, registry, false);
        Map<UUID, Integer> answers = new HashMap<>();
        Process master = startMaster(stack, topics);
        try (CommandClient client = new CommandClient(stack.bootstrapServers(), registry, topics)) {
            awaitReady(client, targets.get(0)); // the master has created its topics once it answers
        }
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers()),
                new StringSerializer(), new ByteArraySerializer());
             KafkaConsumer<byte[], byte[]> answered = resultsReader(stack, topics);
             CommandClient client = new CommandClient(stack.bootstrapServers(), registry, topics)) {
            List<UUID> enlists = new ArrayList<>();
            for (String target : targets) {
                enlists.add(send(producer, commands, topics, h -> EnlistTarget.newBuilder().setHeader(h)
                        .setTarget(target).build()));
            }
            await().atMost(Duration.ofSeconds(120)).alias("50 targets enlisted").until(() -> {
                collect(answered, results, answers);
                return answers.keySet().containsAll(enlists);
            });
            UpsertJob upsert = UpsertJob.newBuilder().setHeader(header()).setJob(JobDefinition.newBuilder()
                    .setJobId("fan").setName("fan").setTargets(targets).setSteps(List.of(JobStep.newBuilder()
                            .setStepId(1).setName("s").setCommand(List.of("true")).build())).build()).build();
            assertThat(client.submit(upsert, Duration.ofSeconds(30)).orElseThrow().getStatus())
                    .isEqualTo(CommandStatus.ACCEPTED);
            fanOuts.add(upsert.getHeader().getCommandId());

            for (int kill = 0; kill < KILLS; kill++) {
                awaitReady(client, targets.get(0)); // this master processes commands now
                List<UUID> round = new ArrayList<>();
                for (int i = 0; i < STARTS_PER_ROUND; i++) {
                    round.add(send(producer, commands, topics, h -> StartJob.newBuilder().setHeader(h)
                            .setJobId("fan").build()));
                }
                fanOuts.addAll(round);
                Thread.sleep(random.nextInt(300)); // the random moment of the kill is the point of this test
                master.destroyForcibly(); // SIGKILL, most likely mid fan-out
                master.waitFor();
                master = startMaster(stack, topics);
            }
        }
        try {
            answers.clear();
            try (KafkaConsumer<byte[], byte[]> reader = resultsReader(stack, topics)) {
                await().atMost(Duration.ofSeconds(120)).alias("every fan-out answered (seed " + seed + ")")
                        .until(() -> {
                            collect(reader, results, answers);
                            return answers.keySet().containsAll(fanOuts);
                        });
            }
            assertThat(fanOuts).allSatisfy(id -> assertThat(answers.get(id)).as("results for %s", id).isEqualTo(1));

            MsxCodec instructions = MsxCodec.of(registry, false);
            Map<String, Map<UUID, Integer>> perTarget = new HashMap<>();
            List<TopicPartition> partitions = targets.stream().map(t -> new TopicPartition(topics.target(t), 0))
                    .toList();
            try (KafkaConsumer<byte[], byte[]> reader = committedReader(stack)) {
                reader.assign(partitions);
                reader.seekToBeginning(partitions);
                Map<TopicPartition, Long> ends = reader.endOffsets(partitions);
                await().atMost(Duration.ofSeconds(60)).alias("every target topic read to its end").until(() -> {
                    reader.poll(Duration.ofMillis(200)).forEach(r -> perTarget
                            .computeIfAbsent(r.topic(), t -> new HashMap<>())
                            .merge(commandIdOf(instructions.decode(MessageFamily.INSTRUCTION, r.topic(),
                                    r.partition(), r.offset(), r.value())), 1, Integer::sum));
                    return partitions.stream().allMatch(tp -> reader.position(tp) >= ends.get(tp));
                });
            }
            Set<UUID> expected = new HashSet<>(fanOuts);
            for (String target : targets) {
                Map<UUID, Integer> perCommand = perTarget.getOrDefault(topics.target(target), Map.of());
                assertThat(perCommand.keySet()).as("commands on %s (seed %s)", target, seed).isEqualTo(expected);
                assertThat(perCommand.values()).as("instructions per command on %s", target).containsOnly(1);
            }
        } finally {
            master.destroyForcibly();
            master.waitFor();
        }
    }

    private static void awaitReady(CommandClient client, String target) {
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().alias("master answering commands")
                .until(() -> client.submit(EnlistTarget.newBuilder().setHeader(header()).setTarget(target).build(),
                        Duration.ofSeconds(5)).isPresent());
    }

    private static UUID send(KafkaProducer<String, byte[]> producer, MsxCodec codec, Topics topics,
                             Function<CommandHeader, SpecificRecord> command) throws Exception {
        CommandHeader header = header();
        producer.send(new ProducerRecord<>(topics.commands(), header.getCommandId().toString(),
                codec.encode(command.apply(header)))).get();
        return header.getCommandId();
    }

    private static UUID commandIdOf(Decoded instruction) {
        InstructionHeader header = MessageFamily.INSTRUCTION.header(((Decoded.Message) instruction).value());
        return header.getCommandId();
    }

    private static KafkaConsumer<byte[], byte[]> resultsReader(LocalStack stack, Topics topics) {
        KafkaConsumer<byte[], byte[]> reader = committedReader(stack);
        List<TopicPartition> partitions = reader.partitionsFor(topics.commandResults()).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
        reader.assign(partitions);
        reader.seekToBeginning(partitions);
        return reader;
    }

    private static void collect(KafkaConsumer<byte[], byte[]> reader, AvroCodec<CommandResult> results,
                                Map<UUID, Integer> answers) {
        reader.poll(Duration.ofMillis(100)).forEach(r -> answers.merge(results.decode(r.topic(), r.partition(),
                r.offset(), r.value()).getCommandId(), 1, Integer::sum));
    }

    private static CommandHeader header() {
        return CommandHeader.newBuilder().setCommandId(UUID.randomUUID())
                .setIssuedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS)).build();
    }

    private static KafkaConsumer<byte[], byte[]> committedReader(LocalStack stack) {
        return new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"),
                new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    private static Process startMaster(LocalStack stack, Topics topics) throws Exception {
        return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), MasterChild.class.getName(), stack.bootstrapServers(),
                stack.schemaRegistryUrl(), topics.prefix())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
    }
}
