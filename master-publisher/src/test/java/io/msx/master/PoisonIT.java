package io.msx.master;

import io.msx.avro.CommandResult;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.StatusHeader;
import io.msx.avro.command.EnlistTarget;
import io.msx.avro.command.StartJob;
import io.msx.avro.command.UpsertJob;
import io.msx.avro.instruction.PollNow;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.CheckInTrigger;
import io.msx.avro.status.Enlist;
import io.msx.avro.status.InstructionAck;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
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
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * End-to-end fuzzing against the real stack: random bytes, valid wire headers with mutated bodies (lengths and counts
 * maxed), nulls, oversized records, colliding names and out-of-range job values poured into msx.commands, a target
 * topic and msx.status. Afterwards the master and the agent still answer a force poll and run a job, every refused
 * record is in its dead-letter topic with a reason, every readable command got exactly one result, and the heap
 * stayed bounded. The random seed is printed, so a failure can be replayed with -Dpoison.seed=N.
 */
@ExtendWith(LocalStackExtension.class)
class PoisonIT {

    private static final int RECORDS_PER_TOPIC = 150;
    private static final int INSTRUCTION_LIMIT = 200_000;

    @TempDir
    Path data;

    private Fleet fleet;
    private Random random;

    @BeforeEach
    void start(LocalStack stack) {
        long seed = Long.getLong("poison.seed", System.nanoTime());
        System.out.println("PoisonIT seed " + seed);
        random = new Random(seed);
        // a small instruction limit, so an instruction over it is cheap to make
        fleet = Fleet.start(stack, data, Map.of(MasterConfig.TARGET_TOPIC_MAX_MESSAGE_BYTES_CONFIG, INSTRUCTION_LIMIT),
                "T1");
    }

    @AfterEach
    void stop() {
        fleet.close();
    }

