package io.msx.agent;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.msx.MsxVersion;
import io.msx.avro.InstructionHeader;
import io.msx.avro.StatusHeader;
import io.msx.avro.instruction.JobInsert;
import io.msx.avro.instruction.JobStart;
import io.msx.avro.instruction.JobStop;
import io.msx.avro.instruction.PollNow;
import io.msx.avro.instruction.SetPollInterval;
import io.msx.avro.instruction.SyncTime;
import io.msx.avro.status.AckStatus;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.CheckInTrigger;
import io.msx.avro.status.ClockReport;
import io.msx.avro.status.Enlist;
import io.msx.avro.status.InstructionAck;
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
import io.msx.schemas.DeadLetters;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericRecordBuilder;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The agent against the real broker and registry, with instructions produced straight onto its topic (standing in
 * for the master): bad instructions are acknowledged with their error and do not block the ones after them; what it
 * cannot read goes to the topic's dead-letter topic first.
 */
@ExtendWith(LocalStackExtension.class)
class TargetAgentIT {

    @TempDir
    Path data;

    /** Job steps' work directory: outside the data directory, and removed after the test. */
    @TempDir
    Path jobsDir;

    private LocalStack stack;
    private Topics topics;
    private MsxCodec codec;
    private KafkaProducer<byte[], byte[]> producer;
    private KafkaConsumer<byte[], byte[]> statusReader;
    private AgentFixtures.StandInMaster master;
    private final List<SpecificRecord> seen = new ArrayList<>();
    private TargetAgent agent;

