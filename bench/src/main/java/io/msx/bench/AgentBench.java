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
import io.msx.security.InstructionSignatures;
import io.msx.security.SignatureHeaders;
import io.msx.security.Signer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
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
 *   <li>instruction apply rate (the JobInserts of one poll, their effects, offsets and acks in one synced RocksDB
 *       batch, then relayed) vs a raw consumer reading the same topic; the agent starts fresh (at the end of its
 *       topic), a warm-up transaction of instructions is applied first, then the measured one, each readable at
 *       once (one transaction);</li>
 *   <li>idle resident memory of an agent JVM vs an idle JVM holding only a raw consumer, same JVM flags.</li>
 * </ul>
 * The broker is secured (SASL SCRAM, ACLs): every client connects as its super-user. The instructions are signed as the
 * master signs them (a key pair of the run, which the agent trusts), so the apply rate includes checking them.
 */
final class AgentBench {

    /** Override with {@code -Dmsx.bench.instructions=N}. */
    private static final int INSTRUCTIONS = Integer.getInteger("msx.bench.instructions", 5000);
    /** Applied (and read) first, not measured: JIT, schema registrations, first RocksDB writes. */
    private static final int WARMUP = Integer.getInteger("msx.bench.warmup.instructions", 1000);
    /** Extra JVM options of the agent child, e.g. {@code -Dmsx.bench.child.jvm.args=-XX:StartFlightRecording=...}. */
    private static final String CHILD_JVM_ARGS = System.getProperty("msx.bench.child.jvm.args", "");
    private static final Duration IDLE = Duration.ofSeconds(5);
    private static final String JVM_HEAP = "-Xmx256m";

    private AgentBench() {
    }

    /** Signs the posted instructions as the master would, numbering them upwards (one target, T1). */
    private static final class Signing {
        private final Signer signer;
        private long seq;

        Signing(Path key) {
            this.signer = Signer.fromFile(key);
        }

        ProducerRecord<byte[], byte[]> record(String topic, String target, byte[] value) {
            seq++;
            RecordHeaders headers = new RecordHeaders();
            SignatureHeaders.write(headers, signer.keyId(), InstructionSignatures.sign(signer, target, seq, value),
                    seq);
            return new ProducerRecord<>(topic, null, (byte[]) null, value, headers);
        }
    }

    static void main() throws Exception {
        Path root = Files.createTempDirectory("msx-bench-agent-");
        try (LocalStack stack = LocalStack.start()) {
            Topics topics = new Topics("bench.");
            Path key = Clients.masterKey(root);
            Signing signing = new Signing(key);
            // the children's Kafka security settings and the key the agent trusts
            Path security = Clients.write(stack.adminSecuritySettings(), root.resolve("kafka.properties"));
            try (Admin admin = Admin.create(stack.adminClientProperties())) {
                admin.createTopics(List.of(new NewTopic(topics.status(), 1, (short) 1),
                        new NewTopic(topics.target("T1"), 1, (short) 1))).all().get();
            }
            MsxCodec codec = MsxCodec.of(new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl())),
                    true);
            // A fresh agent starts at the END of its topic (it waits for the master's resync): start it, wait until
            // it is positioned (ready), then post every instruction in one transaction, so all become readable at
            // once and the production rate does not bound the apply rate.
            int httpPort = freePort();
            Process agent = child(stack, topics, "agent-child", root.resolve("agent").toString(), security,
                    Integer.toString(httpPort), Clients.publicKey(key).toString());
            double applyRate;
            double rawRate;
            long agentRss;
            try {
                awaitReady(agent, httpPort);
                produceInstructions(stack, topics, codec, signing, "warm-up-", WARMUP);
                applyRate(stack, topics, codec, 0, WARMUP);
                long measuredFrom = endOffset(stack, topics);
                produceInstructions(stack, topics, codec, signing, "job-", INSTRUCTIONS);
                applyRate = applyRate(stack, topics, codec, measuredFrom, INSTRUCTIONS);
                rawRate = rawReadRate(stack, topics, measuredFrom);
                Thread.sleep(IDLE.toMillis()); // let it settle idle before reading its memory
                agentRss = rssKb(agent.pid());
            } finally {
                agent.destroy();
                agent.waitFor();
            }
            Process consumer = child(stack, topics, "consumer-child", "", security);
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

    private static long endOffset(LocalStack stack, Topics topics) {
        TopicPartition tp = new TopicPartition(topics.target("T1"), 0);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(stack.adminClientProperties(),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            return consumer.endOffsets(List.of(tp)).get(tp);
        }
    }

