package io.msx.master;

import io.msx.avro.instruction.PollNow;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.schemas.SchemaRegistryConfig;
import io.msx.schemas.Topics;
import io.msx.agent.TargetAgent;
import io.msx.agent.TargetAgentConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The foundation's end-to-end promise, against the real broker and registry: `msx target poll T1 --wait` makes T1
 * (and only T1) check in, the master records the poll, and the CLI prints it.
 */
@ExtendWith(LocalStackExtension.class)
class ForcePollIT {

    @TempDir
    Path data;

    private final List<AutoCloseable> running = new ArrayList<>();
    private LocalStack stack;
    private Topics topics;
    private MasterPublisher master;

    @BeforeEach
    void startMasterAndTwoTargets(LocalStack stack) {
        this.stack = stack;
        String prefix = LocalStack.uniqueTopicPrefix();
        topics = new Topics(prefix);
        master = new MasterPublisher(new MasterConfig(Configs.master(stack, prefix, "it")), Clock.systemUTC());
        running.add(master);
        master.start();
        for (String name : List.of("T1", "T2")) {
            Map<String, Object> config = Configs.agent(stack, prefix, name, data.resolve(name));
            config.put(TargetAgentConfig.TIME_ZONE_CONFIG, "Europe/Berlin");
            TargetAgent agent = new TargetAgent(new TargetAgentConfig(config), Clock.systemUTC());
            running.add(0, agent);
            agent.start();
        }
        // new installations: enlisted, resynced by the master (they asked), then NORMAL
        await().atMost(Duration.ofSeconds(60)).alias("both targets enlisted, resynced and consuming")
                .until(() -> master.targets().stream().filter(t -> t.status() == TargetStatus.NORMAL)
                        .map(TargetView::name).toList().containsAll(List.of("T1", "T2"))
                        && ((TargetAgent) running.get(0)).awaitConsuming(Duration.ZERO)
                        && ((TargetAgent) running.get(1)).awaitConsuming(Duration.ZERO)
                        && !((TargetAgent) running.get(0)).awaitingResync()
                        && !((TargetAgent) running.get(1)).awaitingResync());
    }

    @AfterEach
    void stopAll() throws Exception {
        for (AutoCloseable c : running) {
            c.close();
        }
    }

    private MsxRun msx(String... args) {
        return MsxRun.of(stack, topics, master, args);
    }

    @Test
    void shouldForcePollOneTargetAndShowItsCheckIn() {
        Instant before = Instant.now().minusMillis(1);
        TargetView t2Before = master.target("T2").orElseThrow();

        MsxRun run = msx("target", "poll", "T1", "--wait", "--timeout", "60s");

        assertThat(run.exitCode()).as("exit code; stderr: %s", run.err()).isZero();
        TargetView t1 = master.target("T1").orElseThrow();
        assertThat(t1.lastPollTrigger()).isEqualTo("FORCED");
        assertThat(t1.lastPoll()).isAfter(before);
        assertThat(t1.status()).isEqualTo(TargetStatus.NORMAL);
        assertThat(run.out()).contains("T1").contains("polled").contains(t1.lastPoll().toString());
        assertThat(run.err()).contains("polled 1/1");
        assertThat(master.target("T2").orElseThrow().lastPollTrigger()).isEqualTo(t2Before.lastPollTrigger());

        assertThat(pollInstructions("T1")).hasSize(1)
                .allSatisfy(i -> assertThat(i.getHeader().getInstructionId().toString())
                        .isEqualTo(t1.lastAnsweredInstructionId()));
        assertThat(pollInstructions("T2")).as("instructions on T2's topic").isEmpty();
        await().atMost(Duration.ofSeconds(30)).alias("T1 has no unread instructions")
                .until(() -> Long.valueOf(0).equals(master.target("T1").orElseThrow().unreadInstructions()));
    }

