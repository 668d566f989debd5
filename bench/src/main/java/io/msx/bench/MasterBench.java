package io.msx.bench;

import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.avro.InstructionHeader;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.StatusHeader;
import io.msx.avro.command.ForcePoll;
import io.msx.avro.command.UpsertJob;
import io.msx.avro.instruction.JobInsert;
import io.msx.avro.instruction.PollNow;
import io.msx.avro.status.AckStatus;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.CheckInTrigger;
import io.msx.avro.status.Enlist;
import io.msx.avro.status.InstructionAck;
import io.msx.local.LocalStack;
import io.msx.master.MasterConfig;
import io.msx.master.MasterPublisher;
import io.msx.master.TargetView;
import io.msx.master.client.CommandClient;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.schemas.SchemaRegistryConfig;
import io.msx.schemas.Topics;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.IntStream;

/**
 * The master against raw Kafka, in one run on the local stack, with simulated targets (one consumer answering every
 * target's PollNow with an ack and a check-in, as an agent does, without its spool):
 * <ul>
 *   <li>force-poll round trip (command produced until the check-in is in the master's view) for 200 targets vs two
 *       raw produce-consume hops (the minimum such a round trip needs: command to target, check-in back);</li>
 *   <li>fan-out of one job to 1,000 targets (command produced until its result is committed) vs a raw idempotent
 *       producer sending the same 1,000 instruction records.</li>
 * </ul>
 */
final class MasterBench {

    private static final int POLL_TARGETS = 200;
    private static final int FANOUT_TARGETS = 1000;
    private static final int POLLS = 300;
    private static final int FANOUT_ROUNDS = 3;

    private MasterBench() {
    }

