package io.msx.master;

import io.msx.agent.TargetAgent;
import io.msx.agent.TargetAgentConfig;
import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.avro.CommandStatus;
import io.msx.avro.InstructionHeader;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.StatusHeader;
import io.msx.avro.command.AcceptTarget;
import io.msx.avro.command.EnlistTarget;
import io.msx.avro.command.StartJob;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.CheckInTrigger;
import io.msx.avro.command.UpsertJob;
import io.msx.avro.instruction.JobInsert;
import io.msx.avro.instruction.JobStart;
import io.msx.avro.status.InstructionAck;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import io.msx.master.cli.MsxCli;
import io.msx.master.client.CommandClient;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.schemas.SchemaRegistryConfig;
import io.msx.schemas.Topics;
import io.msx.security.Ed25519Keys;
import io.msx.security.SignatureHeaders;
import io.msx.security.Signer;
import io.msx.security.StatusSignatures;
import io.msx.security.TestKeys;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The attacks the security review ran against the stack, each tried against the real secured broker: a master and
 * two targets run with their own least-privilege users (no super-user), an intruder holds only what each attack
 * needs.
 */
@ExtendWith(LocalStackExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SecurityIT {

    private static final Duration WAIT = Duration.ofSeconds(60);

    private Path data;

    private LocalStack stack;
    private Topics topics;
    private KafkaAccess access;
    private MasterPublisher master;
    private final List<AutoCloseable> running = new ArrayList<>();
    private final Map<String, KafkaAccess.Credentials> targets = new HashMap<>();
    private KafkaAccess.Credentials operator;
    private final Map<String, Signer> targetKeys = new HashMap<>();
    private MsxCodec codec;

    @BeforeAll
    void startSecuredFleet(LocalStack stack, @TempDir Path data) {
        this.stack = stack;
        this.data = data;
        topics = new Topics(LocalStack.uniqueTopicPrefix());
        access = new KafkaAccess(stack.adminClientProperties(), topics);
        codec = MsxCodec.of(new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl())), true);
        KafkaAccess.Credentials masterUser = access.provisionMaster("it-master-" + UUID.randomUUID());
        operator = access.provisionOperator("it-operator-" + UUID.randomUUID());
        Map<String, Object> masterConfig = new HashMap<>(Map.of(
                MasterConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
                MasterConfig.SCHEMA_REGISTRY_URL_CONFIG, stack.schemaRegistryUrl(),
                MasterConfig.TOPIC_PREFIX_CONFIG, topics.prefix(),
                MasterConfig.MASTER_ID_CONFIG, "secured",
                MasterConfig.STATE_DIR_CONFIG, data.resolve("master").toString(),
                MasterConfig.HTTP_PORT_CONFIG, 0));
        masterConfig.putAll(masterUser.clientSettings("SASL_PLAINTEXT"));
        masterConfig.putAll(TestKeys.masterSettings());
        // keys accepted only as pre-registered or by an operator
        masterConfig.put(MasterConfig.TARGETS_KEY_ACCEPTANCE_CONFIG, "manual");
        master = new MasterPublisher(new MasterConfig(masterConfig), Clock.systemUTC());
        running.add(master);
        master.start();
        for (String name : List.of("T1", "T2")) {
            // pre-registered with the fingerprint of the key the target will sign with
            Path key = data.resolve(name + ".key");
            targetKeys.put(name, new Signer(Ed25519Keys.readOrCreate(key)));
            try {
                submit(h -> EnlistTarget.newBuilder().setHeader(h).setTarget(name)
                        .setKeyFingerprint(targetKeys.get(name).keyId()).build());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            KafkaAccess.Credentials credentials = access.provisionTarget(name);
            targets.put(name, credentials);
            Map<String, Object> agentConfig = new HashMap<>(Map.of(
                    TargetAgentConfig.TARGET_NAME_CONFIG, name,
                    TargetAgentConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
                    TargetAgentConfig.SCHEMA_REGISTRY_URL_CONFIG, stack.schemaRegistryUrl(),
                    TargetAgentConfig.TOPIC_PREFIX_CONFIG, topics.prefix(),
                    TargetAgentConfig.DATA_DIR_CONFIG, data.resolve(name).toString()));
            agentConfig.putAll(credentials.clientSettings("SASL_PLAINTEXT"));
            agentConfig.putAll(TestKeys.agentSettings());
            agentConfig.put(TargetAgentConfig.SIGNING_KEY_FILE_CONFIG, key.toString());
            TargetAgent agent = new TargetAgent(new TargetAgentConfig(agentConfig), Clock.systemUTC());
            running.add(0, agent);
            agent.start();
        }
        await().atMost(WAIT).alias("T1 and T2 enlisted and consuming with their own users")
                .until(() -> master.targets().stream().filter(t -> t.status() == TargetStatus.NORMAL).count() == 2
                        && ready((TargetAgent) running.get(0)) && ready((TargetAgent) running.get(1)));
    }

    private static boolean ready(TargetAgent agent) throws InterruptedException {
        return agent.awaitConsuming(Duration.ZERO) && !agent.awaitingResync();
    }

    @AfterAll
    void stopAll() throws Exception {
        for (AutoCloseable c : running) {
            c.close();
        }
        access.close();
    }

    @Test
    void shouldConfineATargetsUserToItsOwnTopicAndGroup() throws Exception {
        try (Admin admin = Admin.create(stack.adminClientProperties())) {
            admin.createTopics(List.of(new NewTopic(topics.target("T10"), 1, (short) 1))).all().get();
        }
        Map<String, Object> t1 = clientOf("T1");

        for (String other : List.of("T2", "T10")) {
            try (KafkaConsumer<byte[], byte[]> consumer = consumer(t1, null)) {
                TopicPartition tp = new TopicPartition(topics.target(other), 0);
                consumer.assign(List.of(tp));
                consumer.seekToBeginning(List.of(tp));
                assertThatThrownBy(() -> consumer.poll(Duration.ofSeconds(5))).as("T1 reading %s", tp)
                        .isInstanceOf(TopicAuthorizationException.class);
            }
        }
        for (String topic : List.of(topics.commands(), topics.target("T1"), topics.target("T2"))) {
            try (KafkaProducer<byte[], byte[]> producer = producer(t1)) {
                assertThatThrownBy(() -> producer.send(new ProducerRecord<>(topic, new byte[] {0})).get())
                        .as("T1 writing %s", topic).hasCauseInstanceOf(TopicAuthorizationException.class);
            }
        }
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(t1, topics.targetConsumerGroup("T2"))) {
            consumer.subscribe(List.of(topics.target("T1")));
            assertThatThrownBy(() -> consumer.poll(Duration.ofSeconds(5))).as("T1 joining T2's group")
                    .isInstanceOf(GroupAuthorizationException.class);
        }
    }

    @Test
    void shouldRefuseRevokedCredentialsAndNameTheProblemInTheCli() throws Exception {
        KafkaAccess.Credentials t9 = access.provisionTarget("T9");
        Map<String, Object> client = new HashMap<>(stack.kafka().clientProperties(t9.user(), t9.password()));
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(client, null)) {
            assertThat(consumer.listTopics(Duration.ofSeconds(10))).as("authenticates before revocation").isNotNull();
        }

        access.revokeTarget("T9");

        try (KafkaConsumer<byte[], byte[]> consumer = consumer(client, null)) {
            assertThatThrownBy(() -> consumer.listTopics(Duration.ofSeconds(10))).as("revoked")
                    .isInstanceOf(SaslAuthenticationException.class);
        }
        Path config = data.resolve("revoked.properties");
        Files.writeString(config, t9.clientSettings("SASL_PLAINTEXT").entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining("\n")));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = new CommandLine(new MsxCli()).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
                .execute("target", "poll", "T1", "--timeout", "20s", "--bootstrap-servers", stack.bootstrapServers(),
                        "--schema-registry-url", stack.schemaRegistryUrl(), "--topic-prefix", topics.prefix(),
                        "--master-url", "http://127.0.0.1:" + master.httpPort(), "--command-config",
                        config.toString());
        assertThat(code).as("exit code; stderr: %s", err).isNotZero();
        assertThat(err.toString()).containsIgnoringCase("authentication failed");
    }

    @Test
    void shouldAckForgedReplayedAndTamperedInstructionsWithASecurityErrorAndRunNothing() throws Exception {
        Path forged = data.resolve("forged.marker");
        Path replayed = data.resolve("replayed.marker");
        Path tampered = data.resolve("tampered.marker");
        Path genuine = data.resolve("genuine.marker");
        // T2 gets a real job from the master: its signed instructions are what the replay copies
        submit(h -> UpsertJob.newBuilder().setHeader(h).setJob(touchJob("t2job", replayed, "T2")).build());
        submit(h -> StartJob.newBuilder().setHeader(h).setJobId("t2job").setTargets(List.of("T2")).build());
        await().atMost(WAIT).alias("T2 ran its own job").until(() -> Files.exists(replayed));
        Files.delete(replayed);
        List<ConsumerRecord<byte[], byte[]>> t2Records = readAll(topics.target("T2"));
        List<ConsumerRecord<byte[], byte[]>> t1Records = readAll(topics.target("T1"));
        assertThat(t1Records).as("T1's topic holds a signed instruction to borrow a signature from").isNotEmpty();

        // an intruder allowed (test-only ACL) to write T1's topic, without the master's key
        String intruder = "it-intruder-" + UUID.randomUUID();
        String password = stack.createUser(intruder);
        access.grant(List.of(new AclBinding(new ResourcePattern(ResourceType.TOPIC, topics.target("T1"),
                PatternType.LITERAL), new AccessControlEntry("User:" + intruder, "*", AclOperation.WRITE,
                AclPermissionType.ALLOW))));
        List<UUID> attacks = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = producer(stack.kafka().clientProperties(intruder, password))) {
            String t1 = topics.target("T1");
            // 1. unsigned
            JobInsert unsigned = JobInsert.newBuilder().setHeader(header("T1")).setJob(touchJob("forged", forged, "T1"))
                    .build();
            send(producer, t1, "forged", codec.encode(unsigned), new RecordHeaders(), attacks, unsigned);
            JobStart startForged = JobStart.newBuilder().setHeader(header("T1")).setJobId("forged").build();
            send(producer, t1, "forged", codec.encode(startForged), new RecordHeaders(), attacks, startForged);
            // 2. T2's signed instructions replayed into T1's topic, headers and all
            for (ConsumerRecord<byte[], byte[]> r : t2Records) {
                SpecificRecord copied = ((Decoded.Message) codec.decode(MessageFamily.INSTRUCTION, r.topic(),
                        r.value())).value();
                send(producer, t1, "t2job", r.value(), r.headers(), attacks, copied);
            }
            // 3. a genuine T1 signature (and sequence) on other bytes
            Headers borrowed = t1Records.get(t1Records.size() - 1).headers();
            SignatureHeaders.Signed signed = SignatureHeaders.read(borrowed);
            assertThat(signed).as("the master's instructions carry signatures").isNotNull();
            JobInsert altered = JobInsert.newBuilder().setHeader(header("T1"))
                    .setJob(touchJob("tampered", tampered, "T1")).build();
            Headers next = new RecordHeaders();
            SignatureHeaders.write(next, signed.keyId(), signed.signature(), signed.sequence() + 1000);
            send(producer, t1, "tampered", codec.encode(altered), next, attacks, altered);
            JobStart startAltered = JobStart.newBuilder().setHeader(header("T1")).setJobId("tampered").build();
            send(producer, t1, "tampered", codec.encode(startAltered), next, attacks, startAltered);
        }
        // then the master's own job for T1: applied after the attacks, so once it ran they were all read
        submit(h -> UpsertJob.newBuilder().setHeader(h).setJob(touchJob("t1job", genuine, "T1")).build());
        submit(h -> StartJob.newBuilder().setHeader(h).setJobId("t1job").setTargets(List.of("T1")).build());
        await().atMost(WAIT).alias("T1 ran the master's job").until(() -> Files.exists(genuine));

        Map<UUID, InstructionAck> acks = await().atMost(WAIT).alias("every attack acknowledged").until(
                () -> acks("T1"), a -> a.keySet().containsAll(attacks));
        for (UUID attack : attacks) {
            assertThat(acks.get(attack).getStatus()).as("ack of %s", attack).isEqualTo(io.msx.avro.status.AckStatus.FAILED);
            assertThat(acks.get(attack).getError()).as("ack of %s", attack).startsWith("security: ");
        }
        assertThat(acks.values().stream().map(InstructionAck::getError).filter(e -> e != null).toList())
                .anyMatch(e -> e.contains("unsigned")).anyMatch(e -> e.contains("forged or tampered"));
        assertThat(forged).as("unsigned job never ran").doesNotExist();
        assertThat(replayed).as("T2's job replayed into T1 never ran").doesNotExist();
        assertThat(tampered).as("altered job never ran").doesNotExist();
        await().atMost(WAIT).alias("the master, on its own user, reads T1's lag: nothing unread").until(() ->
                Long.valueOf(0).equals(master.target("T1").orElseThrow().unreadInstructions()));
    }

    @Test
    void shouldDeadLetterAnEventClaimingAnotherTargetAndKeepANewTargetPendingUntilAccepted() throws Exception {
        long t2Seq = master.target("T2").orElseThrow().lastSeq();
        // T1's user may write the status topic: it claims to be T2, signed with T1's key, with the largest seq
        byte[] key = "T2".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] forged = codec.encode(CheckIn.newBuilder().setHeader(StatusHeader.newBuilder().setTarget("T2")
                        .setSeq(Long.MAX_VALUE).setOccurredAt(Instant.now().truncatedTo(ChronoUnit.MILLIS))
                        .setEpoch(master.target("T2").orElseThrow().epoch()).build())
                .setTrigger(CheckInTrigger.SCHEDULED).setLocalTime(Instant.now().truncatedTo(ChronoUnit.MILLIS))
                .setTimeZone("UTC").setAgentVersion("forged").setPollingIntervalSeconds(60).setSpoolDepth(0)
                .build());
        RecordHeaders headers = new RecordHeaders();
        SignatureHeaders.write(headers, targetKeys.get("T1").keyId(), StatusSignatures.sign(targetKeys.get("T1"),
                key, forged), null);
        try (KafkaProducer<byte[], byte[]> producer = producer(clientOf("T1"))) {
            producer.send(new ProducerRecord<>(topics.status(), null, key, forged, headers)).get();
        }
        List<ConsumerRecord<byte[], byte[]>> dead = await().atMost(WAIT).alias("the forged event dead-lettered")
                .until(() -> readAll(io.msx.schemas.Topics.deadLetter(topics.status())), l -> !l.isEmpty());
        assertThat(new String(dead.get(dead.size() - 1).headers().lastHeader(
                io.msx.schemas.DeadLetters.REASON_HEADER).value())).contains("not the target's accepted key");
        assertThat(master.target("T2").orElseThrow().lastSeq()).as("T2 not silenced").isEqualTo(t2Seq);
        assertThat(master.target("T2").orElseThrow().agentVersion()).isNotEqualTo("forged");

        // a new target nobody pre-registered: PENDING until an operator accepts the key it logged
        KafkaAccess.Credentials t3 = access.provisionTarget("T3");
        Map<String, Object> agentConfig = new HashMap<>(Map.of(
                TargetAgentConfig.TARGET_NAME_CONFIG, "T3",
                TargetAgentConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
                TargetAgentConfig.SCHEMA_REGISTRY_URL_CONFIG, stack.schemaRegistryUrl(),
                TargetAgentConfig.TOPIC_PREFIX_CONFIG, topics.prefix(),
                TargetAgentConfig.DATA_DIR_CONFIG, data.resolve("T3").toString()));
        agentConfig.putAll(t3.clientSettings("SASL_PLAINTEXT"));
        agentConfig.putAll(TestKeys.agentSettings());
        TargetAgent agent = new TargetAgent(new TargetAgentConfig(agentConfig), Clock.systemUTC());
        running.add(0, agent);
        agent.start();
        TargetView pending = await().atMost(WAIT).alias("T3 listed PENDING").until(() -> master.target("T3"),
                v -> v.isPresent() && v.get().status() == TargetStatus.PENDING).orElseThrow();
        assertThat(pending.presentedKeyFingerprint()).isEqualTo(agent.statusKeyFingerprint());
        assertThat(pending.keyFingerprint()).isNull();

        submit(h -> AcceptTarget.newBuilder().setHeader(h).setTarget("T3")
                .setKeyFingerprint(agent.statusKeyFingerprint()).build());

        await().atMost(WAIT).alias("T3 accepted, enlisted, consuming and resynced").until(() -> master.target("T3")
                .map(v -> v.status() == TargetStatus.NORMAL && agent.statusKeyFingerprint().equals(v.keyFingerprint()))
                .orElse(false) && ready(agent));
        // defected: once it acknowledged its DEFECT, its Kafka user is gone
        Path admin = data.resolve("admin.properties");
        Files.writeString(admin, stack.adminSecuritySettings().entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining("\n")));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = new CommandLine(new MsxCli()).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
                .execute("target", "defect", "T3", "--revoke-credentials", "--timeout", "60s",
                        "--bootstrap-servers", stack.bootstrapServers(), "--schema-registry-url",
                        stack.schemaRegistryUrl(), "--topic-prefix", topics.prefix(), "--master-url",
                        "http://127.0.0.1:" + master.httpPort(), "--command-config", admin.toString());
        assertThat(code).as("exit code; stderr: %s", err).isZero();
        assertThat(out.toString()).contains("T3  credentials revoked");
        assertThat(agent.awaitTermination(WAIT)).as("T3 read and applied its DEFECT first")
                .isEqualTo(TargetAgent.State.DEFECTED);
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(stack.kafka().clientProperties(t3.user(),
                t3.password()), null)) {
            assertThatThrownBy(() -> consumer.listTopics(Duration.ofSeconds(10))).as("T3's revoked user")
                    .isInstanceOf(SaslAuthenticationException.class);
        }
    }

    private void submit(java.util.function.Function<CommandHeader, SpecificRecord> command) throws Exception {
        Map<String, Object> client = stack.kafka().clientProperties(operator.user(), operator.password());
        try (CommandClient commands = new CommandClient(client, new SchemaRegistryClient(
                SchemaRegistryConfig.of(stack.schemaRegistryUrl())), topics)) {
            CommandResult result = commands.submit(command.apply(CommandHeader.newBuilder()
                    .setCommandId(UUID.randomUUID()).setIssuedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS))
                    .setIssuedBy("security-it").build()), WAIT).orElseThrow();
            assertThat(result.getStatus()).as("result: %s", result.getReason()).isEqualTo(CommandStatus.ACCEPTED);
        }
    }

    private static JobDefinition touchJob(String id, Path marker, String target) {
        return JobDefinition.newBuilder().setJobId(id).setName(id).setTargets(List.of(target))
                .setSteps(List.of(JobStep.newBuilder().setStepId(1).setName("touch")
                        .setCommand(List.of("/usr/bin/touch", marker.toString())).build())).build();
    }

    private static InstructionHeader header(String target) {
        return InstructionHeader.newBuilder().setInstructionId(UUID.randomUUID()).setTarget(target)
                .setPostedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS)).build();
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, String topic, String key, byte[] value,
                             Headers headers, List<UUID> ids, SpecificRecord instruction) throws Exception {
        producer.send(new ProducerRecord<>(topic, null, key.getBytes(), value, headers)).get();
        ids.add(MessageFamily.INSTRUCTION.<InstructionHeader>header(instruction).getInstructionId());
    }

    private Map<String, Object> clientOf(String target) {
        KafkaAccess.Credentials c = targets.get(target);
        return stack.kafka().clientProperties(c.user(), c.password());
    }

    private static KafkaConsumer<byte[], byte[]> consumer(Map<String, Object> base, String group) {
        Map<String, Object> p = new HashMap<>(base);
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        if (group != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        }
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    private static KafkaProducer<byte[], byte[]> producer(Map<String, Object> base) {
        Map<String, Object> p = new HashMap<>(base);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** Every committed record of a one-partition topic, read with the super-user. */
    private List<ConsumerRecord<byte[], byte[]>> readAll(String topic) {
        Map<String, Object> p = new HashMap<>(stack.adminClientProperties());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            await().atMost(WAIT).alias("read " + topic + " to its end").until(() -> {
                consumer.poll(Duration.ofMillis(200)).forEach(all::add);
                return partitions.stream().allMatch(tp -> consumer.position(tp) >= end.get(tp));
            });
        }
        return all;
    }

    /** The target's acknowledgements on the status topic, by instruction id. */
    private Map<UUID, InstructionAck> acks(String target) {
        Map<UUID, InstructionAck> acks = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : readAll(topics.status())) {
            if (r.key() != null && new String(r.key()).equals(target)
                    && codec.decode(MessageFamily.STATUS, r.topic(), r.value()) instanceof Decoded.Message m
                    && m.value() instanceof InstructionAck ack) {
                acks.put(ack.getInstructionId(), ack);
            }
        }
        return acks;
    }
}
