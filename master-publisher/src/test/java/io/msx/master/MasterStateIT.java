package io.msx.master;

import io.msx.agent.TargetAgent;
import io.msx.agent.TargetAgentConfig;
import io.msx.agent.TargetAgentDefectedException;
import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.avro.CommandStatus;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.StatusHeader;
import io.msx.avro.command.EnlistTarget;
import io.msx.avro.command.ForcePoll;
import io.msx.avro.command.ResyncTargets;
import io.msx.avro.command.UpdateGroup;
import io.msx.avro.command.UpsertJob;
import io.msx.avro.status.Enlist;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import io.msx.local.ManualClock;
import io.msx.master.client.CommandClient;
import io.msx.master.internal.topology.MasterTopology;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.schemas.SchemaRegistryConfig;
import io.msx.schemas.Topics;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

/**
 * The master's views live in its Kafka Streams stores (RocksDB in {@code state.dir}, compacted changelogs), not in a
 * replay of the topics it reads: job history outlives the status events it was built from, a defected target stays
 * defected, a pending resync stays pending, and the registration the command sub-topology committed is the one the
 * views show (whichever of a group change and a target's Enlist is decided first), each across a restart of the
 * master on the same state directory.
 *
 * <p>The status events are expired with {@code Admin.deleteRecords} on a topic configured for 1 s retention: the same
 * move of the log start offset the broker's retention makes, without waiting for its retention check (the embedded
 * broker keeps the default {@code log.retention.check.interval.ms} of 5 minutes, a broker setting no topic can
 * override). {@code -Dmsx.it.brokerRetention=true} waits for the broker's own retention instead (up to 6 minutes).
 */