    @Test
    void shouldPollEveryTargetWithAll() {
        MsxRun run = msx("target", "poll", "--all", "--wait", "--output", "json");

        assertThat(run.exitCode()).as("stderr: %s", run.err()).isZero();
        assertThat(run.out()).contains("\"target\" : \"T1\"").contains("\"target\" : \"T2\"");
        assertThat(master.targets()).extracting(TargetView::lastPollTrigger).containsOnly("FORCED");
    }

    @Test
    void shouldExitOneNamingAnUnknownTarget() {
        MsxRun run = msx("target", "poll", "T9", "--wait");

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).contains("unknown target 'T9'").contains("T1, T2");
        assertThat(run.out()).isEmpty();
    }

    @Test
    void shouldExitTwoOnUsageErrors() {
        assertThat(msx("target", "poll").exitCode()).isEqualTo(2);
        assertThat(msx("target", "poll", "T1", "--timeout", "soon").err()).contains("'soon' is not a duration");
    }

    @Test
    void shouldListTargetsForPeopleAndScripts() {
        MsxRun table = msx("target", "list");
        MsxRun json = msx("target", "list", "-o", "json");

        assertThat(table.exitCode()).isZero();
        assertThat(table.out().lines().findFirst().orElseThrow()).startsWith("TARGET").contains("LAST POLL");
        assertThat(table.out()).contains("T1").contains("T2").contains("NORMAL");
        assertThat(json.out()).contains("\"name\" : \"T1\"").contains("\"timeZone\" : \"Europe/Berlin\"");
        assertThat(msx("target", "show", "nope").exitCode()).isEqualTo(1);
    }

    /** Every PollNow instruction committed to a target's topic, read with read_committed up to its end. */
    private List<PollNow> pollInstructions(String target) {
        MsxCodec codec = MsxCodec.of(new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl())),
                false);
        TopicPartition tp = new TopicPartition(topics.target(target), 0);
        List<PollNow> found = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Configs.kafka(stack,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            await().atMost(Duration.ofSeconds(30)).alias("read " + tp + " to its end offset " + end).until(() -> {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    Decoded decoded = codec.decode(MessageFamily.INSTRUCTION, r.topic(), r.partition(), r.offset(),
                            r.value());
                    if (decoded instanceof Decoded.Message m && m.value() instanceof PollNow poll) {
                        found.add(poll);
                    }
                }
                return consumer.position(tp) >= end;
            });
        }
        return found;
    }

    @Test
    void shouldRunAJobOnBothTargetsAndShowItsHistory() throws Exception {
        Path file = data.resolve("job.yaml");
        java.nio.file.Files.writeString(file, """
                id: it-job
                targets: [T1, T2]
                steps:
                  - name: hello
                    command: [sh, -c, "echo hi from $MSX_JOB_ID"]
                """);
        MsxRun created = msx("job", "create", "-f", file.toString());
        assertThat(created.exitCode()).as("stderr: %s", created.err()).isZero();
        assertThat(created.out()).contains("T1  JOB_INSERT posted").contains("T2  JOB_INSERT posted");
        assertThat(msx("job", "create", "-f", file.toString()).err()).contains("duplicate job 'it-job'");

        MsxRun started = msx("job", "start", "it-job", "--wait");

        assertThat(started.exitCode()).as("stderr: %s", started.err()).isZero();
        List<JobRunView> history = master.history("it-job").orElseThrow();
        assertThat(history).extracting(JobRunView::target).containsExactlyInAnyOrder("T1", "T2");
        assertThat(history).allSatisfy(run -> {
            assertThat(run.status()).isEqualTo("SUCCEEDED");
            assertThat(run.steps()).singleElement().satisfies(s -> assertThat(s.output()).isEqualTo("hi from it-job\n"));
        });
        MsxRun shown = msx("job", "history", "it-job");
        assertThat(shown.out()).contains("SUCCEEDED").contains("hi from it-job");
        assertThat(msx("job", "list").out()).contains("it-job").contains("T1,T2");
        assertThat(msx("job", "start", "nope").err()).contains("unknown job 'nope'");

        await().atMost(Duration.ofSeconds(30)).alias("download list shows the job's instructions applied").until(() ->
                master.instructions(null, "it-job").stream().filter(i -> i.status().equals("APPLIED")).count() == 4);
        assertThat(master.instructions("T2", "it-job")).extracting(InstructionView::operation)
                .containsExactly("JOB_START", "JOB_INSERT");
        MsxRun listed = msx("instructions", "--target", "T1", "--job", "it-job");
        assertThat(listed.out()).contains("JOB_INSERT").contains("JOB_START").contains("APPLIED");
    }

    @Test
    void shouldResyncOneTargetAndDefectAnother() throws Exception {
        Path file = data.resolve("resync.yaml");
        java.nio.file.Files.writeString(file, "id: kept\ntargets: [T1, T2]\nsteps:\n  - command: [\"true\"]\n");
        assertThat(msx("job", "create", "-f", file.toString()).exitCode()).isZero();
        TargetAgent t1 = (TargetAgent) running.get(1);
        TargetAgent t2 = (TargetAgent) running.get(0);
        await().atMost(Duration.ofSeconds(30)).until(() -> t1.jobIds().contains("kept") && t2.jobIds().contains("kept"));

        MsxRun resync = msx("target", "resync", "T1");
        assertThat(resync.exitCode()).as("stderr: %s", resync.err()).isZero();
        assertThat(resync.out()).contains("T1  RESYNC posted").contains("T1  JOB_INSERT posted");
        await().atMost(Duration.ofSeconds(30)).alias("resync applied").until(() -> master.instructions("T1", null)
                .stream().filter(i -> i.operation().equals("RESYNC")).anyMatch(i -> i.status().equals("APPLIED")));
        await().atMost(Duration.ofSeconds(30)).until(() -> t1.jobIds().equals(List.of("kept")));

        MsxRun defect = msx("target", "defect", "T2");
        assertThat(defect.exitCode()).as("stderr: %s", defect.err()).isZero();
        await().atMost(Duration.ofSeconds(30)).alias("T2 released its jobs").until(() -> t2.jobIds().isEmpty());
        assertThat(master.targets()).extracting(TargetView::name).containsExactly("T1");
        assertThat(msx("target", "defect", "T2").err()).contains("unknown target 'T2'");
    }

    @Test
    void shouldRebuildItsViewsFromKafkaAfterARestart() throws Exception {
        Path file = data.resolve("restart.yaml");
        java.nio.file.Files.writeString(file, "id: survives\ntargets: [T1]\nsteps:\n  - command: [\"true\"]\n");
        assertThat(msx("job", "create", "-f", file.toString()).exitCode()).isZero();
        assertThat(msx("job", "start", "survives", "--wait").exitCode()).isZero();
        TargetView before = master.target("T1").orElseThrow();
        master.close();

        master = new MasterPublisher(new MasterConfig(Configs.master(stack, topics.prefix(), "it")),
                Clock.systemUTC());
        running.add(master);
        master.start();

        assertThat(master.jobs()).extracting(JobView::jobId).containsExactly("survives");
        await().atMost(Duration.ofSeconds(30)).alias("views replayed from the status topic").until(() ->
                master.history("survives").map(h -> h.size() == 1).orElse(false)
                        && master.target("T1").map(t -> t.lastSeq() >= before.lastSeq()).orElse(false));
        assertThat(master.target("T1").orElseThrow().lastPoll()).isEqualTo(before.lastPoll());
        await().atMost(Duration.ofSeconds(30)).alias("download list rebuilt with posting details and acks")
                .until(() -> master.instructions("T1", "survives").stream()
                        .filter(i -> i.postedAt() != null && i.status().equals("APPLIED")).count() == 2);
        assertThat(msx("job", "start", "survives", "--wait").exitCode()).as("the restarted master knows the job")
                .isZero();
    }
}