    @Test
    void shouldRefuseEveryPoisonRecordAndKeepServing() {
        long heapBefore = usedHeapAfterGc();

        // msx.commands: every record keyed by a fresh command id (also in its header, before mutation), so each
        // readable one must get one result
        Map<UUID, byte[]> commands = new HashMap<>();
        for (int i = 0; i < RECORDS_PER_TOPIC; i++) {
            UUID id = UUID.randomUUID();
            List<byte[]> valid = List.of(
                    fleet.codec.encode(io.msx.avro.command.ForcePoll.newBuilder().setHeader(Fleet.header(id))
                            .setTargets(List.of("T1", "T2", "T3")).build()),
                    fleet.codec.encode(UpsertJob.newBuilder().setHeader(Fleet.header(id))
                            .setJob(job("j", List.of("T1"), 3)).build()));
            commands.put(id, mutate(i, valid.get(random.nextInt(valid.size()))));
        }
        commands.put(UUID.randomUUID(), null); // a tombstone: nothing to answer
        UUID collidingEnlist = UUID.randomUUID();
        commands.put(collidingEnlist, fleet.codec.encode(EnlistTarget.newBuilder()
                .setHeader(Fleet.header(collidingEnlist)).setTarget("T_1").build()));
        UUID hugeRetries = upsert(commands, step(1).setRetryAttempts(Integer.MAX_VALUE).build());
        UUID negativeTimeout = upsert(commands, step(1).setTimeoutSeconds(-1).build());
        UUID negativeOutput = upsert(commands, step(1).setMaxOutputBytes(-1).build());
        UUID fiveThousandSteps = UUID.randomUUID();
        commands.put(fiveThousandSteps, fleet.codec.encode(UpsertJob.newBuilder().setHeader(Fleet.header(
                fiveThousandSteps)).setJob(job("long", List.of("T1"), 5000)).build()));
        UUID oversizedInstruction = UUID.randomUUID();
        commands.put(oversizedInstruction, fleet.codec.encode(UpsertJob.newBuilder().setHeader(Fleet.header(
                oversizedInstruction)).setJob(JobDefinition.newBuilder(job("big", List.of("T1"), 1)).setDescription(null)
                .setSteps(List.of(step(1).setCommand(IntStream.range(0, 3).mapToObj(i -> "x".repeat(100_000))
                        .toList()).build())).build()).build()));
        Map<String, byte[]> commandsAt = new HashMap<>();
        commands.forEach((id, value) -> commandsAt.put(position(fleet.send(fleet.topics.commands(),
                Fleet.utf8(id.toString()), value)), value));

        // the target topic, as if written by someone other than the master
        String targetTopic = fleet.topics.target("T1");
        List<byte[]> validInstructions = List.of(fleet.codec.encode(PollNow.newBuilder().setHeader(
                io.msx.avro.InstructionHeader.newBuilder().setInstructionId(UUID.randomUUID()).setTarget("T1")
                        .setPostedAt(now()).build()).build()));
        Map<String, byte[]> instructions = new HashMap<>();
        for (byte[] value : poison(validInstructions)) {
            instructions.put(position(fleet.send(targetTopic, Fleet.utf8("-"), value)), value);
        }
        fleet.send(targetTopic, Fleet.utf8("-"), null);

        // msx.status, as a forger would write it (under a target nobody runs, so T1's own events stay in order)
        List<byte[]> validEvents = List.of(fleet.codec.encode(CheckIn.newBuilder()
                .setHeader(new StatusHeader("F1", 1L, now(), null)).setTrigger(CheckInTrigger.SCHEDULED)
                .setLocalTime(now()).setTimeZone("UTC").setAgentVersion("x").setPollingIntervalSeconds(60).build()));
        List<byte[]> events = new ArrayList<>(poison(validEvents));
        events.add(null);
        byte[] collidingAgent = fleet.codec.encode(Enlist.newBuilder().setHeader(new StatusHeader("C_1", 1L, now(), null))
                .setAgentVersion("x").setTimeZone("UTC").setPollingIntervalSeconds(60).build());
        events.add(collidingAgent);
        Map<String, byte[]> eventsAt = new HashMap<>();
        events.forEach(value -> eventsAt.put(position(fleet.send(fleet.topics.status(), Fleet.utf8("F1"), value)),
                value));

        // Both still serve: a force poll round trip, and a job run end to end.
        fleet.awaitForcePolled("T1");
        UUID create = UUID.randomUUID();
        fleet.send(fleet.topics.commands(), Fleet.utf8(create.toString()), fleet.codec.encode(UpsertJob.newBuilder()
                .setHeader(Fleet.header(create)).setJob(job("after-poison", List.of("T1"), 1)).build()));
        assertThat(fleet.awaitResult(create).getStatus().name()).isEqualTo("ACCEPTED");
        UUID start = UUID.randomUUID();
        fleet.send(fleet.topics.commands(), Fleet.utf8(start.toString()), fleet.codec.encode(StartJob.newBuilder()
                .setHeader(Fleet.header(start)).setJobId("after-poison").build()));
        assertThat(fleet.awaitResult(start).getStatus().name()).isEqualTo("ACCEPTED");
        await().atMost(Duration.ofSeconds(60)).alias("the job ran on T1 after the poison")
                .until(() -> fleet.master.history("after-poison").orElse(List.of()).stream()
                        .anyMatch(r -> r.target().equals("T1") && r.status().equals("SUCCEEDED")));

        // Every readable command got exactly one result; the invalid ones were rejected with the bound named.
        // a command is answered under its header's id when that can be read (a mutation may have changed it), else
        // under its key
        List<UUID> readable = commands.entrySet().stream().filter(e -> e.getValue() != null)
                .map(e -> answerId(e.getKey(), e.getValue())).toList();
        Map<UUID, List<CommandResult>> results = new HashMap<>();
        await().atMost(Duration.ofSeconds(60)).alias("a result for each of " + readable.size() + " commands")
                .until(() -> {
                    results.clear();
                    results.putAll(fleet.results());
                    return results.keySet().containsAll(readable);
                });
        commands.forEach((id, value) -> {
            if (value == null) {
                assertThat(results).as("a tombstone is not a command").doesNotContainKey(id);
            } else {
                assertThat(results.get(answerId(id, value))).as("results of command %s", id).hasSize(1);
            }
        });
        assertThat(rejection(results, collidingEnlist)).contains("'T_1' would collide with 'T.1'");
        assertThat(rejection(results, hugeRetries)).contains("retryAttempts is 2147483647, allowed 0 to 9999");
        assertThat(rejection(results, negativeTimeout)).contains("timeoutSeconds is -1");
        assertThat(rejection(results, negativeOutput)).contains("maxOutputBytes is -1");
        assertThat(rejection(results, fiveThousandSteps)).contains("steps: 5000, at most 1000 allowed");
        assertThat(rejection(results, oversizedInstruction)).contains("record limit");

        // Every refused record is in its dead-letter topic, with a reason.
        assertDeadLettered(fleet.topics.commands(), MessageFamily.COMMAND, commandsAt);
        assertDeadLettered(targetTopic, MessageFamily.INSTRUCTION, instructions);
        List<ConsumerRecord<byte[], byte[]>> deadStatus = assertDeadLettered(fleet.topics.status(),
                MessageFamily.STATUS, eventsAt);
        assertThat(deadStatus).anySatisfy(r -> {
            assertThat(r.value()).isEqualTo(collidingAgent);
            assertThat(Fleet.header(r, "msx.dlq.reason")).contains("'C_1' would collide with 'C.1'");
        });

        // Every poison instruction was acknowledged once: nothing blocked the topic.
        Map<String, Integer> ackCounts = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : fleet.readAll(fleet.topics.status())) {
            Decoded decoded = fleet.codec.decode(MessageFamily.STATUS, r.topic(), r.partition(), r.offset(), r.value());
            if (decoded instanceof Decoded.Message m && m.value() instanceof InstructionAck ack
                    && ack.getHeader().getTarget().equals("T1")) {
                ackCounts.merge("0@" + ack.getOffset(), 1, Integer::sum);
            }
        }
        instructions.keySet().forEach(at -> assertThat(ackCounts.get(at))
                .as("acks of the poison instruction at %s", at).isEqualTo(1));