@ExtendWith(LocalStackExtension.class)
class MasterStateIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final boolean BROKER_RETENTION = Boolean.getBoolean("msx.it.brokerRetention");

    @TempDir
    Path masterState;
    @TempDir
    Path agentData;

    private LocalStack stack;
    private Topics topics;
    private MsxCodec codec;
    private Admin admin;
    private KafkaProducer<byte[], byte[]> producer;
    private CommandClient commands;
    /** Closed last in, first out: agents before the master they talk to. */
    private final Deque<AutoCloseable> running = new ArrayDeque<>();

    @BeforeEach
    void connect(LocalStack stack) {
        this.stack = stack;
        topics = new Topics(LocalStack.uniqueTopicPrefix());
        SchemaRegistryClient registry = new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl()));
        codec = MsxCodec.of(registry, false);
        admin = Admin.create(Configs.kafka(stack));
        producer = new KafkaProducer<>(Configs.kafka(stack), new ByteArraySerializer(), new ByteArraySerializer());
        commands = new CommandClient(Configs.kafka(stack), registry, topics);
    }

    @AfterEach
    void closeAll() throws Exception {
        while (!running.isEmpty()) {
            running.pop().close();
        }
        commands.close();
        producer.close(Duration.ofSeconds(5));
        admin.close(Duration.ofSeconds(5));
    }

    @Test
    void shouldKeepJobHistoryAndTargetsWhenStatusEventsExpiredAndTheMasterRestarts() throws Exception {
        Map<String, Object> config = Map.of(MasterConfig.STATUS_TOPIC_RETENTION_MS_CONFIG, 1000L);
        MasterPublisher master = startMaster(config, Clock.systemUTC());
        TargetAgent t1 = startAgent("T1");
        awaitReady(master, List.of("T1"), List.of(t1));
        assertThat(topicConfig(topics.status(), TopicConfig.RETENTION_MS_CONFIG)).as("retention.ms of %s",
                topics.status()).isEqualTo("1000");

        Path job = agentData.resolve("survivor.yaml");
        Files.writeString(job, """
                id: survivor
                targets: [T1]
                steps:
                  - name: hello
                    command: [sh, -c, "echo survived"]
                """);
        MsxRun created = msx(master, "job", "create", "-f", job.toString());
        assertThat(created.exitCode()).as("stderr: %s", created.err()).isZero();
        await().atMost(TIMEOUT).alias("T1 holds the job").until(() -> t1.jobIds().contains("survivor"));
        MsxRun started = msx(master, "job", "start", "survivor", "--wait");
        assertThat(started.exitCode()).as("stderr: %s", started.err()).isZero();
        List<JobRunView> history = master.history("survivor").orElseThrow();
        assertThat(history).singleElement().satisfies(run -> {
            assertThat(run.target()).isEqualTo("T1");
            assertThat(run.status()).isEqualTo("SUCCEEDED");
            assertThat(run.steps()).singleElement().satisfies(step -> {
                assertThat(step.name()).isEqualTo("hello");
                assertThat(step.output()).isEqualTo("survived\n");
            });
        });

        t1.close();
        Map<TopicPartition, Long> ends = awaitConsumedByMaster(topics.status());
        TargetView t1Before = master.target("T1").orElseThrow();
        expire(topics.status(), ends);
        assertThat(readAll(topics.status())).as("status events left on %s", topics.status()).isEmpty();

        ManualClock clock = new ManualClock(Instant.now());
        master = restart(master, config, clock);

        assertThat(master.history("survivor")).as("history after the restart").contains(history);
        TargetView t1After = master.target("T1").orElseThrow();
        assertThat(t1After.epoch()).isEqualTo(t1Before.epoch());
        assertThat(t1After.lastSeq()).isEqualTo(t1Before.lastSeq());
        assertThat(t1After.lastPollReceivedAt()).isEqualTo(t1Before.lastPollReceivedAt());
        assertThat(t1After.status()).as("T1 a moment after its last check-in").isEqualTo(TargetStatus.NORMAL);
        assertThat(master.targets()).extracting(TargetView::name).containsExactly("T1");
        assertThat(earliest(topics.status())).as("nothing on %s was there to replay", topics.status())
                .isEqualTo(ends);

        Instant suspectedAfter = t1After.lastPollReceivedAt().plusSeconds(
                (long) t1After.pollingIntervalSeconds() * 3);
        clock.advance(Duration.between(clock.instant(), suspectedAfter).plusMinutes(1));
        assertThat(master.target("T1")).as("T1 silent for more than 3 polling intervals").hasValueSatisfying(
                view -> assertThat(view.status()).isEqualTo(TargetStatus.SUSPECTED_OFFLINE));
        assertThat(master.targets()).extracting(TargetView::name, TargetView::status)
                .containsExactly(tuple("T1", TargetStatus.SUSPECTED_OFFLINE));
        assertThat(master.history("survivor")).contains(history);
    }

    @Test
    void shouldKeepADefectedTargetDefectedWhenTheMasterAndTheAgentRestart() throws Exception {
        MasterPublisher master = startMaster(Map.of(), Clock.systemUTC());
        TargetAgent t1 = startAgent("T1");
        TargetAgent t2 = startAgent("T2");
        awaitReady(master, List.of("T1", "T2"), List.of(t1, t2));
        String epoch = master.target("T1").orElseThrow().epoch();
        assertThat(epoch).isNotBlank();

        MsxRun defect = msx(master, "target", "defect", "T1");
        assertThat(defect.exitCode()).as("stderr: %s", defect.err()).isZero();
        await().atMost(TIMEOUT).alias("T1 gone from the targets").until(() -> master.targets().stream()
                .map(TargetView::name).toList().equals(List.of("T2")));
        assertThat(t1.awaitTermination(TIMEOUT)).as("T1 applied its DEFECT").isEqualTo(TargetAgent.State.DEFECTED);
        t1.close();
        awaitConsumedByMaster(topics.status());

        MasterPublisher restarted = restart(master, Map.of(), Clock.systemUTC());
        assertThat(restarted.targets()).extracting(TargetView::name).containsExactly("T2");
        assertThat(restarted.target("T1")).isEmpty();

        TargetAgent again = agent("T1");
        assertThatThrownBy(again::start).as("T1's agent, started again on its data directory")
                .isInstanceOf(TargetAgentDefectedException.class).hasMessageContaining("defected");

        // T1's own Enlist, replayed with the same epoch and the seq after the last one T1 ever sent
        List<ConsumerRecord<byte[], byte[]>> t1Events = readAll(topics.status()).stream()
                .filter(r -> "T1".equals(key(r))).toList();
        Enlist original = t1Events.stream().map(this::status).filter(Enlist.class::isInstance)
                .map(Enlist.class::cast).filter(e -> epoch.equals(e.getHeader().getEpoch())).findFirst()
                .orElseThrow(() -> new AssertionError("no Enlist of T1 (epoch " + epoch + ") on " + topics.status()));
        long lastSeq = t1Events.stream().map(this::status).filter(e -> e != null)
                .mapToLong(e -> MessageFamily.STATUS.<StatusHeader>header(e).getSeq()).max().orElseThrow();
        Enlist forged = Enlist.newBuilder(original).setHeader(StatusHeader.newBuilder(original.getHeader())
                .setSeq(lastSeq + 1).setOccurredAt(Instant.now().truncatedTo(ChronoUnit.MILLIS)).build()).build();
        byte[] forgedBytes = codec.encode(forged);
        RecordMetadata at = send(topics.status(), "T1", forgedBytes);

        awaitForcePolled(restarted, "T2");
        awaitCommittedPast(new TopicPartition(topics.status(), at.partition()), at.offset());
        String control = MasterTopology.Context.controlTopic(topics);
        Optional<ConsumerRecord<byte[], byte[]>> forwarded = readAll(control).stream()
                .filter(r -> Arrays.equals(r.value(), forgedBytes)).findFirst();
        if (forwarded.isPresent()) { // the views handed it to the command sub-topology: that decided on it too
            awaitCommittedPast(new TopicPartition(control, forwarded.get().partition()), forwarded.get().offset());
        }
        assertThat(restarted.targets()).extracting(TargetView::name).as("after T1's replayed Enlist")
                .containsExactly("T2");
        assertThat(restarted.target("T1")).isEmpty();
    }

    @Test
    void shouldKeepAResyncPendingWhenTheMasterRestarts() throws Exception {
        MasterPublisher master = startMaster(Map.of(), Clock.systemUTC());
        TargetAgent t1 = startAgent("T1");
        awaitReady(master, List.of("T1"), List.of(t1));
        t1.close();

        CommandResult resync = submit(ResyncTargets.newBuilder().setHeader(header()).setTargets(List.of("T1"))
                .build());
        assertThat(resync.getStatus()).as("resync: %s", resync.getReason()).isEqualTo(CommandStatus.ACCEPTED);
        String resyncId = resync.getInstructions().stream().filter(i -> "RESYNC".equals(i.getOperation().toString()))
                .map(i -> i.getInstructionId().toString()).findFirst().orElseThrow();
        await().atMost(TIMEOUT).alias("T1 RESYNC_PENDING").until(() -> master.target("T1")
                .map(TargetView::status).orElse(null) == TargetStatus.RESYNC_PENDING);

        MasterPublisher restarted = restart(master, Map.of(), Clock.systemUTC());
        assertThat(restarted.target("T1")).as("T1 after the restart").hasValueSatisfying(
                view -> assertThat(view.status()).isEqualTo(TargetStatus.RESYNC_PENDING));

        TargetAgent back = startAgent("T1");
        await().atMost(TIMEOUT).alias("T1 applied the resync and is NORMAL").until(() -> restarted.target("T1")
                .map(TargetView::status).orElse(null) == TargetStatus.NORMAL);
        assertThat(back.awaitingResync()).isFalse();
        await().atMost(TIMEOUT).alias("the resync APPLIED in the download list").until(() ->
                restarted.instructions("T1", null).stream().anyMatch(i -> i.instructionId().equals(resyncId)
                        && i.status().equals("APPLIED")));
    }

    @Test
    void shouldShowTheCommittedGroupsWhenAGroupChangeRacesAnEnlist() throws Exception {
        MasterPublisher master = startMaster(Map.of(), Clock.systemUTC());
        // g exists (a group exists while it has members) and has a job: T2, registered by an operator, no agent
        CommandResult enlistT2 = submit(EnlistTarget.newBuilder().setHeader(header()).setTarget("T2")
                .setGroups(List.of("g")).build());
        assertThat(enlistT2.getStatus()).as("enlist T2: %s", enlistT2.getReason()).isEqualTo(CommandStatus.ACCEPTED);
        CommandResult upsert = submit(UpsertJob.newBuilder().setHeader(header()).setJob(JobDefinition.newBuilder()
                .setJobId("gjob").setName("gjob").setGroups(List.of("g")).setSteps(List.of(JobStep.newBuilder()
                        .setStepId(1).setName("s").setCommand(List.of("true")).build())).build()).build());
        assertThat(upsert.getStatus()).as("job on g: %s", upsert.getReason()).isEqualTo(CommandStatus.ACCEPTED);

        // T1's first start and the group change, at the same time: until T1's Enlist is decided the change is
        // rejected (unknown target), so it is submitted again until accepted
        TargetAgent t1 = agent("T1");
        CompletableFuture<Void> starting = CompletableFuture.runAsync(t1::start);
        AtomicInteger attempts = new AtomicInteger();
        List<String> rejections = new CopyOnWriteArrayList<>();
        await().atMost(TIMEOUT).alias("UpdateGroup(g += T1) accepted").until(() -> {
            attempts.incrementAndGet();
            CommandResult result = submit(UpdateGroup.newBuilder().setHeader(header()).setGroup("g")
                    .setAddTargets(List.of("T1")).build());
            if (result.getStatus() == CommandStatus.REJECTED) {
                rejections.add(result.getReason());
            }
            return result.getStatus() == CommandStatus.ACCEPTED;
        });
        starting.get();
        System.out.printf("MasterStateIT: UpdateGroup accepted at attempt %d%n", attempts.get());
        assertThat(rejections).as("rejections before T1 was registered (%s attempts)", attempts.get())
                .allSatisfy(reason -> assertThat(reason).isEqualTo("unknown target 'T1'"));
        awaitReady(master, List.of("T1"), List.of(t1));
        await().atMost(TIMEOUT).alias("T1 holds g's job").until(() -> t1.jobIds().equals(List.of("gjob")));
        assertGroups(master);

        MasterPublisher restarted = restart(master, Map.of(), Clock.systemUTC());
        assertGroups(restarted);
        assertThat(restarted.target("T1")).hasValueSatisfying(view -> {
            assertThat(view.status()).isEqualTo(TargetStatus.NORMAL);
            assertThat(view.epoch()).isEqualTo(t1.epoch());
        });
        awaitForcePolled(restarted, "T1");
        assertThat(t1.jobIds()).containsExactly("gjob");
    }

    @Test
    void shouldKeepAGroupChangeWhenAPreRegisteredTargetEnlistsAfterIt() throws Exception {
        MasterPublisher master = startMaster(Map.of(), Clock.systemUTC());
        CommandResult enlist = submit(EnlistTarget.newBuilder().setHeader(header()).setTarget("T1").build());
        assertThat(enlist.getStatus()).as("enlist T1: %s", enlist.getReason()).isEqualTo(CommandStatus.ACCEPTED);

        // the order the race above rarely takes: the group change is committed, then T1's first Enlist (a new
        // epoch over the operator's registration) is decided and must keep the group
        CommandResult updated = submit(UpdateGroup.newBuilder().setHeader(header()).setGroup("g")
                .setAddTargets(List.of("T1")).build());
        assertThat(updated.getStatus()).as("UpdateGroup: %s", updated.getReason()).isEqualTo(CommandStatus.ACCEPTED);
        TargetAgent t1 = startAgent("T1");
        awaitReady(master, List.of("T1"), List.of(t1));
        await().atMost(TIMEOUT).alias("T1's view has its epoch").until(() -> master.target("T1")
                .map(TargetView::epoch).map(t1.epoch()::equals).orElse(false));
        assertThat(master.groups()).isEqualTo(Map.of("g", List.of("T1")));
        assertThat(master.target("T1")).hasValueSatisfying(view -> assertThat(view.groups()).containsExactly("g"));

        MasterPublisher restarted = restart(master, Map.of(), Clock.systemUTC());
        assertThat(restarted.groups()).as("groups after the restart").isEqualTo(Map.of("g", List.of("T1")));
        assertThat(restarted.targets()).as("targets after the restart").singleElement().satisfies(view -> {
            assertThat(view.name()).isEqualTo("T1");
            assertThat(view.groups()).containsExactly("g");
            assertThat(view.epoch()).isEqualTo(t1.epoch());
            assertThat(view.status()).isEqualTo(TargetStatus.NORMAL);
        });
    }

    /** The command sub-topology's groups and the views' groups of each target agree: g = [T1, T2]. */
    private static void assertGroups(MasterPublisher master) {
        assertThat(master.groups()).as("groups (registrations store)").isEqualTo(Map.of("g", List.of("T1", "T2")));
        assertThat(master.targets()).as("targets (target-state store)")
                .extracting(TargetView::name, TargetView::groups).containsExactly(
                        tuple("T1", List.of("g")),
                        tuple("T2", List.of("g")));
    }

    // ---- master and agents

    private MasterPublisher startMaster(Map<String, Object> overrides, Clock clock) {
        Map<String, Object> config = Configs.master(stack, topics.prefix(), "state-it");
        config.put(MasterConfig.STATE_DIR_CONFIG, masterState.toString());
        config.putAll(overrides);
        MasterPublisher master = new MasterPublisher(new MasterConfig(config), clock);
        running.push(master);
        master.start();
        return master;
    }

    /** Closes the master and starts a new instance with the same configuration and state directory. */
    private MasterPublisher restart(MasterPublisher master, Map<String, Object> overrides, Clock clock)
            throws InterruptedException {
        long started = System.nanoTime();
        master.close();
        assertThat(master.awaitTermination(Duration.ZERO)).isEqualTo(MasterPublisher.State.STOPPED);
        running.remove(master);
        MasterPublisher next = startMaster(overrides, clock);
        System.out.printf("MasterStateIT: master restarted in %d ms%n", (System.nanoTime() - started) / 1_000_000);
        return next;
    }

    private TargetAgent agent(String name) {
        TargetAgent agent = new TargetAgent(new TargetAgentConfig(Configs.agent(stack, topics.prefix(), name,
                agentData.resolve(name))), Clock.systemUTC());
        running.push(agent);
        return agent;
    }

    private TargetAgent startAgent(String name) {
        TargetAgent agent = agent(name);
        agent.start();
        return agent;
    }

    /** The targets are NORMAL on the master and their agents consume, resynced. */
    private static void awaitReady(MasterPublisher master, List<String> names, List<TargetAgent> agents) {
        await().atMost(TIMEOUT).alias(names + " enlisted, resynced and consuming").until(() ->
                master.targets().stream().filter(t -> t.status() == TargetStatus.NORMAL).map(TargetView::name)
                        .toList().containsAll(names)
                        && agents.stream().allMatch(a -> consuming(a) && !a.awaitingResync()));
    }

    private static boolean consuming(TargetAgent agent) {
        try {
            return agent.awaitConsuming(Duration.ZERO);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Force-polls a target end to end: the command is accepted and the target's answering check-in arrives. */
    private void awaitForcePolled(MasterPublisher master, String target) throws InterruptedException {
        CommandResult result = submit(ForcePoll.newBuilder().setHeader(header())
                .setTargets(List.of(target)).build());
        assertThat(result.getStatus()).as("force poll of %s: %s", target, result.getReason())
                .isEqualTo(CommandStatus.ACCEPTED);
        String posted = result.getInstructions().get(0).getInstructionId().toString();
        await().atMost(TIMEOUT).alias(target + " answers force poll " + posted).until(() -> master.target(target)
                .map(TargetView::lastAnsweredInstructionId).map(posted::equals).orElse(false));
    }

    private CommandResult submit(SpecificRecord command) throws InterruptedException {
        return commands.submit(command, TIMEOUT).orElseThrow(() -> new AssertionError("no result for "
                + MessageFamily.typeName(command) + " within " + TIMEOUT));
    }

    private static CommandHeader header() {
        return CommandHeader.newBuilder().setCommandId(UUID.randomUUID())
                .setIssuedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS)).setIssuedBy("MasterStateIT").build();
    }

    private MsxRun msx(MasterPublisher master, String... args) {
        return MsxRun.of(stack, topics, master, args);
    }

    // ---- topics, offsets, records

    private String masterGroup() {
        return topics.prefix() + "master"; // the Streams application.id
    }

    /**
     * Waits until the master committed (exactly once: with what it made of them) every record now on {@code topic};
     * returns the end offsets it reached.
     */
    private Map<TopicPartition, Long> awaitConsumedByMaster(String topic) throws Exception {
        Map<TopicPartition, Long> lastRecord = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : readAll(topic)) {
            lastRecord.merge(new TopicPartition(r.topic(), r.partition()), r.offset(), Math::max);
        }
        lastRecord.forEach(this::awaitCommittedPast);
        return latest(topic);
    }

    private void awaitCommittedPast(TopicPartition partition, long offset) {
        await().atMost(TIMEOUT).alias("master committed " + partition + " past offset " + offset).until(() -> {
            OffsetAndMetadata committed = admin.listConsumerGroupOffsets(masterGroup())
                    .partitionsToOffsetAndMetadata().get().get(partition);
            return committed != null && committed.offset() > offset;
        });
    }

    /**
     * Expires every record of {@code topic} up to {@code ends}: retention of 1 s on small segments, so the broker would
     * delete them too, and the log start offset moved to the end offset (see the class comment).
     */
    private void expire(String topic, Map<TopicPartition, Long> ends) throws Exception {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        admin.incrementalAlterConfigs(Map.of(resource, List.of(
                new AlterConfigOp(new ConfigEntry(TopicConfig.RETENTION_MS_CONFIG, "1000"), AlterConfigOp.OpType.SET),
                new AlterConfigOp(new ConfigEntry(TopicConfig.SEGMENT_MS_CONFIG, "1000"), AlterConfigOp.OpType.SET))))
                .all().get();
        if (!BROKER_RETENTION) {
            admin.deleteRecords(ends.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey,
                    e -> RecordsToDelete.beforeOffset(e.getValue())))).all().get();
        }
        long started = System.nanoTime();
        await().atMost(BROKER_RETENTION ? Duration.ofMinutes(6) : TIMEOUT).pollInterval(Duration.ofMillis(500))
                .alias("log start offsets of " + topic + " at " + ends).until(() -> earliest(topic).entrySet().stream()
                        .allMatch(e -> e.getValue() >= ends.get(e.getKey())));
        System.out.printf("MasterStateIT: %s expired in %d ms (%s)%n", topic, (System.nanoTime() - started)
                / 1_000_000, BROKER_RETENTION ? "broker retention" : "deleteRecords");
    }

    private String topicConfig(String topic, String name) throws Exception {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        return admin.describeConfigs(List.of(resource)).all().get().get(resource).get(name).value();
    }

    private Map<TopicPartition, Long> earliest(String topic) throws Exception {
        return offsets(topic, OffsetSpec.earliest());
    }

    private Map<TopicPartition, Long> latest(String topic) throws Exception {
        return offsets(topic, OffsetSpec.latest());
    }

    private Map<TopicPartition, Long> offsets(String topic, OffsetSpec spec) throws Exception {
        Map<TopicPartition, OffsetSpec> partitions = admin.describeTopics(List.of(topic)).allTopicNames().get()
                .get(topic).partitions().stream().collect(Collectors.toMap(
                        p -> new TopicPartition(topic, p.partition()), p -> spec));
        Map<TopicPartition, Long> offsets = new HashMap<>();
        admin.listOffsets(partitions).all().get().forEach((tp, info) -> offsets.put(tp, info.offset()));
        return offsets;
    }

    private RecordMetadata send(String topic, String key, byte[] value) throws InterruptedException {
        try {
            return producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value)).get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot write to " + topic + ": " + e.getCause(), e.getCause());
        }
    }

    /** Everything committed on a topic now. */
    private List<ConsumerRecord<byte[], byte[]>> readAll(String topic) {
        return Fleet.readAll(stack, topic);
    }

    private static String key(ConsumerRecord<byte[], byte[]> record) {
        return record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
    }

    /** The status event a record holds, or null when it holds none this codec reads. */
    private SpecificRecord status(ConsumerRecord<byte[], byte[]> record) {
        if (record.value() == null) {
            return null;
        }
        Decoded decoded = codec.decode(MessageFamily.STATUS, record.topic(), record.partition(), record.offset(),
                record.value());
        return decoded instanceof Decoded.Message m ? m.value() : null;
    }
}
