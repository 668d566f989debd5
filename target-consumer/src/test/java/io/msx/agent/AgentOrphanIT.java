package io.msx.agent;

import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.instruction.JobInsert;
import io.msx.avro.instruction.JobStart;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.CheckInTrigger;
import io.msx.avro.status.JobOutcome;
import io.msx.avro.status.JobRunStarted;
import io.msx.avro.status.RunStatus;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.schemas.SchemaRegistryConfig;
import io.msx.schemas.Topics;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * At most one instance per job across a crash: the agent JVM is killed with SIGKILL while one job's step forked a
 * background grandchild and another's step started a process in a session of its own ({@code setsid}). After the
 * restart no process of the old runs is alive (found by the {@code MSX_RUN_ID} every descendant inherits), both runs
 * are reported FAILED, and the next START runs exactly once.
 */
@ExtendWith(LocalStackExtension.class)
class AgentOrphanIT {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private final List<SpecificRecord> events = new ArrayList<>();
    private final List<Process> children = new ArrayList<>();
    private final Set<String> runIds = new java.util.HashSet<>();
    private final Set<Long> seen = new java.util.HashSet<>();

    @AfterEach
    void tearDown() throws InterruptedException {
        for (Process child : children) {
            child.destroyForcibly();
            child.waitFor();
        }
        // whatever a failed assertion left behind must not outlive the test
        runIds.forEach(id -> processesOf(id).forEach(pid -> ProcessHandle.of(pid)
                .ifPresent(ProcessHandle::destroyForcibly)));
    }

