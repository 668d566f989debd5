package io.msx.agent;

import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.StatusHeader;
import io.msx.avro.instruction.JobInsert;
import io.msx.avro.instruction.JobStart;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.CheckInTrigger;
import io.msx.avro.status.InstructionAck;
import io.msx.avro.status.JobOutcome;
import io.msx.avro.status.RunStatus;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.schemas.SchemaRegistryConfig;
import io.msx.schemas.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The agent JVM is killed with SIGKILL at random moments while it applies instructions, 10 times: after a last start,
 * every instruction is acknowledged exactly once (in the master's deduplicated view), no job ran twice (its side
 * effect, a line in a file, appears at most once), and a run that a kill cut short is reported, never silently lost.
 */
@ExtendWith(LocalStackExtension.class)
class AgentCrashIT {

    private static final int JOBS = 30;
    private static final int KILLS = 10;

    @TempDir
    Path dir;

    private final List<SpecificRecord> events = new ArrayList<>();

    @Test
    void shouldApplyEveryInstructionExactlyOnceAcrossTenKills(LocalStack stack) throws Exception {
        Topics topics = new Topics(LocalStack.uniqueTopicPrefix());
        try (Admin admin = Admin.create(AgentFixtures.kafka(stack))) {
            admin.createTopics(List.of(new NewTopic(topics.status(), 1, (short) 1),
                    new NewTopic(topics.target("T1"), 1, (short) 1))).all().get();
        }
        MsxCodec codec = MsxCodec.of(new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl())),
                true);
        Path lines = dir.resolve("lines");
        List<UUID> posted = new ArrayList<>();
        long seed = System.nanoTime();
        Random random = new Random(seed);
        Path data = dir.resolve("agent");
        Path settings = AgentFixtures.childSettings(stack, dir.resolve("agent.properties"));
        try (KafkaConsumer<byte[], byte[]> reader = statusReader(stack, topics);
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(AgentFixtures.kafka(stack),
                     new ByteArraySerializer(), new ByteArraySerializer())) {
            AgentFixtures.StandInMaster master = new AgentFixtures.StandInMaster(producer, codec, topics);
            int jobsPerWave = JOBS / KILLS;
            for (int kill = 0; kill < KILLS; kill++) {
                Process child = startChild(stack, topics, data, settings);
                int lifetime = kill + 1;
                await().atMost(Duration.ofSeconds(60)).alias("agent lifetime " + lifetime + " checked in")
                        .until(() -> startups(reader, codec) >= lifetime);
                // A wave of instructions lands while this agent is consuming; it is killed while applying them.
                for (int k = kill * jobsPerWave; k < (kill + 1) * jobsPerWave; k++) {
                    JobDefinition job = JobDefinition.newBuilder().setJobId("job-" + k).setName("job-" + k)
                            .setSteps(List.of(JobStep.newBuilder().setStepId(1).setName("append")
                                    .setCommand(List.of("sh", "-c", "echo $MSX_JOB_ID >> " + lines)).build())).build();
                    String jobId = "job-" + k;
                    posted.add(master.post("T1", h -> JobInsert.newBuilder().setHeader(h).setJob(job)
                            .build()));
                    posted.add(master.post("T1", h -> JobStart.newBuilder().setHeader(h).setJobId(jobId)
                            .build()));
                }
                Thread.sleep(random.nextInt(200)); // the random moment of the kill is the point of this test
                child.destroyForcibly(); // SIGKILL
                child.waitFor();
            }
            Process last = startChild(stack, topics, data, settings);
            try {
                await().atMost(Duration.ofSeconds(90)).alias("every instruction acknowledged and every job settled")
                        .until(() -> acks(reader, codec).stream().map(InstructionAck::getInstructionId)
                                .collect(Collectors.toSet()).containsAll(posted)
                                && outcomes(reader, codec).size() >= JOBS);
            } finally {
                last.destroyForcibly();
                last.waitFor();
            }

            List<InstructionAck> acks = acks(reader, codec);
            assertThat(acks).as("acks in the deduplicated view (seed %s)", seed).hasSize(posted.size());
            assertThat(acks).extracting(InstructionAck::getInstructionId).containsExactlyElementsOf(posted);
            assertThat(acks).extracting(InstructionAck::getError).containsOnlyNulls();

            Map<String, Long> ran = Files.exists(lines) ? Files.readAllLines(lines).stream()
                    .collect(Collectors.groupingBy(Function.identity(), Collectors.counting())) : Map.of();
            assertThat(ran.values()).as("no job ran twice (seed %s)", seed).allMatch(n -> n == 1);
            Map<String, JobOutcome> outcomes = new HashMap<>();
            outcomes(reader, codec).forEach(o -> outcomes.merge(o.getJobId(), o, (a, b) -> {
                throw new AssertionError("two outcomes for " + o.getJobId() + ": " + a + " / " + b);
            }));
            assertThat(outcomes).hasSize(JOBS);
            for (int k = 0; k < JOBS; k++) {
                JobOutcome outcome = outcomes.get("job-" + k);
                if (!ran.containsKey("job-" + k)) {
                    assertThat(outcome.getStatus()).as("job-%s never ran: reported, not lost", k)
                            .isEqualTo(RunStatus.FAILED);
                    assertThat(outcome.getMessage()).contains("agent stopped while this run was in progress");
                }
            }
        }
    }

    private static Process startChild(LocalStack stack, Topics topics, Path data, Path settings) throws Exception {
        return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx192m",
                "-cp", System.getProperty("java.class.path"), AgentChild.class.getName(), "T1",
                stack.bootstrapServers(), stack.schemaRegistryUrl(), topics.prefix(), data.toString(),
                settings.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
    }

    private static KafkaConsumer<byte[], byte[]> statusReader(LocalStack stack, Topics topics) {
        KafkaConsumer<byte[], byte[]> reader = new KafkaConsumer<>(AgentFixtures.kafka(stack),
                new ByteArrayDeserializer(), new ByteArrayDeserializer());
        TopicPartition tp = new TopicPartition(topics.status(), 0);
        reader.assign(List.of(tp));
        reader.seekToBeginning(List.of(tp));
        return reader;
    }

    /** The master's view: events read so far, replays (seq at or below the highest seen) dropped. */
    private List<SpecificRecord> view(KafkaConsumer<byte[], byte[]> reader, MsxCodec codec) {
        reader.poll(Duration.ofMillis(100)).forEach(r -> {
            SpecificRecord e = ((Decoded.Message) codec.decode(MessageFamily.STATUS, r.topic(), r.partition(),
                    r.offset(), r.value())).value();
            if (events.isEmpty() || seq(e) > seq(events.get(events.size() - 1))) {
                events.add(e);
            }
        });
        return events;
    }

    private static long seq(SpecificRecord event) {
        return MessageFamily.STATUS.<StatusHeader>header(event).getSeq();
    }

    private long startups(KafkaConsumer<byte[], byte[]> reader, MsxCodec codec) {
        // a fresh installation (never resynced here: no master) asks for a resync once it knows where it reads from
        return view(reader, codec).stream().filter(e -> e instanceof CheckIn c
                && c.getTrigger() == CheckInTrigger.STARTUP && c.getResyncRequested()).count();
    }

    private List<InstructionAck> acks(KafkaConsumer<byte[], byte[]> reader, MsxCodec codec) {
        return view(reader, codec).stream().filter(e -> e instanceof InstructionAck).map(e -> (InstructionAck) e)
                .toList();
    }

    private List<JobOutcome> outcomes(KafkaConsumer<byte[], byte[]> reader, MsxCodec codec) {
        return view(reader, codec).stream().filter(e -> e instanceof JobOutcome).map(e -> (JobOutcome) e)
                .toList();
    }
}