    /** {@code count} signed JobInserts in one transaction: readable (read_committed) all at once. */
    private static void produceInstructions(LocalStack stack, Topics topics, MsxCodec codec, Signing signing,
                                            String jobPrefix, int count) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Clients.with(stack.adminClientProperties(),
                ProducerConfig.LINGER_MS_CONFIG, 5,
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, "msx-bench-agent-" + UUID.randomUUID()),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.initTransactions();
            producer.beginTransaction();
            for (int i = 0; i < count; i++) {
                JobDefinition job = JobDefinition.newBuilder().setJobId(jobPrefix + i).setName(jobPrefix + i)
                        .setSteps(List.of(JobStep.newBuilder().setStepId(1).setName("s")
                                .setCommand(List.of("true")).build())).build();
                InstructionHeader header = InstructionHeader.newBuilder().setInstructionId(UUID.randomUUID())
                        .setTarget("T1").setPostedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS)).build();
                producer.send(signing.record(topics.target("T1"), "T1", codec.encode(JobInsert.newBuilder()
                        .setHeader(header).setJob(job).build())));
            }
            producer.commitTransaction();
        }
    }

    /** Reads the whole topic once (warm-up), then times reading the measured instructions from {@code from}. */
    private static double rawReadRate(LocalStack stack, Topics topics, long from) {
        TopicPartition tp = new TopicPartition(topics.target("T1"), 0);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Clients.with(stack.adminClientProperties(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            int warm = 0;
            while (warm < WARMUP + INSTRUCTIONS) {
                warm += consumer.poll(Duration.ofMillis(100)).count();
            }
            consumer.seek(tp, from);
            consumer.position(tp);
            long start = System.nanoTime();
            int read = 0;
            while (read < INSTRUCTIONS) {
                read += consumer.poll(Duration.ofMillis(100)).count();
            }
            return read / ((System.nanoTime() - start) / 1e9);
        }
    }

    /** Apply rate from the agent's own ack timestamps: first to last of the acks of instructions from {@code from}. */
    private static double applyRate(LocalStack stack, Topics topics, MsxCodec codec, long from, int count) {
        TopicPartition tp = new TopicPartition(topics.status(), 0);
        List<Instant> applied = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(stack.adminClientProperties(),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            while (applied.size() < count) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("only " + applied.size() + " acks within 5 minutes");
                }
                consumer.poll(Duration.ofMillis(200)).forEach(r -> {
                    Decoded decoded = codec.decode(MessageFamily.STATUS, r.topic(), r.partition(), r.offset(),
                            r.value());
                    if (decoded instanceof Decoded.Message m && m.value() instanceof InstructionAck ack
                            && ack.getOffset() >= from) {
                        applied.add(ack.getAppliedAt());
                    }
                });
            }
        }
        if (Boolean.getBoolean("msx.bench.verbose")) {
            // where the time goes: acks of one batch carry nearly the same time, the gaps are between batches
            long within = 0;
            List<Long> gaps = new ArrayList<>();
            for (int i = 1; i < applied.size(); i++) {
                long gap = Duration.between(applied.get(i - 1), applied.get(i)).toMillis();
                if (gap >= 3) {
                    gaps.add(gap);
                } else {
                    within += gap;
                }
            }
            System.out.printf("acks: %d; gaps of 3 ms or more: %d, %d ms in all: %s; the rest %d ms%n",
                    applied.size(), gaps.size(), gaps.stream().mapToLong(Long::longValue).sum(), gaps, within);
        }
        double seconds = Duration.between(applied.get(0), applied.get(applied.size() - 1)).toMillis() / 1000.0;
        return (applied.size() - 1) / seconds;
    }

    /**
     * A child JVM: {@code role}, bootstrap servers, registry, topic prefix, data dir, the properties file of its Kafka
     * security settings, then {@code more}.
     */
    private static Process child(LocalStack stack, Topics topics, String role, String dataDir, Path security,
                                 String... more) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), JVM_HEAP));
        if (role.equals("agent-child") && !CHILD_JVM_ARGS.isBlank()) {
            command.addAll(List.of(CHILD_JVM_ARGS.trim().split("\\s+")));
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Bench.class.getName(), role,
                stack.bootstrapServers(), stack.schemaRegistryUrl(), topics.prefix(), dataDir, security.toString()));
        command.addAll(List.of(more));
        // -Dmsx.bench.child.log=FILE keeps the agent child's output (for diagnosis); discarded otherwise
        String log = System.getProperty("msx.bench.child.log");
        ProcessBuilder.Redirect output = role.equals("agent-child") && log != null
                ? ProcessBuilder.Redirect.appendTo(new java.io.File(log)) : ProcessBuilder.Redirect.DISCARD;
        return new ProcessBuilder(command).redirectOutput(output).redirectError(output).start();
    }

    private static int freePort() throws java.io.IOException {
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** Waits until the agent's /health says ready: it consumes its topic, positioned at its end. */
    private static void awaitReady(Process agent, int port) throws Exception {
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.net.http.HttpRequest request = java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + port + "/health")).timeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (System.nanoTime() < deadline) {
            if (!agent.isAlive()) {
                throw new IllegalStateException("agent child exited with " + agent.exitValue());
            }
            try {
                if (http.send(request, java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (java.io.IOException e) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("agent not ready within 1 minute");
    }

    private static long rssKb(long pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS for pid " + pid);
    }

    /** Child: a target agent, until killed; after the common arguments its HTTP port and the trusted key file. */
    static void agentChild(String[] args) throws InterruptedException {
        TargetAgent agent = new TargetAgent(TargetAgentConfig.load(Map.of(
                TargetAgentConfig.TARGET_NAME_CONFIG, "T1",
                TargetAgentConfig.BOOTSTRAP_SERVERS_CONFIG, args[1],
                TargetAgentConfig.SCHEMA_REGISTRY_URL_CONFIG, args[2],
                TargetAgentConfig.TOPIC_PREFIX_CONFIG, args[3],
                TargetAgentConfig.DATA_DIR_CONFIG, args[4],
                TargetAgentConfig.HTTP_PORT_CONFIG, Integer.parseInt(args[6]),
                TargetAgentConfig.TRUSTED_KEYS_FILE_CONFIG, args[7]), Path.of(args[5]), Map.of()),
                Clock.systemUTC());
        agent.start();
        new CountDownLatch(1).await();
    }

    /** Child: a raw consumer that reads the same topic to its end, then idles polling, until killed. */
    static void consumerChild(String[] args) {
        TopicPartition tp = new TopicPartition(new Topics(args[3]).target("T1"), 0);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Clients.with(Clients.read(Path.of(args[5])),
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args[1]), new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            while (true) {
                consumer.poll(Duration.ofMillis(500));
            }
        }
    }
}