    @BeforeEach
    void setUp(LocalStack stack) throws Exception {
        this.stack = stack;
        topics = new Topics(LocalStack.uniqueTopicPrefix());
        try (Admin admin = Admin.create(AgentFixtures.kafka(stack))) {
            admin.createTopics(List.of(new NewTopic(topics.status(), 1, (short) 1),
                    new NewTopic(topics.target("T1"), 1, (short) 1),
                    new NewTopic(Topics.deadLetter(topics.target("T1")), 1, (short) 1))).all().get();
        }
        codec = MsxCodec.of(new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl())), true);
        producer = new KafkaProducer<>(AgentFixtures.kafka(stack), new ByteArraySerializer(),
                new ByteArraySerializer());
        master = new AgentFixtures.StandInMaster(producer, codec, topics);
        statusReader = new KafkaConsumer<>(AgentFixtures.kafka(stack), new ByteArrayDeserializer(),
                new ByteArrayDeserializer());
        TopicPartition status = new TopicPartition(topics.status(), 0);
        statusReader.assign(List.of(status));
        statusReader.seekToBeginning(List.of(status));
    }

    @AfterEach
    void tearDown() {
        if (agent != null) {
            agent.close();
        }
        producer.close();
        statusReader.close();
    }

    private TargetAgent startAgent() throws InterruptedException {
        return startAgent(-1);
    }

    private TargetAgent startAgent(int httpPort) throws InterruptedException {
        TargetAgent started = new TargetAgent(config(httpPort), Clock.systemUTC());
        started.start();
        assertThat(started.awaitConsuming(Duration.ofSeconds(30))).isTrue();
        return started;
    }

    private TargetAgentConfig config(int httpPort) {
        Map<String, Object> config = AgentFixtures.agentConfig(stack, topics, "T1", data);
        config.put(TargetAgentConfig.HTTP_PORT_CONFIG, httpPort);
        config.put(TargetAgentConfig.JOBS_WORK_DIR_CONFIG, jobsDir.toString());
        config.put(TargetAgentConfig.TIME_ZONE_CONFIG, "Asia/Tokyo");
        return new TargetAgentConfig(config);
    }

    private static InstructionHeader header(UUID id, String target) {
        return AgentFixtures.StandInMaster.header(id, target);
    }

    /**
     * Posts on T1's topic the instruction built around a new header addressed to {@code target}, signed as the master
     * would, and returns its id.
     */
    private UUID post(String target, Function<InstructionHeader, SpecificRecord> instruction) throws Exception {
        return master.post("T1", target, instruction);
    }

    private List<SpecificRecord> statusEvents() {
        statusReader.poll(Duration.ofMillis(100)).forEach(r -> seen.add(((Decoded.Message) codec.decode(
                MessageFamily.STATUS, r.topic(), r.partition(), r.offset(), r.value())).value()));
        return seen;
    }

    private static long seq(SpecificRecord event) {
        return MessageFamily.STATUS.<StatusHeader>header(event).getSeq();
    }

    private List<InstructionAck> acks() {
        return statusEvents().stream().filter(e -> e instanceof InstructionAck).map(e -> (InstructionAck) e)
                .toList();
    }

    @Test
    void shouldAcknowledgeBadInstructionsWithTheirErrorAndApplyTheOnesAfter() throws Exception {
        agent = startAgent();
        producer.send(new ProducerRecord<>(topics.target("T1"), new byte[] {7, 7, 7, 7, 7, 7})).get();
        UUID job = post("T1", h -> JobStart.newBuilder().setHeader(h).setJobId("backup").build());
        UUID elsewhere = post("T2", h -> PollNow.newBuilder().setHeader(h).build());
        UUID tooFast = post("T1", h -> SetPollInterval.newBuilder().setHeader(h).setIntervalSeconds(5).build());
        UUID sync = post("T1", h -> SyncTime.newBuilder().setHeader(h)
                .setMasterTime(Instant.now().truncatedTo(ChronoUnit.MILLIS)).build());
        UUID poll = post("T1", h -> PollNow.newBuilder().setHeader(h).build());

        await().atMost(Duration.ofSeconds(30)).alias("six acknowledgements").until(() -> acks().size() >= 6);
        List<InstructionAck> acks = acks();
        assertThat(acks).extracting(InstructionAck::getOffset).containsExactly(0L, 1L, 2L, 3L, 4L, 5L);
        assertThat(acks.get(0).getStatus()).isEqualTo(AckStatus.FAILED);
        assertThat(acks.get(0).getError()).contains("undecodable").contains("magic byte 0x07");
        assertThat(acks.get(1).getInstructionId()).isEqualTo(job);
        assertThat(acks.get(1).getError()).isEqualTo("unknown job 'backup'");
        assertThat(acks.get(2).getInstructionId()).isEqualTo(elsewhere);
        assertThat(acks.get(2).getError()).contains("addressed to target 'T2'");
        assertThat(acks.get(3).getInstructionId()).isEqualTo(tooFast);
        assertThat(acks.get(3).getError()).contains("outside 10 s to 8 h");
        assertThat(acks.subList(4, 6)).extracting(InstructionAck::getStatus)
                .containsExactly(AckStatus.APPLIED, AckStatus.APPLIED);
        assertThat(acks.get(4).getInstructionId()).isEqualTo(sync);

        await().atMost(Duration.ofSeconds(30)).alias("forced check-in answering the poll").until(() ->
                statusEvents().stream().anyMatch(e -> e instanceof CheckIn c
                        && c.getTrigger() == CheckInTrigger.FORCED && poll.equals(c.getAnswersInstructionId())));
        CheckIn forced = statusEvents().stream().filter(e -> e instanceof CheckIn c
                && c.getTrigger() == CheckInTrigger.FORCED).map(e -> (CheckIn) e).findFirst().orElseThrow();
        assertThat(forced.getLastAppliedOffset()).isEqualTo(5L);
        assertThat(forced.getTimeZone()).isEqualTo("Asia/Tokyo");
        assertThat(statusEvents()).anySatisfy(e -> assertThat(e).isInstanceOfSatisfying(ClockReport.class,
                r -> assertThat(r.getInstructionId()).isEqualTo(sync)));
    }

    @Test
    void shouldEnlistFirstAndNumberEventsStrictlyUpwardAcrossRestarts() throws Exception {
        agent = startAgent();
        UUID first = post("T1", h -> PollNow.newBuilder().setHeader(h).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> acks().stream()
                .anyMatch(a -> a.getInstructionId().equals(first)));
        agent.close();

        agent = startAgent();
        UUID second = post("T1", h -> PollNow.newBuilder().setHeader(h).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> acks().stream()
                .anyMatch(a -> a.getInstructionId().equals(second)));

        List<SpecificRecord> events = statusEvents();
        assertThat(events.get(0)).isInstanceOf(Enlist.class);
        assertThat(events).extracting(TargetAgentIT::seq).isSorted().doesNotHaveDuplicates();
        assertThat(acks()).extracting(InstructionAck::getInstructionId)
                .as("the restarted agent resumes after what it applied").containsExactly(first, second);
    }

    @Test
    void shouldKeepThePollingIntervalAndADefectionAcrossRestarts() throws Exception {
        agent = startAgent();
        UUID set = post("T1", h -> SetPollInterval.newBuilder().setHeader(h).setIntervalSeconds(25).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> acks().stream()
                .anyMatch(a -> a.getInstructionId().equals(set)));
        agent.close();

        agent = startAgent();
        UUID poll = post("T1", h -> PollNow.newBuilder().setHeader(h).build());
        await().atMost(Duration.ofSeconds(30)).alias("forced check-in").until(() -> forcedCheckIn(poll) != null);
        assertThat(forcedCheckIn(poll).getPollingIntervalSeconds()).as("the master's interval, not the configured")
                .isEqualTo(25);

        UUID defect = post("T1", h -> io.msx.avro.instruction.Defect.newBuilder().setHeader(h)
                .setReason("decommissioned").build());
        assertThat(agent.awaitTermination(Duration.ofSeconds(30))).isEqualTo(TargetAgent.State.DEFECTED);
        assertThat(acks()).filteredOn(a -> a.getInstructionId().equals(defect)).singleElement()
                .satisfies(a -> assertThat(a.getStatus()).isEqualTo(AckStatus.APPLIED));
        agent.close();
        agent = null;

        TargetAgent again = new TargetAgent(config(-1), Clock.systemUTC());
        assertThatThrownBy(again::start).isInstanceOf(TargetAgentDefectedException.class)
                .hasMessageContaining("defected from the master (decommissioned)")
                .hasMessageContaining("until its data directory " + data + " is reset");
        assertThat(again.state()).isEqualTo(TargetAgent.State.STOPPED);
        long enlists = statusEvents().stream().filter(e -> e instanceof Enlist).count();
        assertThat(enlists).as("a defected agent does not enlist again").isEqualTo(2);
    }

    @Test
    void shouldDetectInstructionsLostToRetentionAskForAResyncAndStopAskingOnceResynced() throws Exception {
        agent = startAgent();
        UUID first = post("T1", h -> PollNow.newBuilder().setHeader(h).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> acks().stream()
                .anyMatch(a -> a.getInstructionId().equals(first)));
        agent.close();
        agent = null;

        // offline past the topic's retention: the next instructions expire before the agent reads them. They are
        // expired with Admin.deleteRecords, the same move of the log start offset the broker's retention makes, without
        // waiting for its retention check: the embedded broker keeps the default log.retention.check.interval.ms of
        // 5 minutes (its first check 30 s after it started), so a test relying on it passes only early in a run.
        TopicPartition partition = new TopicPartition(topics.target("T1"), 0);
        try (Admin admin = Admin.create(AgentFixtures.kafka(stack))) {
            for (int i = 0; i < 3; i++) {
                post("T1", h -> PollNow.newBuilder().setHeader(h).build());
            }
            long end = admin.listOffsets(Map.of(partition, OffsetSpec.latest())).partitionResult(partition).get()
                    .offset();
            admin.deleteRecords(Map.of(partition, RecordsToDelete.beforeOffset(end))).all().get();
            assertThat(admin.listOffsets(Map.of(partition, OffsetSpec.earliest())).partitionResult(partition).get()
                    .offset()).as("the expired instructions deleted").isEqualTo(4);
        }

        agent = startAgent();
        await().atMost(Duration.ofSeconds(30)).alias("a check-in asking for a resync").until(() -> resyncAsked() != null);
        CheckIn asking = resyncAsked();
        assertThat(asking.getInstructionsLost()).isGreaterThanOrEqualTo(3);
        assertThat(asking.getResyncReason()).contains("expired from the topic (retention)");

        UUID resync = post("T1", h -> io.msx.avro.instruction.Resync.newBuilder().setHeader(h).build());
        UUID poll = post("T1", h -> PollNow.newBuilder().setHeader(h).build());
        await().atMost(Duration.ofSeconds(30)).alias("forced check-in").until(() -> forcedCheckIn(poll) != null);
        assertThat(acks()).filteredOn(a -> a.getInstructionId().equals(resync)).singleElement()
                .satisfies(a -> assertThat(a.getStatus()).isEqualTo(AckStatus.APPLIED));
        assertThat(forcedCheckIn(poll).getResyncRequested()).as("resynced: no longer asking").isFalse();
        assertThat(forcedCheckIn(poll).getInstructionsLost()).as("the loss stays counted")
                .isEqualTo(asking.getInstructionsLost());
    }

    private CheckIn forcedCheckIn(UUID poll) {
        return statusEvents().stream().filter(e -> e instanceof CheckIn c && poll.equals(c.getAnswersInstructionId()))
                .map(e -> (CheckIn) e).findFirst().orElse(null);
    }

    private CheckIn resyncAsked() {
        return statusEvents().stream().filter(e -> e instanceof CheckIn c && c.getResyncRequested()
                && c.getInstructionsLost() > 0).map(e -> (CheckIn) e).findFirst().orElse(null);
    }

    @Test
    void shouldKeepItsInstallationAcrossARestartAfterTransactionalInstructions() throws Exception {
        agent = startAgent();
        String epoch = agent.epoch();
        List<UUID> posted = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> transactional = new KafkaProducer<>(AgentFixtures.kafka(stack,
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, "it-master-" + UUID.randomUUID()),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            transactional.initTransactions();
            for (int t = 0; t < 3; t++) { // as the master posts: each transaction ends with a marker offset
                transactional.beginTransaction();
                for (int i = 0; i < 2; i++) {
                    UUID id = UUID.randomUUID();
                    posted.add(id);
                    transactional.send(master.signed("T1", null, codec.encode(PollNow.newBuilder()
                            .setHeader(header(id, "T1")).build())));
                }
                transactional.commitTransaction();
            }
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> acks().size() == posted.size());
        agent.close();

        agent = startAgent();
        assertThat(agent.epoch()).as("a restart is not a restored directory").isEqualTo(epoch);
        UUID after = post("T1", h -> PollNow.newBuilder().setHeader(h).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> acks().stream()
                .anyMatch(a -> a.getInstructionId().equals(after)));
        assertThat(acks()).extracting(InstructionAck::getInstructionId).as("each applied once")
                .doesNotHaveDuplicates().containsAll(posted);
    }

    @Test
    void shouldBecomeANewInstallationWhenItsDataDirectoryIsRestoredFromABackup(@TempDir Path backup) throws Exception {
        Path lines = backup.resolve("lines");
        agent = startAgent();
        String epoch = agent.epoch();
        UUID insert = post("T1", h -> JobInsert.newBuilder().setHeader(h).setJob(job("once", "echo ran >> " + lines))
                .build());
        await().atMost(Duration.ofSeconds(30)).until(() -> acks().stream()
                .anyMatch(a -> a.getInstructionId().equals(insert)));
        agent.close();
        Path copy = backup.resolve("data");
        copyTree(data, copy); // the backup

        agent = startAgent();
        UUID start = post("T1", h -> JobStart.newBuilder().setHeader(h).setJobId("once").build());
        await().atMost(Duration.ofSeconds(30)).alias("the job ran once").until(() -> outcomes().stream()
                .anyMatch(o -> o.getTrigger().equals(start.toString())));
        agent.close();

        deleteTree(data);
        copyTree(copy, data); // restored: its store has not applied the START
        agent = startAgent();

        assertThat(agent.epoch()).as("a new installation").isNotEqualTo(epoch);
        assertThat(agent.awaitingResync()).isTrue();
        UUID poll = post("T1", h -> PollNow.newBuilder().setHeader(h).build());
        await().atMost(Duration.ofSeconds(30)).alias("forced check-in").until(() -> forcedCheckIn(poll) != null);
        assertThat(forcedCheckIn(poll).getResyncReason()).startsWith("restored or cloned data directory");
        assertThat(forcedCheckIn(poll).getHeader().getEpoch()).isEqualTo(agent.epoch());
        assertThat(acks()).filteredOn(a -> a.getInstructionId().equals(start)).as("the START is not applied again")
                .hasSize(1);
        assertThat(java.nio.file.Files.readAllLines(lines)).as("the job ran once").hasSize(1);
    }

    private static void copyTree(Path from, Path to) throws java.io.IOException {
        try (var paths = java.nio.file.Files.walk(from)) {
            for (Path p : paths.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (java.nio.file.Files.isDirectory(p)) {
                    java.nio.file.Files.createDirectories(target);
                } else {
                    java.nio.file.Files.copy(p, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static void deleteTree(Path dir) throws java.io.IOException {
        try (var paths = java.nio.file.Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                if (!p.equals(dir)) {
                    java.nio.file.Files.delete(p);
                }
            }
        }
    }

    private static io.msx.avro.JobDefinition job(String id, String script) {
        return io.msx.avro.JobDefinition.newBuilder().setJobId(id).setName(id).setSteps(List.of(
                io.msx.avro.JobStep.newBuilder().setStepId(1).setName("only").setCommand(List.of("sh", "-c", script))
                        .build())).build();
    }

    private List<JobOutcome> outcomes() {
        return statusEvents().stream().filter(e -> e instanceof JobOutcome).map(e -> (JobOutcome) e).toList();
    }

    @Test
    void shouldRunStartedJobsOneInstanceAtATimeAndStopThem() throws Exception {
        agent = startAgent();
        post("T1", h -> JobInsert.newBuilder().setHeader(h).setJob(job("hello", "echo hello from $MSX_JOB_ID"))
                .build());
        post("T1", h -> JobInsert.newBuilder().setHeader(h).setJob(job("sleeper", "sleep 300")).build());
        UUID badCron = post("T1", h -> JobInsert.newBuilder().setHeader(h).setJob(io.msx.avro.JobDefinition
                .newBuilder(job("bad", "true")).setSchedules(List.of(io.msx.avro.JobSchedule.newBuilder()
                        .setName("nightly").setCron("99 * * * *").build())).build()).build());
        post("T1", h -> JobStart.newBuilder().setHeader(h).setJobId("hello").build());
        post("T1", h -> JobStart.newBuilder().setHeader(h).setJobId("sleeper").build());
        UUID second = post("T1", h -> JobStart.newBuilder().setHeader(h).setJobId("sleeper").build());

        await().atMost(Duration.ofSeconds(30)).alias("hello succeeded, second sleeper start skipped").until(() ->
                outcomes().stream().anyMatch(o -> o.getJobId().equals("hello"))
                        && outcomes().stream().anyMatch(o -> o.getStatus() == RunStatus.SKIPPED));
        JobOutcome hello = outcomes().stream().filter(o -> o.getJobId().equals("hello")).findFirst()
                .orElseThrow();
        assertThat(hello.getStatus()).isEqualTo(RunStatus.SUCCEEDED);
        assertThat(hello.getSteps()).singleElement().satisfies(step ->
                assertThat(step.getOutput()).isEqualTo("hello from hello\n"));
        JobOutcome skipped = outcomes().stream()
                .filter(o -> o.getStatus() == RunStatus.SKIPPED).findFirst().orElseThrow();
        assertThat(skipped.getJobId()).isEqualTo("sleeper");
        assertThat(skipped.getTrigger()).isEqualTo(second.toString());
        assertThat(acks()).filteredOn(a -> a.getInstructionId().equals(badCron)).singleElement()
                .satisfies(a -> assertThat(a.getError()).contains("invalid cron '99 * * * *'"));
        assertThat(agent.jobIds()).containsExactly("hello", "sleeper");

        UUID stop = post("T1", h -> JobStop.newBuilder().setHeader(h).setJobId("sleeper").build());
        await().atMost(Duration.ofSeconds(30)).alias("sleeper canceled").until(() -> outcomes().stream()
                .anyMatch(o -> o.getJobId().equals("sleeper") && o.getStatus() == RunStatus.CANCELED));
        assertThat(acks()).filteredOn(a -> a.getInstructionId().equals(stop)).singleElement()
                .satisfies(a -> assertThat(a.getStatus()).isEqualTo(AckStatus.APPLIED));
        assertThat(statusEvents()).filteredOn(e -> e instanceof JobRunStarted).hasSize(2);
    }

    @Test
    void shouldRunJobStepsWithoutTheAgentsSecretsAndOnlyTheProgramsAllowedWhenTheyRun(@TempDir Path elsewhere)
            throws Exception {
        Map<String, String> environment = new java.util.HashMap<>(System.getenv());
        environment.put("MSX_SASL_JAAS_CONFIG", "org.apache.kafka.common.security.scram.ScramLoginModule required "
                + "username=\"T1\" password=\"it-secret\";");
        Path marker = elsewhere.resolve("marker");
        Path env = Path.of("/usr/bin/env").toRealPath();
        agent = new TargetAgent(config(-1), Clock.systemUTC(), new SimpleMeterRegistry(), environment);
        agent.start();
        assertThat(agent.awaitConsuming(Duration.ofSeconds(30))).isTrue();
        post("T1", h -> JobInsert.newBuilder().setHeader(h).setJob(program("touching", "/usr/bin/touch",
                marker.toString())).build());
        post("T1", h -> JobInsert.newBuilder().setHeader(h).setJob(program("printing", env.toString())).build());
        await().atMost(Duration.ofSeconds(30)).alias("both stored").until(() -> acks().size() == 2);
        agent.close();

        // the allow-list comes after the jobs were stored: it holds when they run
        Map<String, Object> guarded = new java.util.HashMap<>(config(-1).originals());
        guarded.put(TargetAgentConfig.JOBS_ALLOWED_COMMANDS_CONFIG, env.toString());
        agent = new TargetAgent(new TargetAgentConfig(guarded), Clock.systemUTC(), new SimpleMeterRegistry(),
                environment);
        agent.start();
        assertThat(agent.awaitConsuming(Duration.ofSeconds(30))).isTrue();
        post("T1", h -> JobStart.newBuilder().setHeader(h).setJobId("touching").build());
        post("T1", h -> JobStart.newBuilder().setHeader(h).setJobId("printing").build());
        UUID refused = post("T1", h -> JobInsert.newBuilder().setHeader(h).setJob(program("touching-again",
                "/usr/bin/touch", marker.toString())).build());

        await().atMost(Duration.ofSeconds(30)).alias("both outcomes").until(() -> outcomes().size() == 2);
        JobOutcome touching = outcomes().stream().filter(o -> o.getJobId().equals("touching")).findFirst()
                .orElseThrow();
        assertThat(touching.getStatus()).isEqualTo(RunStatus.FAILED);
        assertThat(touching.getSteps()).singleElement().satisfies(s -> assertThat(s.getMessage())
                .isEqualTo(Path.of("/usr/bin/touch").toRealPath() + " is not in jobs.allowed.commands: step not "
                        + "started"));
        assertThat(marker).doesNotExist();
        JobOutcome printing = outcomes().stream().filter(o -> o.getJobId().equals("printing")).findFirst()
                .orElseThrow();
        assertThat(printing.getStatus()).isEqualTo(RunStatus.SUCCEEDED);
        String output = printing.getSteps().get(0).getOutput();
        assertThat(output).doesNotContain("it-secret").doesNotContain("MSX_SASL_JAAS_CONFIG")
                .contains("MSX_RUN_ID=" + printing.getRunId()).contains("HOME=" + jobsDir);
        assertThat(output.lines().map(l -> l.substring(0, l.indexOf('='))).toList())
                .containsExactlyInAnyOrder("PATH", "HOME", "MSX_JOB_ID", "MSX_RUN_ID", "MSX_STEP_ID",
                        "MSX_ATTEMPT_SEQ");
        await().atMost(Duration.ofSeconds(30)).alias("insert acknowledged").until(() -> acks().stream()
                .anyMatch(a -> a.getInstructionId().equals(refused)));
        assertThat(acks()).filteredOn(a -> a.getInstructionId().equals(refused)).singleElement()
                .satisfies(a -> assertThat(a.getError()).isEqualTo("job 'touching-again' step 1: "
                        + Path.of("/usr/bin/touch").toRealPath() + " is not in jobs.allowed.commands"));
    }

    private static io.msx.avro.JobDefinition program(String id, String... command) {
        return io.msx.avro.JobDefinition.newBuilder().setJobId(id).setName(id).setSteps(List.of(
                io.msx.avro.JobStep.newBuilder().setStepId(1).setName("only").setCommand(List.of(command)).build()))
                .build();
    }

    @Test
    void shouldKeepItsJobsAcrossARestartAndReportThemInCheckIns() throws Exception {
        agent = startAgent();
        post("T1", h -> JobInsert.newBuilder().setHeader(h).setJob(job("kept", "true")).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> acks().size() == 1);
        agent.close();

        agent = startAgent();
        assertThat(agent.jobIds()).containsExactly("kept");
        UUID poll = post("T1", h -> PollNow.newBuilder().setHeader(h).build());
        await().atMost(Duration.ofSeconds(30)).alias("forced check-in").until(() -> statusEvents().stream()
                .anyMatch(e -> e instanceof CheckIn c && poll.equals(c.getAnswersInstructionId())));
        CheckIn checkIn = statusEvents().stream().filter(e -> e instanceof CheckIn c
                && poll.equals(c.getAnswersInstructionId())).map(e -> (CheckIn) e).findFirst().orElseThrow();
        assertThat(checkIn.getJobInventoryDigest()).hasSize(64);
        assertThat(checkIn.getLastAppliedOffset()).isEqualTo(1L);
        assertThat(acks()).as("nothing applied twice after the restart").hasSize(2);
    }

    @Test
    void shouldLetARunningStepFinishWhenClosedGracefully() throws Exception {
        agent = startAgent();
        post("T1", h -> JobInsert.newBuilder().setHeader(h).setJob(job("slowish", "sleep 2; echo finished")).build());
        post("T1", h -> JobStart.newBuilder().setHeader(h).setJobId("slowish").build());
        await().atMost(Duration.ofSeconds(30)).alias("run started").until(() -> statusEvents().stream()
                .anyMatch(e -> e instanceof JobRunStarted));

        agent.close(); // as on SIGTERM: no new runs, running steps may finish within shutdown.grace.ms

        assertThat(agent.state()).isEqualTo(TargetAgent.State.STOPPED);
        await().atMost(Duration.ofSeconds(30)).alias("outcome delivered before the spool closed")
                .until(() -> !outcomes().isEmpty());
        assertThat(outcomes()).singleElement().satisfies(o -> {
            assertThat(o.getStatus()).isEqualTo(RunStatus.SUCCEEDED);
            assertThat(o.getSteps().get(0).getOutput()).isEqualTo("finished\n");
        });
    }

    @Test
    void shouldDeadLetterWhatItCannotReadBeforeAcknowledgingItAndGoOn() throws Exception {
        agent = startAgent();
        RecordHeaders original = new RecordHeaders();
        original.add("origin", "test".getBytes(StandardCharsets.UTF_8));
        producer.send(new ProducerRecord<>(topics.target("T1"), null, "k".getBytes(StandardCharsets.UTF_8),
                new byte[] {7, 7, 7, 7, 7, 7}, original)).get();
        // a type a newer master might post (signed, as it would be): the header is readable, the rest is not this
        // agent's business
        Schema teleport = SchemaBuilder.record("Teleport").namespace(MessageFamily.INSTRUCTION.namespace()).fields()
                .name("header").type(InstructionHeader.getClassSchema()).noDefault()
                .requiredString("destination").endRecord();
        UUID future = UUID.randomUUID();
        // generic all the way down (plain strings and longs, no logical-type conversions), as a foreign writer would
        producer.send(master.signed("T1", null, codec.encode(new GenericRecordBuilder(teleport)
                .set("header", new GenericRecordBuilder(InstructionHeader.getClassSchema())
                        .set("instructionId", future.toString()).set("target", "T1")
                        .set("postedAt", System.currentTimeMillis()).build())
                .set("destination", "mars").build()))).get();
        UUID poll = post("T1", h -> PollNow.newBuilder().setHeader(h).build());

        await().atMost(Duration.ofSeconds(30)).alias("three acknowledgements").until(() -> acks().size() >= 3);
        List<InstructionAck> acks = acks();
        assertThat(acks.get(0).getInstructionId()).isEqualTo(io.msx.agent.internal.StatusReporter.UNDECODABLE);
        assertThat(acks.get(0).getError()).startsWith("undecodable instruction: ").contains("magic byte 0x07");
        assertThat(acks.get(1).getInstructionId()).isEqualTo(future);
        assertThat(acks.get(1).getStatus()).isEqualTo(AckStatus.FAILED);
        assertThat(acks.get(1).getError()).startsWith("unknown message type io.msx.avro.instruction.Teleport")
                .endsWith(": not supported by this agent version (" + MsxVersion.current() + ")");
        assertThat(acks.get(2).getInstructionId()).isEqualTo(poll);
        assertThat(acks.get(2).getStatus()).isEqualTo(AckStatus.APPLIED);

        List<ConsumerRecord<byte[], byte[]>> dead = deadLetters(2);
        assertThat(dead.get(0).key()).isEqualTo("k".getBytes(StandardCharsets.UTF_8));
        assertThat(dead.get(0).value()).isEqualTo(new byte[] {7, 7, 7, 7, 7, 7});
        assertThat(header(dead.get(0), "origin")).isEqualTo("test");
        assertThat(header(dead.get(0), DeadLetters.REASON_HEADER)).contains("magic byte 0x07");
        assertThat(header(dead.get(0), DeadLetters.TOPIC_HEADER)).isEqualTo(topics.target("T1"));
        assertThat(header(dead.get(0), DeadLetters.PARTITION_HEADER)).isEqualTo("0");
        assertThat(header(dead.get(0), DeadLetters.OFFSET_HEADER)).isEqualTo("0");
        assertThat(header(dead.get(1), DeadLetters.REASON_HEADER))
                .startsWith("unknown message type io.msx.avro.instruction.Teleport");
        assertThat(header(dead.get(1), DeadLetters.OFFSET_HEADER)).isEqualTo("1");
    }

    private List<ConsumerRecord<byte[], byte[]>> deadLetters(int expected) {
        List<ConsumerRecord<byte[], byte[]>> dead = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> reader = new KafkaConsumer<>(AgentFixtures.kafka(stack),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition dlq = new TopicPartition(Topics.deadLetter(topics.target("T1")), 0);
            reader.assign(List.of(dlq));
            reader.seekToBeginning(List.of(dlq));
            await().atMost(Duration.ofSeconds(30)).alias(expected + " dead letters").until(() -> {
                reader.poll(Duration.ofMillis(100)).forEach(dead::add);
                return dead.size() >= expected;
            });
        }
        return dead;
    }

    private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        return new String(record.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }

    @Test
    void shouldServeHealthAndPrometheusMetrics() throws Exception {
        agent = startAgent(0);
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + agent.httpPort();
        java.net.http.HttpResponse<String> health = http.send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(base + "/health")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        java.net.http.HttpResponse<String> metrics = http.send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(base + "/metrics")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());

        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).contains("\"state\":\"RUNNING\"").contains("\"consuming\":true")
                .contains("\"ready\":true").contains("\"epoch\":\"");
        for (String probe : List.of("/health/live", "/health/ready")) {
            assertThat(http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + probe)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode()).as(probe).isEqualTo(200);
        }
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body()).contains("msx_spool_depth{spool=\"T1\"}").contains("jvm_memory_used_bytes");
    }
}