    static void main() throws Exception {
        try (LocalStack stack = LocalStack.start()) {
            Topics topics = new Topics("bench.");
            List<String> targets = IntStream.range(0, FANOUT_TARGETS).mapToObj(i -> String.format("s%04d", i)).toList();
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers()))) {
                List<NewTopic> all = new ArrayList<>();
                targets.forEach(t -> all.add(new NewTopic(topics.target(t), 1, (short) 1)));
                all.add(new NewTopic("bench.hop-a", 1, (short) 1));
                all.add(new NewTopic("bench.hop-b", 1, (short) 1));
                admin.createTopics(all).all().get();
            }
            SchemaRegistryClient registry = new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl()));
            MasterPublisher master = new MasterPublisher(new MasterConfig(Map.of(
                    MasterConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
                    MasterConfig.SCHEMA_REGISTRY_URL_CONFIG, stack.schemaRegistryUrl(),
                    MasterConfig.TOPIC_PREFIX_CONFIG, topics.prefix(),
                    MasterConfig.HTTP_PORT_CONFIG, 0)), Clock.systemUTC());
            master.start();
            Simulator simulator = new Simulator(stack, topics, registry, targets.subList(0, POLL_TARGETS));
            Thread simulatorThread = new Thread(simulator, "bench-simulated-targets");
            try {
                simulator.enlist(targets);
                long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
                while (master.targets().size() < FANOUT_TARGETS) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("targets did not enlist: " + master.targets().size());
                    }
                    Thread.sleep(100);
                }
                simulatorThread.start();

                long[] hops = rawTwoHops(stack);
                long[] polls = forcePolls(stack, topics, registry, master, targets.subList(0, POLL_TARGETS));
                double raw = rawFanOut(stack, topics, registry, targets);
                double fanOut = masterFanOut(stack, topics, registry, targets);

                Table table = new Table();
                table.addRaw("force-poll round trip p50, " + POLL_TARGETS + " targets", ms(percentile(hops, 50)),
                        ms(percentile(polls, 50)), (double) percentile(polls, 50) / percentile(hops, 50));
                table.addRaw("force-poll round trip p99", ms(percentile(hops, 99)), ms(percentile(polls, 99)),
                        (double) percentile(polls, 99) / percentile(hops, 99));
                table.add("fan-out of one job to " + FANOUT_TARGETS + " targets", "instr/s", raw, fanOut);
                System.out.println();
                System.out.printf("msx master benchmark: %d cores; round trips are latencies (lower is better), "
                        + "fan-out is throughput (higher is better)%n", Runtime.getRuntime().availableProcessors());
                table.print("baseline (2 raw hops / raw producer)");
            } finally {
                simulator.stop();
                simulatorThread.join(10_000);
                master.close();
            }
        }
    }

    /** Sequential polls of random targets: command produced until the answering check-in is in the view. */
    private static long[] forcePolls(LocalStack stack, Topics topics, SchemaRegistryClient registry,
                                     MasterPublisher master, List<String> targets) throws Exception {
        MsxCodec codec = MsxCodec.of(registry, true);
        Random random = new Random(42);
        long[] latencies = new long[POLLS];
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(), ProducerConfig.LINGER_MS_CONFIG, 0),
                new StringSerializer(), new ByteArraySerializer())) {
            for (int i = -20; i < POLLS; i++) { // 20 warm-up polls
                String target = targets.get(random.nextInt(targets.size()));
                String before = master.target(target).map(TargetView::lastAnsweredInstructionId).orElse(null);
                ForcePoll command = ForcePoll.newBuilder().setHeader(header()).setTargets(List.of(target)).build();
                byte[] bytes = codec.encode(command);
                long start = System.nanoTime();
                producer.send(new ProducerRecord<>(topics.commands(), command.getHeader().getCommandId().toString(),
                        bytes));
                while (java.util.Objects.equals(before,
                        master.target(target).map(TargetView::lastAnsweredInstructionId).orElse(null))) {
                    LockSupport.parkNanos(50_000);
                    if (System.nanoTime() - start > Duration.ofSeconds(30).toNanos()) {
                        throw new IllegalStateException("poll of " + target + " not answered within 30 s");
                    }
                }
                if (i >= 0) {
                    latencies[i] = System.nanoTime() - start;
                }
            }
        }
        return latencies;
    }

    /** Baseline: produce to A, an echo consumer forwards to B, measure until it is consumed from B. */
    private static long[] rawTwoHops(LocalStack stack) throws Exception {
        Map<String, Object> producerConfig = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
                ProducerConfig.LINGER_MS_CONFIG, 0, ProducerConfig.ACKS_CONFIG, "all");
        Map<String, Object> consumerConfig = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
        AtomicBoolean stop = new AtomicBoolean();
        Thread echo = new Thread(() -> {
            try (KafkaConsumer<byte[], byte[]> in = new KafkaConsumer<>(consumerConfig, new ByteArrayDeserializer(),
                    new ByteArrayDeserializer());
                 KafkaProducer<byte[], byte[]> out = new KafkaProducer<>(producerConfig, new ByteArraySerializer(),
                         new ByteArraySerializer())) {
                in.assign(List.of(new TopicPartition("bench.hop-a", 0)));
                while (!stop.get()) {
                    for (ConsumerRecord<byte[], byte[]> r : in.poll(Duration.ofMillis(1))) {
                        out.send(new ProducerRecord<>("bench.hop-b", r.value()));
                    }
                }
            }
        }, "bench-echo");
        long[] latencies = new long[POLLS];
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerConfig, new ByteArraySerializer(),
                new ByteArraySerializer());
             KafkaConsumer<byte[], byte[]> back = new KafkaConsumer<>(consumerConfig, new ByteArrayDeserializer(),
                     new ByteArrayDeserializer())) {
            TopicPartition b = new TopicPartition("bench.hop-b", 0);
            back.assign(List.of(b));
            back.seekToEnd(List.of(b));
            back.position(b);
            echo.start();
            Thread.sleep(1000); // let the echo consumer take its partition before measuring
            for (int i = -20; i < POLLS; i++) {
                long start = System.nanoTime();
                producer.send(new ProducerRecord<>("bench.hop-a", new byte[100]));
                int got = 0;
                while (got == 0) {
                    got = back.poll(Duration.ofMillis(1)).count();
                }
                if (i >= 0) {
                    latencies[i] = System.nanoTime() - start;
                }
            }
        } finally {
            stop.set(true);
            echo.join(5000);
        }
        return latencies;
    }

    private static CommandHeader header() {
        return CommandHeader.newBuilder().setCommandId(UUID.randomUUID())
                .setIssuedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS)).build();
    }

    private static JobDefinition job(List<String> targets, String name) {
        return JobDefinition.newBuilder().setJobId("fan").setName(name).setTargets(targets)
                .setSteps(List.of(JobStep.newBuilder().setStepId(1).setName("s").setCommand(List.of("true")).build()))
                .build();
    }

    /** The same 1,000 JobInsert records, sent by a raw idempotent producer and flushed. */
    private static double rawFanOut(LocalStack stack, Topics topics, SchemaRegistryClient registry,
                                    List<String> targets) throws Exception {
        MsxCodec codec = MsxCodec.of(registry, true);
        double[] rates = new double[FANOUT_ROUNDS];
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true, ProducerConfig.ACKS_CONFIG, "all"),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int round = -1; round < FANOUT_ROUNDS; round++) {
                JobDefinition job = job(targets, "raw-" + round);
                long start = System.nanoTime();
                for (String target : targets) {
                    producer.send(new ProducerRecord<>(topics.target(target) + "", "fan".getBytes(StandardCharsets.UTF_8),
                            codec.encode(JobInsert.newBuilder().setHeader(InstructionHeader.newBuilder()
                                    .setInstructionId(UUID.randomUUID()).setTarget(target)
                                    .setPostedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS)).build())
                                    .setJob(job).build())));
                }
                producer.flush();
                if (round >= 0) {
                    rates[round] = targets.size() / ((System.nanoTime() - start) / 1e9);
                }
            }
        }
        Arrays.sort(rates);
        return rates[FANOUT_ROUNDS / 2];
    }

    /** UpsertJob to 1,000 targets: command produced until the master's committed result is read. */
    private static double masterFanOut(LocalStack stack, Topics topics, SchemaRegistryClient registry,
                                       List<String> targets) throws Exception {
        double[] rates = new double[FANOUT_ROUNDS];
        try (CommandClient client = new CommandClient(stack.bootstrapServers(), registry, topics)) {
            for (int round = -1; round < FANOUT_ROUNDS; round++) {
                UpsertJob command = UpsertJob.newBuilder().setHeader(header()).setJob(job(targets, "v" + round))
                        .build();
                long start = System.nanoTime();
                CommandResult result = client.submit(command, Duration.ofMinutes(2)).orElseThrow();
                if (result.getInstructions().size() != targets.size()) {
                    throw new IllegalStateException("fan-out posted " + result.getInstructions().size() + ": "
                            + result.getReason());
                }
                if (round >= 0) {
                    rates[round] = targets.size() / ((System.nanoTime() - start) / 1e9);
                }
            }
        }
        Arrays.sort(rates);
        return rates[FANOUT_ROUNDS / 2];
    }

    private static long percentile(long[] values, int p) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
    }

    private static String ms(long nanos) {
        return String.format("%.2f ms", nanos / 1e6);
    }

    /** Simulated targets: enlist, then answer each PollNow with an ack and a forced check-in. */
    private static final class Simulator implements Runnable {
        private final Topics topics;
        private final MsxCodec codec;
        private final KafkaProducer<String, byte[]> producer;
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final Map<String, Long> seqs = new HashMap<>();
        private final AtomicBoolean stop = new AtomicBoolean();

        Simulator(LocalStack stack, Topics topics, SchemaRegistryClient registry, List<String> answering) {
            this.topics = topics;
            this.codec = MsxCodec.of(registry, true);
            this.producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                    stack.bootstrapServers(), ProducerConfig.LINGER_MS_CONFIG, 0), new StringSerializer(),
                    new ByteArraySerializer());
            this.consumer = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                    stack.bootstrapServers(), ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"),
                    new ByteArrayDeserializer(), new ByteArrayDeserializer());
            List<TopicPartition> partitions = answering.stream()
                    .map(t -> new TopicPartition(topics.target(t), 0)).toList();
            consumer.assign(partitions);
            consumer.seekToEnd(partitions);
            partitions.forEach(consumer::position);
        }

        void enlist(List<String> targets) {
            for (String target : targets) {
                send(target, h -> Enlist.newBuilder().setHeader(h).setAgentVersion("sim").setTimeZone("UTC")
                        .setPollingIntervalSeconds(60).build());
            }
            producer.flush();
        }

        /** Sends the status event {@code event} builds around the target's next header. */
        private void send(String target, java.util.function.Function<StatusHeader, SpecificRecord> event) {
            long seq = seqs.merge(target, 1L, Long::sum);
            producer.send(new ProducerRecord<>(topics.status(), target, codec.encode(event.apply(StatusHeader
                    .newBuilder().setTarget(target).setSeq(seq)
                    .setOccurredAt(Instant.now().truncatedTo(ChronoUnit.MILLIS)).build()))));
        }

        @Override
        public void run() {
            try {
                while (!stop.get()) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(1))) {
                        Decoded decoded = codec.decode(MessageFamily.INSTRUCTION, r.topic(), r.partition(),
                                r.offset(), r.value());
                        if (decoded instanceof Decoded.Message m && m.value() instanceof PollNow poll) {
                            InstructionHeader instruction = poll.getHeader();
                            Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
                            send(instruction.getTarget(), h -> InstructionAck.newBuilder().setHeader(h)
                                    .setInstructionId(instruction.getInstructionId()).setOffset(r.offset())
                                    .setStatus(AckStatus.APPLIED).setAppliedAt(now).build());
                            send(instruction.getTarget(), h -> CheckIn.newBuilder().setHeader(h)
                                    .setTrigger(CheckInTrigger.FORCED)
                                    .setAnswersInstructionId(instruction.getInstructionId()).setLocalTime(now)
                                    .setTimeZone("UTC").setAgentVersion("sim").setPollingIntervalSeconds(60).build());
                        }
                    }
                }
            } finally {
                consumer.close();
                producer.close();
            }
        }

        void stop() {
            stop.set(true);
        }
    }
}
