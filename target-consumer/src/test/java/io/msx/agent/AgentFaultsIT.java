package io.msx.agent;

import io.msx.avro.InstructionHeader;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.instruction.JobInsert;
import io.msx.avro.instruction.JobStart;
import io.msx.avro.instruction.PollNow;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.JobOutcome;
import io.msx.avro.status.RunStatus;
import io.msx.avro.status.StepOutcome;
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
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Faults of the status side against the real broker, registry, RocksDB and OS processes, with instructions produced
 * straight onto the target's topic (standing in for the master): an outcome that would exceed Kafka's request size,
 * and a status spool that fills up because its topic cannot take events.
 */
@ExtendWith(LocalStackExtension.class)
class AgentFaultsIT {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path data;

    /** Job steps' work directory: outside the data directory, and removed after the test. */
    @TempDir
    Path jobsDir;

    private LocalStack stack;
    private Topics topics;
    private MsxCodec codec;
    private Admin admin;
    private KafkaProducer<byte[], byte[]> producer;
    private AgentFixtures.StandInMaster master;
    private KafkaConsumer<byte[], byte[]> statusReader;
    private final List<SpecificRecord> seen = new ArrayList<>();
    private TargetAgent agent;

    @BeforeEach
    void setUp(LocalStack stack) throws Exception {
        this.stack = stack;
        topics = new Topics(LocalStack.uniqueTopicPrefix());
        admin = Admin.create(AgentFixtures.kafka(stack));
        admin.createTopics(List.of(new NewTopic(topics.target("T1"), 1, (short) 1),
                new NewTopic(Topics.deadLetter(topics.target("T1")), 1, (short) 1))).all().get();
        codec = MsxCodec.of(new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl())), true);
        producer = new KafkaProducer<>(AgentFixtures.kafka(stack), new ByteArraySerializer(),
                new ByteArraySerializer());
        master = new AgentFixtures.StandInMaster(producer, codec, topics);
    }

    @AfterEach
    void tearDown() {
        if (agent != null) {
            agent.close();
        }
        producer.close();
        if (statusReader != null) {
            statusReader.close();
        }
        admin.close();
    }

    private void createStatusTopic() throws Exception {
        admin.createTopics(List.of(new NewTopic(topics.status(), 1, (short) 1))).all().get();
        statusReader = new KafkaConsumer<>(AgentFixtures.kafka(stack), new ByteArrayDeserializer(),
                new ByteArrayDeserializer());
        TopicPartition status = new TopicPartition(topics.status(), 0);
        statusReader.assign(List.of(status));
        statusReader.seekToBeginning(List.of(status));
    }

    private TargetAgent startAgent(Map<String, Object> extra) throws InterruptedException {
        Map<String, Object> config = AgentFixtures.agentConfig(stack, topics, "T1", data);
        config.put(TargetAgentConfig.POLL_INTERVAL_MS_CONFIG, 10_000L);
        config.put(TargetAgentConfig.JOBS_WORK_DIR_CONFIG, jobsDir.toString());
        config.putAll(extra);
        TargetAgent started = new TargetAgent(new TargetAgentConfig(config), Clock.systemUTC());
        started.start();
        assertThat(started.awaitConsuming(Duration.ofSeconds(30))).isTrue();
        return started;
    }

    private UUID post(Function<InstructionHeader, SpecificRecord> instruction) throws Exception {
        return master.post("T1", instruction);
    }

    private List<SpecificRecord> statusEvents() {
        statusReader.poll(Duration.ofMillis(100)).forEach(r -> seen.add(((Decoded.Message) codec.decode(
                MessageFamily.STATUS, r.topic(), r.partition(), r.offset(), r.value())).value()));
        return seen;
    }

    private List<JobOutcome> outcomes() {
        return statusEvents().stream().filter(e -> e instanceof JobOutcome).map(e -> (JobOutcome) e).toList();
    }

    private static JobStep step(int id, String script, int maxOutputBytes) {
        return JobStep.newBuilder().setStepId(id).setName("step-" + id).setCommand(List.of("sh", "-c", script))
                .setMaxOutputBytes(maxOutputBytes).build();
    }

    @Test
    void shouldDeliverAnOutcomeThatWouldExceedOneMebibyteTruncatedAndGoOn() throws Exception {
        createStatusTopic();
        agent = startAgent(Map.of());
        // 20 steps printing 70 KB each, each allowed 1 MiB of output: 1.4 MB of output in one run
        List<JobStep> steps = IntStream.rangeClosed(1, 20)
                .mapToObj(i -> step(i, "head -c 70000 /dev/zero | tr '\\0' x; exit 0", 1024 * 1024)).toList();
        JobDefinition job = JobDefinition.newBuilder().setJobId("chatty").setName("chatty").setSteps(steps).build();
        post(h -> JobInsert.newBuilder().setHeader(h).setJob(job).build());
        post(h -> JobStart.newBuilder().setHeader(h).setJobId("chatty").build());

        await().atMost(WAIT).alias("the chatty run's outcome").until(() -> !outcomes().isEmpty());
        JobOutcome outcome = outcomes().get(0);
        assertThat(outcome.getStatus()).isEqualTo(RunStatus.SUCCEEDED);
        assertThat(outcome.getSteps()).as("every attempt kept with its exit code").hasSize(20)
                .allSatisfy(s -> assertThat(s.getExitCode()).isZero());
        assertThat(outcome.getSteps()).filteredOn(StepOutcome::getOutputTruncated).isNotEmpty()
                .allSatisfy(s -> assertThat(s.getOutput()).contains("[msx: output truncated"));
        int output = outcome.getSteps().stream().mapToInt(s -> s.getOutput().length()).sum();
        assertThat(output).as("bounded at the source").isLessThan(1024 * 1024);

        UUID poll = post(h -> PollNow.newBuilder().setHeader(h).build());
        await().atMost(WAIT).alias("the next events flow").until(() -> statusEvents().stream()
                .anyMatch(e -> e instanceof CheckIn c && poll.equals(c.getAnswersInstructionId())));
        assertThat(statusEvents().stream().filter(e -> e instanceof CheckIn c
                && poll.equals(c.getAnswersInstructionId())).map(e -> (CheckIn) e).findFirst().orElseThrow()
                .getDeadLetteredEvents()).as("nothing had to be dead-lettered").isZero();
    }

    @Test
    void shouldKeepOutcomesOfRunningJobsRefuseNewStartsAndReportBlockedWhileTheSpoolIsFull() throws Exception {
        // the status topic does not exist yet: the spool relay cannot deliver, the spool fills up (16 KiB, half of
        // it reserved for outcomes of runs already started and for check-ins)
        agent = startAgent(Map.of(TargetAgentConfig.SPOOL_MAX_BYTES_CONFIG, 16_384L));
        JobDefinition slow = JobDefinition.newBuilder().setJobId("slow").setName("slow")
                .setSteps(List.of(step(1, "sleep 10; echo done", 1024))).build();
        post(h -> JobInsert.newBuilder().setHeader(h).setJob(slow).build());
        UUID first = post(h -> JobStart.newBuilder().setHeader(h).setJobId("slow").build());
        int starts = 30;
        for (int i = 0; i < starts; i++) {
            post(h -> JobStart.newBuilder().setHeader(h).setJobId("slow").build());
        }
        long last = starts + 1;
        await().atMost(WAIT).alias("every START applied while the run goes on")
                .until(() -> committed() == last + 1);
        assertThat(agent.spoolStats().full()).as("new work refused").isTrue();

        createStatusTopic(); // the broker takes events again
        await().atMost(WAIT).alias("the running job's outcome delivered").until(() -> outcomes().stream()
                .anyMatch(o -> o.getTrigger().equals(first.toString()) && o.getStatus() == RunStatus.SUCCEEDED));
        await().atMost(WAIT).alias("every start answered").until(() -> outcomes().stream()
                .filter(o -> o.getStatus() == RunStatus.SKIPPED).count() == starts);

        List<JobOutcome> skipped = outcomes().stream().filter(o -> o.getStatus() == RunStatus.SKIPPED).toList();
        assertThat(skipped).extracting(JobOutcome::getMessage).as("refused while full, with the reason")
                .anyMatch(m -> m.startsWith("status spool full"))
                .anyMatch(m -> m.startsWith("an instance is already running"));
        assertThat(outcomes()).as("one run, once; every other start skipped")
                .filteredOn(o -> o.getStatus() != RunStatus.SKIPPED).singleElement()
                .satisfies(o -> assertThat(o.getTrigger()).isEqualTo(first.toString()));
        List<CheckIn> checkIns = statusEvents().stream().filter(e -> e instanceof CheckIn).map(e -> (CheckIn) e)
                .toList();
        CheckIn blocked = checkIns.stream().filter(CheckIn::getSpoolFull).findFirst().orElseThrow(
                () -> new AssertionError("no check-in reported the full spool: " + checkIns));
        Instant firstRefusal = skipped.stream().filter(o -> o.getMessage().startsWith("status spool full"))
                .map(JobOutcome::getEndedAt).min(Instant::compareTo).orElseThrow();
        assertThat(Duration.between(firstRefusal, blocked.getHeader().getOccurredAt()))
                .as("reported BLOCKED by the next check-in, within one polling interval")
                .isLessThanOrEqualTo(Duration.ofSeconds(11));
        await().atMost(WAIT).alias("a later check-in says the spool drained").until(() -> statusEvents().stream()
                .anyMatch(e -> e instanceof CheckIn c && !c.getSpoolFull()
                        && c.getHeader().getSeq() > blocked.getHeader().getSeq()));
    }

    /** The agent's committed offset on its topic (what the master reads as lag). */
    private long committed() throws Exception {
        var offsets = admin.listConsumerGroupOffsets(topics.targetConsumerGroup("T1"))
                .partitionsToOffsetAndMetadata().get();
        var offset = offsets.get(new TopicPartition(topics.target("T1"), 0));
        return offset == null ? -1 : offset.offset();
    }
}