    @Test
    void shouldKillWhatSurvivedACrashReportTheRunsAndRunTheNextStartOnce(LocalStack stack) throws Exception {
        Topics topics = new Topics(LocalStack.uniqueTopicPrefix());
        try (Admin admin = Admin.create(AgentFixtures.kafka(stack))) {
            admin.createTopics(List.of(new NewTopic(topics.status(), 1, (short) 1),
                    new NewTopic(topics.target("T1"), 1, (short) 1))).all().get();
        }
        MsxCodec codec = MsxCodec.of(new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl())),
                true);
        Path lines = dir.resolve("lines");
        Path data = dir.resolve("agent");
        Path settings = AgentFixtures.childSettings(stack, dir.resolve("agent.properties"));
        try (KafkaConsumer<byte[], byte[]> reader = statusReader(stack, topics);
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(AgentFixtures.kafka(stack),
                     new ByteArraySerializer(), new ByteArraySerializer())) {
            AgentFixtures.StandInMaster master = new AgentFixtures.StandInMaster(producer, codec, topics);
            Process first = startChild(stack, topics, data, settings);
            await().atMost(WAIT).alias("agent positioned").until(() -> positioned(reader, codec) >= 1);

            master.post("T1", h -> JobInsert.newBuilder().setHeader(h).setJob(job("forker",
                    "echo $MSX_RUN_ID >> " + lines + "; sleep 120 & sleep 120")).build());
            master.post("T1", h -> JobInsert.newBuilder().setHeader(h).setJob(job("detacher",
                    "setsid sleep 120 & sleep 120")).build());
            master.post("T1", h -> JobStart.newBuilder().setHeader(h).setJobId("forker").build());
            master.post("T1", h -> JobStart.newBuilder().setHeader(h).setJobId("detacher").build());
            await().atMost(WAIT).alias("both runs started, with their background processes").until(() -> {
                List<JobRunStarted> started = started(reader, codec);
                started.forEach(s -> runIds.add(s.getRunId().toString()));
                return started.size() == 2 && runIds.stream().allMatch(id -> processesOf(id).size() >= 2);
            });

            first.destroyForcibly(); // SIGKILL: the step processes are orphaned
            first.waitFor();
            assertThat(runIds).as("the orphans outlive the agent").allMatch(id -> !processesOf(id).isEmpty());

            startChild(stack, topics, data, settings);
            await().atMost(WAIT).alias("both cut-short runs reported").until(() -> outcomes(reader, codec).size() == 2);
            assertThat(runIds).as("no process of the old runs is alive")
                    .allSatisfy(id -> assertThat(processesOf(id)).isEmpty());
            assertThat(outcomes(reader, codec)).allSatisfy(o -> {
                assertThat(o.getStatus()).isEqualTo(RunStatus.FAILED);
                assertThat(o.getMessage()).contains("agent stopped while this run was in progress")
                        .contains("process(es) it left running were killed");
            });

            master.post("T1", h -> JobStart.newBuilder().setHeader(h).setJobId("forker").build());
            await().atMost(WAIT).alias("the next START runs").until(() -> started(reader, codec).size() == 3);
            JobRunStarted next = started(reader, codec).get(2);
            runIds.add(next.getRunId().toString());
            await().atMost(WAIT).until(() -> Files.exists(lines) && Files.readAllLines(lines).size() == 2);
            assertThat(Files.readAllLines(lines)).as("one line per run: the old one and the new one, once each")
                    .doesNotHaveDuplicates().contains(next.getRunId().toString());
            assertThat(processesOf(next.getRunId().toString())).as("the new run alone").isNotEmpty();
        }
    }

    /** Live processes whose environment carries {@code MSX_RUN_ID=<runId>}. */
    private static List<Long> processesOf(String runId) {
        return io.msx.agent.internal.job.Orphans.processesOf(UUID.fromString(runId));
    }

    private static JobDefinition job(String id, String script) {
        return JobDefinition.newBuilder().setJobId(id).setName(id).setSteps(List.of(JobStep.newBuilder()
                .setStepId(1).setName("only").setCommand(List.of("sh", "-c", script)).build())).build();
    }

    private Process startChild(LocalStack stack, Topics topics, Path data, Path settings) throws IOException {
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx192m", "-cp", System.getProperty("java.class.path"), AgentChild.class.getName(), "T1",
                stack.bootstrapServers(), stack.schemaRegistryUrl(), topics.prefix(), data.toString(),
                settings.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        children.add(child);
        return child;
    }

    private static KafkaConsumer<byte[], byte[]> statusReader(LocalStack stack, Topics topics) {
        KafkaConsumer<byte[], byte[]> reader = new KafkaConsumer<>(AgentFixtures.kafka(stack),
                new ByteArrayDeserializer(), new ByteArrayDeserializer());
        TopicPartition tp = new TopicPartition(topics.status(), 0);
        reader.assign(List.of(tp));
        reader.seekToBeginning(List.of(tp));
        return reader;
    }

    private List<SpecificRecord> view(KafkaConsumer<byte[], byte[]> reader, MsxCodec codec) {
        reader.poll(Duration.ofMillis(100)).forEach(r -> {
            SpecificRecord e = ((Decoded.Message) codec.decode(MessageFamily.STATUS, r.topic(), r.partition(),
                    r.offset(), r.value())).value();
            // the master's view: a replay after the kill (same installation, seq seen) is dropped
            if (seen.add(MessageFamily.STATUS.<io.msx.avro.StatusHeader>header(e).getSeq())) {
                events.add(e);
            }
        });
        return events;
    }

    /** Check-ins a fresh installation sends once it knows where it reads from. */
    private long positioned(KafkaConsumer<byte[], byte[]> reader, MsxCodec codec) {
        return view(reader, codec).stream().filter(e -> e instanceof CheckIn c
                && c.getTrigger() == CheckInTrigger.STARTUP && c.getResyncRequested()).count();
    }

    private List<JobRunStarted> started(KafkaConsumer<byte[], byte[]> reader, MsxCodec codec) {
        return view(reader, codec).stream().filter(e -> e instanceof JobRunStarted).map(e -> (JobRunStarted) e)
                .toList();
    }

    private List<JobOutcome> outcomes(KafkaConsumer<byte[], byte[]> reader, MsxCodec codec) {
        return view(reader, codec).stream().filter(e -> e instanceof JobOutcome).map(e -> (JobOutcome) e).toList();
    }
}
