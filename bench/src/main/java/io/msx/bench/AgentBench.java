package io.msx.bench;

import io.msx.avro.InstructionHeader;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.instruction.JobInsert;
import io.msx.avro.status.InstructionAck;
import io.msx.local.Directories;
import io.msx.local.LocalStack;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.schemas.SchemaRegistryConfig;
import io.msx.schemas.Topics;
import io.msx.agent.TargetAgent;
import io.msx.agent.TargetAgentConfig;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;

/**
 * The target agent against raw Kafka, in one run on the local stack:
 * <ul>
 *   <li>instruction apply rate (each JobInsert's effect, offset and ack in one synced RocksDB batch, then relayed)
 *       vs a raw consumer reading the same topic;</li>
 *   <li>idle resident memory of an agent JVM vs an idle JVM holding only a raw consumer, same JVM flags.</li>
 * </ul>
 */
final class AgentBench {

    private static final int INSTRUCTIONS = 5000;
    private static final Duration IDLE = Duration.ofSeconds(5);
    private static final String JVM_HEAP = "-Xmx256m";

    private AgentBench() {
    }

    static void main() throws Exception {
        Path root = Files.createTempDirectory("msx-bench-agent-");
        try (LocalStack stack = LocalStack.start()) {
            Topics topics = new Topics("bench.");
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                    stack.bootstrapServers()))) {
                admin.createTopics(List.of(new NewTopic(topics.status(), 1, (short) 1),
                        new NewTopic(topics.target("T1"), 1, (short) 1))).all().get();
            }
            MsxCodec codec = MsxCodec.of(new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl())),
                    true);
            produceInstructions(stack, topics, codec);

            double rawRate = rawReadRate(stack, topics);

            Process agent = child(stack, topics, "agent-child", root.resolve("agent").toString());
            double applyRate;
            long agentRss;
            try {
                applyRate = applyRate(stack, topics, codec);
                Thread.sleep(IDLE.toMillis()); // let it settle idle before reading its memory
                agentRss = rssKb(agent.pid());
            } finally {
                agent.destroy();
                agent.waitFor();
            }
            Process consumer = child(stack, topics, "consumer-child", "");
            long consumerRss;
            try {
                Thread.sleep(IDLE.toMillis() + 3000); // same idle time after its start-up and read
                consumerRss = rssKb(consumer.pid());
            } finally {
                consumer.destroy();
                consumer.waitFor();
            }

            Table table = new Table();
            table.add("apply " + INSTRUCTIONS + " JobInserts vs raw read", "instr/s", rawRate, applyRate);
            table.add("idle RSS (JVM " + JVM_HEAP + ")", "KiB", consumerRss, agentRss);
            System.out.println();
            System.out.printf("msx agent benchmark: %d cores%n", Runtime.getRuntime().availableProcessors());
            table.print("baseline (raw consumer)");
        } finally {
            Directories.deleteRecursively(root);
        }
    }

    private static void produceInstructions(LocalStack stack, Topics topics, MsxCodec codec) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(), ProducerConfig.LINGER_MS_CONFIG, 5),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < INSTRUCTIONS; i++) {
                JobDefinition job = JobDefinition.newBuilder().setJobId("job-" + i).setName("job-" + i)
                        .setSteps(List.of(JobStep.newBuilder().setStepId(1).setName("s")
                                .setCommand(List.of("true")).build())).build();
                InstructionHeader header = InstructionHeader.newBuilder().setInstructionId(UUID.randomUUID())
                        .setTarget("T1").setPostedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS)).build();
                producer.send(new ProducerRecord<>(topics.target("T1"), codec.encode(JobInsert.newBuilder()
                        .setHeader(header).setJob(job).build())));
            }
            producer.flush();
        }
    }

    private static double rawReadRate(LocalStack stack, Topics topics) {
        TopicPartition tp = new TopicPartition(topics.target("T1"), 0);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            consumer.position(tp);
            long start = System.nanoTime();
            int read = 0;
            while (read < INSTRUCTIONS) {
                read += consumer.poll(Duration.ofMillis(100)).count();
            }
            return read / ((System.nanoTime() - start) / 1e9);
        }
    }

    /** Apply rate from the agent's own ack timestamps: first to last of INSTRUCTIONS acks. */
    private static double applyRate(LocalStack stack, Topics topics, MsxCodec codec) {
        TopicPartition tp = new TopicPartition(topics.status(), 0);
        List<Instant> applied = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers()),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            while (applied.size() < INSTRUCTIONS) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("only " + applied.size() + " acks within 5 minutes");
                }
                consumer.poll(Duration.ofMillis(200)).forEach(r -> {
                    Decoded decoded = codec.decode(MessageFamily.STATUS, r.topic(), r.partition(), r.offset(),
                            r.value());
                    if (decoded instanceof Decoded.Message m && m.value() instanceof InstructionAck ack) {
                        applied.add(ack.getAppliedAt());
                    }
                });
            }
        }
        double seconds = Duration.between(applied.get(0), applied.get(applied.size() - 1)).toMillis() / 1000.0;
        return (applied.size() - 1) / seconds;
    }

    private static Process child(LocalStack stack, Topics topics, String role, String dataDir) throws Exception {
        return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), JVM_HEAP,
                "-cp", System.getProperty("java.class.path"), Bench.class.getName(), role, stack.bootstrapServers(),
                stack.schemaRegistryUrl(), topics.prefix(), dataDir)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
    }

    private static long rssKb(long pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS for pid " + pid);
    }

    /** Child: a target agent, until killed. */
    static void agentChild(String[] args) throws InterruptedException {
        TargetAgent agent = new TargetAgent(new TargetAgentConfig(Map.of(
                TargetAgentConfig.TARGET_NAME_CONFIG, "T1",
                TargetAgentConfig.BOOTSTRAP_SERVERS_CONFIG, args[1],
                TargetAgentConfig.SCHEMA_REGISTRY_URL_CONFIG, args[2],
                TargetAgentConfig.TOPIC_PREFIX_CONFIG, args[3],
                TargetAgentConfig.DATA_DIR_CONFIG, args[4])), Clock.systemUTC());
        agent.start();
        new CountDownLatch(1).await();
    }

    /** Child: a raw consumer that reads the same topic to its end, then idles polling, until killed. */
    static void consumerChild(String[] args) {
        TopicPartition tp = new TopicPartition(new Topics(args[3]).target("T1"), 0);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args[1]),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            while (true) {
                consumer.poll(Duration.ofMillis(500));
            }
        }
    }
}