        // what the test itself holds (the poison, 2 MiB values among it) is let go before measuring the rest of
        // this JVM: the master, the agent and the broker
        int poured = commands.size() + instructions.size() + events.size();
        commands.clear();
        commandsAt.clear();
        instructions.clear();
        events.clear();
        eventsAt.clear();
        deadStatus.clear();
        results.clear();
        long heapAfter = usedHeapAfterGc();
        System.out.printf("PoisonIT heap after GC: %,d bytes before, %,d after %d poison records%n", heapBefore,
                heapAfter, poured);
        assertThat(heapAfter - heapBefore).as("heap growth in bytes after %d poison records", poured)
                .isLessThan(64L * 1024 * 1024);
    }

    /**
     * Records refused by the reader of {@code topic} (malformed or of an unknown type) must all be in its dead-letter
     * topic, each found by the partition and offset it came from, with a reason.
     */
    private List<ConsumerRecord<byte[], byte[]>> assertDeadLettered(String topic, MessageFamily family,
                                                                    Map<String, byte[]> written) {
        List<String> refused = written.entrySet().stream().filter(e -> e.getValue() != null
                && !(fleet.codec.decode(family, topic, e.getValue()) instanceof Decoded.Message))
                .map(Map.Entry::getKey).toList();
        List<ConsumerRecord<byte[], byte[]>> dead = new ArrayList<>();
        await().atMost(Duration.ofSeconds(60)).alias(refused.size() + " refused records in " + topic + ".dlq")
                .until(() -> {
                    dead.clear();
                    dead.addAll(fleet.readAll(Topics.deadLetter(topic)));
                    return dead.size() >= refused.size();
                });
        Map<String, String> reasons = new HashMap<>();
        dead.forEach(r -> reasons.put(Fleet.header(r, "msx.dlq.partition") + "@" + Fleet.header(r, "msx.dlq.offset"),
                Fleet.header(r, "msx.dlq.reason")));
        refused.forEach(at -> assertThat(reasons.get(at)).as("reason of the refused record %s of %s", at, topic)
                .isNotBlank());
        return dead;
    }

    private UUID answerId(UUID key, byte[] value) {
        Decoded decoded = fleet.codec.decode(MessageFamily.COMMAND, "c", value);
        Object header = decoded instanceof Decoded.Message m ? m.value().get(0)
                : decoded instanceof Decoded.Malformed m ? m.header()
                : decoded instanceof Decoded.UnknownType u ? u.header() : null;
        return header instanceof io.msx.avro.CommandHeader h ? h.getCommandId() : key;
    }

    private static String position(RecordMetadata metadata) {
        return metadata.partition() + "@" + metadata.offset();
    }

    /** Random bytes, valid wire headers with mutated bodies, maxed lengths and counts, and oversized values. */
    private List<byte[]> poison(List<byte[]> valid) {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < RECORDS_PER_TOPIC; i++) {
            out.add(mutate(i, valid.get(random.nextInt(valid.size()))));
        }
        return out;
    }

    /** The {@code i % 6}th kind of poison made of a valid record. */
    private byte[] mutate(int i, byte[] base) {
        List<byte[]> out = new ArrayList<>(1);
        {
            switch (i % 6) {
                case 0 -> {
                    byte[] noise = new byte[random.nextInt(200)];
                    random.nextBytes(noise);
                    out.add(noise);
                }
                case 1 -> { // flip a few body bytes
                    byte[] m = base.clone();
                    for (int k = 0; k < 1 + random.nextInt(4); k++) {
                        int at = 5 + random.nextInt(m.length - 5);
                        m[at] = (byte) random.nextInt(256);
                    }
                    out.add(m);
                }
                case 2 -> { // a maxed varint (length or count) somewhere in the body
                    int at = 5 + random.nextInt(base.length - 5);
                    ByteArrayOutputStream m = new ByteArrayOutputStream();
                    m.write(base, 0, at);
                    m.writeBytes(new byte[] {(byte) 0xFE, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x0F});
                    m.write(base, at, base.length - at);
                    out.add(m.toByteArray());
                }
                case 3 -> out.add(Arrays.copyOf(base, 5 + random.nextInt(base.length - 5))); // truncated
                case 4 -> { // a valid header with a schema id nobody registered
                    byte[] m = base.clone();
                    ByteBuffer.wrap(m, 1, 4).putInt(1_000_000 + random.nextInt(1_000_000));
                    out.add(m);
                }
                default -> { // oversized: 2 MiB that compress well, so the broker takes them
                    byte[] big = Arrays.copyOf(base, 2 * 1024 * 1024);
                    out.add(big);
                }
            }
        }
        return out.get(0);
    }

    private UUID upsert(Map<UUID, byte[]> commands, JobStep step) {
        UUID id = UUID.randomUUID();
        commands.put(id, fleet.codec.encode(UpsertJob.newBuilder().setHeader(Fleet.header(id))
                .setJob(JobDefinition.newBuilder(job("bad-" + id, List.of("T1"), 1)).setSteps(List.of(step)).build())
                .build()));
        return id;
    }

    private static JobStep.Builder step(int id) {
        return JobStep.newBuilder().setStepId(id).setName("s" + id).setCommand(List.of("true"));
    }

    private static JobDefinition job(String id, List<String> targets, int steps) {
        return JobDefinition.newBuilder().setJobId(id).setName(id).setTargets(targets)
                .setSteps(IntStream.rangeClosed(1, steps).mapToObj(i -> step(i).build()).toList()).build();
    }

    private static String rejection(Map<UUID, List<CommandResult>> results, UUID id) {
        CommandResult result = results.get(id).get(0);
        assertThat(result.getStatus().name()).as("command %s: %s", id, result.getReason()).isEqualTo("REJECTED");
        return result.getReason();
    }

    private static Instant now() {
        return Instant.now().truncatedTo(ChronoUnit.MILLIS);
    }

    private static long usedHeapAfterGc() {
        Runtime runtime = Runtime.getRuntime();
        System.gc();
        return runtime.totalMemory() - runtime.freeMemory();
    }
}
