package io.msx.master.internal.topology;

import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.avro.CommandStatus;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.PostedInstruction;
import io.msx.avro.StatusHeader;
import io.msx.avro.command.DefectTarget;
import io.msx.avro.command.ForcePoll;
import io.msx.avro.command.ResyncTargets;
import io.msx.avro.command.StartJob;
import io.msx.avro.command.UpsertJob;
import io.msx.avro.instruction.JobInsert;
import io.msx.avro.command.EnlistTarget;
import io.msx.avro.instruction.PollNow;
import io.msx.avro.status.AckStatus;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.CheckInTrigger;
import io.msx.avro.status.Enlist;
import io.msx.avro.status.InstructionAck;
import io.msx.avro.status.JobOutcome;
import io.msx.avro.status.RunStatus;
import io.msx.master.InstructionView;
import io.msx.master.JobRunView;
import io.msx.master.TargetStatus;
import io.msx.master.internal.MasterMetrics;
import io.msx.master.internal.RecordLimit;
import io.msx.master.internal.TopicAdmin;
import io.msx.schemas.DeadLetters;
import io.msx.schemas.DecodeLimits;
import io.msx.schemas.Decoded;
import io.msx.schemas.InMemorySchemaRegistry;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.Topics;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeConfigsResult;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.internals.KafkaFutureImpl;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import io.msx.security.Ed25519Keys;
import io.msx.security.InstructionSignatures;
import io.msx.security.SignatureHeaders;
import io.msx.security.StatusSignatures;
import io.msx.security.TrustedKeys;
import io.msx.security.Signer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole topology in a {@link TopologyTestDriver}. The driver feeds records the topology writes to one of its own
 * source topics (the control, events and commands topics) straight back into it, as the brokers would.
 */
class MasterTopologyTest {

    private static final Signer SIGNER = new Signer(Ed25519Keys.generate());
    private final Map<String, Signer> targetKeys = new HashMap<>();
    /** Whether the master under test accepts a target's first key (targets.key.acceptance=first-use). */
    private boolean firstUse = true;
    private static final Signer OPERATOR = new Signer(Ed25519Keys.generate());
    private boolean requireIdentity;

    private static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");
    private static final Topics TOPICS = Topics.defaults();
    private static final String EVENTS = MasterTopology.Context.eventsTopic(TOPICS);
    private static final String CONTROL = MasterTopology.Context.controlTopic(TOPICS);
    private static final RecordLimit NO_LIMIT = RecordLimit.of(1_000_000, 1_000_000);

    private final MsxCodec codec = MsxCodec.of(InMemorySchemaRegistry.withMsxSchemas(), true, DecodeLimits.DEFAULTS);
    private final MasterMetrics metrics = new MasterMetrics();
    private final List<String> createdTopics = new ArrayList<>();
    private final Map<String, Long> seqs = new HashMap<>();
    /** Every record written to each topic so far: an output topic is read once, so what was read is kept. */
    private final Map<String, List<TestRecord<byte[], byte[]>>> written = new HashMap<>();
    private Instant wallClock = T0;
    @TempDir
    Path stateDir;
    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> commands;
    private TestInputTopic<byte[], byte[]> status;

    @AfterEach
    void close() {
        if (driver != null) {
            driver.close();
        }
        metrics.close();
    }

    @Test
    void shouldPostOnePollNowPerTargetWhenForcePollNamesEnlistedTargets() {
        start();
        enlistAll("t1", "t2");

        CommandResult result = command(forcePoll("t1", "t2"));

        assertThat(result.getStatus()).isEqualTo(CommandStatus.ACCEPTED);
        assertThat(result.getInstructions()).extracting(PostedInstruction::getTarget).containsExactly("t1", "t2");
        assertThat(result.getInstructions()).extracting(PostedInstruction::getOperation).containsOnly("POLL");
        for (String target : List.of("t1", "t2")) {
            assertThat(instructions(target)).singleElement().isInstanceOf(PollNow.class);
        }
    }

    @Test
    void shouldSignEveryInstructionForItsTargetWithASequenceThatOnlyGrowsPerTarget() {
        start();
        enlistAll("t1", "t2");

        command(forcePoll("t1", "t2"));
        command(forcePoll("t1"));
        command(forcePoll("t1", "t2"));

        TrustedKeys trusted = TrustedKeys.of(SIGNER.publicKey());
        Map<String, List<Long>> seqs = new HashMap<>();
        for (String target : List.of("t1", "t2")) {
            for (TestRecord<byte[], byte[]> r : records(TOPICS.target(target))) {
                SignatureHeaders.Signed signed = SignatureHeaders.read(r.headers());
                assertThat(signed).as("signature headers of an instruction for %s", target).isNotNull();
                assertThat(signed.keyId()).isEqualTo(SIGNER.keyId());
                assertThat(InstructionSignatures.verify(trusted, signed.keyId(), signed.signature(), target,
                        signed.sequence(), r.value())).isEqualTo(TrustedKeys.Verdict.VALID);
                // signed for this target only: the same bytes do not verify for another
                assertThat(InstructionSignatures.verify(trusted, signed.keyId(), signed.signature(),
                        target.equals("t1") ? "t2" : "t1", signed.sequence(), r.value()))
                        .isEqualTo(TrustedKeys.Verdict.BAD_SIGNATURE);
                seqs.computeIfAbsent(target, t -> new ArrayList<>()).add(signed.sequence());
            }
        }
        // enlisting may post instructions of its own: what counts is that each target's numbers only grow by one
        assertThat(seqs.get("t1")).hasSizeGreaterThanOrEqualTo(3).isSorted().doesNotHaveDuplicates();
        assertThat(seqs.get("t1").get(seqs.get("t1").size() - 1)).isEqualTo(seqs.get("t1").size());
        assertThat(seqs.get("t2").get(seqs.get("t2").size() - 1)).isEqualTo(seqs.get("t2").size());
    }

    @Test
    void shouldRejectAndPostNothingWhenForcePollNamesAnUnknownTarget() {
        start();
        enlistAll("t1");

        CommandResult result = command(forcePoll("t1", "nobody"));

        assertThat(result.getStatus()).isEqualTo(CommandStatus.REJECTED);
        assertThat(result.getReason()).contains("unknown target 'nobody'");
        assertThat(result.getInstructions()).isEmpty();
        assertThat(instructions("t1")).isEmpty();
        assertThat(instructions("nobody")).isEmpty();
    }

    @Test
    void shouldRegisterTargetWhenItEnlistsItself() {
        start();

        status("t1", enlist("t1", "e1", 1, "rack-7"));

        assertThat(records(CONTROL)).singleElement()
                .satisfies(r -> assertThat(new String(r.key(), StandardCharsets.UTF_8)).isEqualTo("t1"));
        assertThat(records(EVENTS)).singleElement().satisfies(r -> assertThat(
                JsonStore.read(r.value(), ViewEvent.class).type()).isEqualTo(ViewEvent.Type.REGISTERED));
        assertThat(createdTopics).contains(TOPICS.target("t1"), Topics.deadLetter(TOPICS.target("t1")));
        assertThat(registration("t1")).extracting(Registration::enlisted, Registration::epoch,
                Registration::location).containsExactly(true, "e1", "rack-7");
        assertThat(state("t1")).extracting("registered", "defected", "epoch", "location")
                .containsExactly(true, false, "e1", "rack-7");
    }

    @Test
    void shouldDeadLetterAnEventSignedWithAnotherTargetsKeyAndChangeNoView() {
        start();
        enlistAll("t1", "t2");
        status("t2", checkIn("t2", "e1", 2, 5));
        byte[] before = stateBytes("t2");

        // t1's agent (or whoever holds its key) claims to be t2
        statusSignedBy("t2", checkIn("t2", "e1", 3, 99), targetKey("t1"));
        // and t2's event altered after it was signed
        statusSignedBy("t2", checkIn("t2", "e1", 4, 42), new Signer(Ed25519Keys.generate()));

        assertThat(stateBytes("t2")).isEqualTo(before);
        assertThat(records(Topics.deadLetter(TOPICS.status()))).hasSize(2).allSatisfy(r ->
                assertThat(new String(r.headers().lastHeader(DeadLetters.REASON_HEADER).value(),
                        StandardCharsets.UTF_8)).contains("not the target's accepted key"));
    }

    @Test
    void shouldKeepANewTargetPendingUntilAnOperatorAcceptsItsKeyThenApplyItsEnlist() {
        firstUse = false;
        start();
        status("t1", enlist("t1", "e1", 1, "rack-1"));
        status("t1", checkIn("t1", "e1", 2, 5));

        assertThat(targetStatus("t1")).isEqualTo(TargetStatus.PENDING);
        assertThat(state("t1").registered).as("not registered while pending").isFalse();
        assertThat(state("t1").spoolDepth).as("its check-in changed nothing").isZero();
        assertThat(records(CONTROL)).as("the Enlist is held back").isEmpty();
        assertThat(records(Topics.deadLetter(TOPICS.status()))).hasSize(2);

        CommandResult wrong = command(accept("t1", "SHA256:not-its-key"));
        assertThat(wrong.getStatus()).isEqualTo(CommandStatus.ACCEPTED);
        assertThat(targetStatus("t1")).as("another key approved: still pending").isEqualTo(TargetStatus.PENDING);

        CommandResult right = command(accept("t1", targetKey("t1").keyId()));
        assertThat(right.getStatus()).isEqualTo(CommandStatus.ACCEPTED);
        assertThat(state("t1").acceptedKey).isEqualTo(state("t1").presentedKey);
        assertThat(registration("t1")).extracting(Registration::enlisted, Registration::epoch,
                Registration::location).as("the held Enlist applied").containsExactly(true, "e1", "rack-1");
        status("t1", checkIn("t1", "e1", 3, 7));
        assertThat(state("t1").spoolDepth).isEqualTo(7);
        assertThat(targetStatus("t1")).isNotEqualTo(TargetStatus.PENDING);
    }

    @Test
    void shouldAcceptAPreRegisteredTargetsKeyAtOnceWhenItsFingerprintWasGiven() {
        firstUse = false;
        start();
        assertThat(command(io.msx.avro.command.EnlistTarget.newBuilder().setHeader(commandHeader()).setTarget("t1")
                .setKeyFingerprint(targetKey("t1").keyId()).build()).getStatus()).isEqualTo(CommandStatus.ACCEPTED);

        status("t1", enlist("t1", "e1", 1, null));
        status("t2", enlist("t2", "e1", 1, null));

        assertThat(state("t1").acceptedKey).isNotNull();
        assertThat(targetStatus("t1")).isNotEqualTo(TargetStatus.PENDING);
        assertThat(targetStatus("t2")).as("not pre-registered").isEqualTo(TargetStatus.PENDING);
    }

    @Test
    void shouldNotLetAnotherKeyEnlistingUnderAnAcceptedNameChangeItsView() {
        start();
        enlistAll("t1");
        status("t1", checkIn("t1", "e1", 2, 5));
        String accepted = state("t1").acceptedKey;

        // another target (it may write the status topic) enlists as t1 with a key of its own, new epoch
        statusSignedBy("t1", enlist("t1", "e2", 1, "elsewhere"), new Signer(Ed25519Keys.generate()));
        // t1's own key id and signature on other bytes (altered after signing)
        byte[] key = "t1".getBytes(StandardCharsets.UTF_8);
        org.apache.kafka.common.header.internals.RecordHeaders headers =
                new org.apache.kafka.common.header.internals.RecordHeaders();
        SignatureHeaders.write(headers, targetKey("t1").keyId(), StatusSignatures.sign(targetKey("t1"), key,
                codec.encode(checkIn("t1", "e1", 3, 9))), null);
        status.pipeInput(new TestRecord<>(key, codec.encode(checkIn("t1", "e1", 3, 4242)), headers, T0));
        // and its genuine next check-in
        statusSignedBy("t1", checkIn("t1", "e1", 3, 9), targetKey("t1"));
        var deadLettered = records(Topics.deadLetter(TOPICS.status()));

        assertThat(state("t1").acceptedKey).isEqualTo(accepted);
        assertThat(state("t1").epoch).isEqualTo("e1");
        assertThat(state("t1").location).isNotEqualTo("elsewhere");
        assertThat(targetStatus("t1")).isNotEqualTo(TargetStatus.PENDING);
        assertThat(state("t1").heldEnlist).isNull();
        assertThat(deadLettered).as("the stranger's Enlist and the altered check-in").hasSize(2);
        assertThat(new String(deadLettered.get(1).headers().lastHeader(DeadLetters.REASON_HEADER).value(),
                StandardCharsets.UTF_8)).contains("forged or tampered");
        assertThat(state("t1").spoolDepth).as("t1's own signed check-in applies").isEqualTo(9);
    }

    @Test
    void shouldKeepADefectedTargetPendingWhenItComesBackWithItsOldKey() {
        firstUse = false;
        start();
        command(io.msx.avro.command.EnlistTarget.newBuilder().setHeader(commandHeader()).setTarget("t1")
                .setKeyFingerprint(targetKey("t1").keyId()).build());
        status("t1", enlist("t1", "e1", 1, null));
        assertThat(state("t1").acceptedKey).isNotNull();
        assertThat(command(io.msx.avro.command.DefectTarget.newBuilder().setHeader(commandHeader()).setTarget("t1")
                .setForce(true).build()).getStatus()).isEqualTo(CommandStatus.ACCEPTED);
        status("t1", checkIn("t1", "e1", 2, 3));
        assertThat(records(Topics.deadLetter(TOPICS.status()))).as("its key still checks its last events").isEmpty();

        // a new installation enlists with the same key: not let back in by it
        status("t1", enlist("t1", "e2", 1, null));

        assertThat(targetStatus("t1")).isEqualTo(TargetStatus.PENDING);
        assertThat(state("t1").acceptedKey).isNull();
    }

    private static io.msx.avro.command.AcceptTarget accept(String target, String fingerprint) {
        return io.msx.avro.command.AcceptTarget.newBuilder().setHeader(commandHeader()).setTarget(target)
                .setKeyFingerprint(fingerprint).build();
    }

    @Test
    void shouldNameTheVerifiedIssuerOfEachCommandAndRejectUnverifiedOnesWhenRequired() {
        start();
        enlistAll("t1");

        assertThat(command(forcePoll("t1")).getIssuedBy()).isEqualTo("unverified:test");
        assertThat(signedCommand(forcePoll("t1"), OPERATOR).getIssuedBy()).isEqualTo("key:" + OPERATOR.keyId());
        assertThat(signedCommand(forcePoll("t1"), new Signer(Ed25519Keys.generate())).getIssuedBy())
                .as("a key the master does not trust").isEqualTo("unverified:test");

        driver.close();
        requireIdentity = true;
        start();
        enlistAll("t9");
        CommandResult unsigned = command(forcePoll("t9"));
        assertThat(unsigned.getStatus()).isEqualTo(CommandStatus.REJECTED);
        assertThat(unsigned.getReason()).contains("no verified identity");
        CommandResult signed = signedCommand(forcePoll("t9"), OPERATOR);
        assertThat(signed.getStatus()).as("reason: %s", signed.getReason()).isEqualTo(CommandStatus.ACCEPTED);
    }

    private CommandResult signedCommand(SpecificRecord command, Signer signer) {
        UUID id = MessageFamily.COMMAND.<CommandHeader>header(command).getCommandId();
        byte[] value = codec.encode(command);
        org.apache.kafka.common.header.internals.RecordHeaders headers =
                new org.apache.kafka.common.header.internals.RecordHeaders();
        io.msx.security.CommandSignatures.sign(signer, null, value, headers);
        commands.pipeInput(new TestRecord<>(id.toString().getBytes(StandardCharsets.UTF_8), value, headers, T0));
        return records(TOPICS.commandResults()).stream()
                .map(r -> codec.decodeAs(CommandResult.class, TOPICS.commandResults(), 0, -1, r.value()))
                .filter(r -> r.getCommandId().equals(id)).findFirst().orElseThrow();
    }

    @Test
    void shouldChangeNothingWhenAStatusEventIsReplayed() {
        start();
        enlistAll("t1");
        status("t1", checkIn("t1", "e1", 2, 5));
        byte[] before = stateBytes("t1");

        status("t1", checkIn("t1", "e1", 2, 99));
        status("t1", checkIn("t1", "e1", 1, 42));

        assertThat(stateBytes("t1")).isEqualTo(before);
        assertThat(state("t1").spoolDepth).isEqualTo(5);
        assertThat(records(Topics.deadLetter(TOPICS.status()))).isEmpty();
    }

    @Test
    void shouldDeadLetterWithReasonWhenAnEventIsKeyedByAnotherTarget() {
        start();
        enlistAll("t1", "t2");
        byte[] before = stateBytes("t1");

        status("t2", checkIn("t1", "e1", 2, 7));

        assertThat(records(Topics.deadLetter(TOPICS.status()))).singleElement().satisfies(r -> assertThat(
                new String(r.headers().lastHeader(DeadLetters.REASON_HEADER).value(), StandardCharsets.UTF_8))
                .contains("keyed 't2'").contains("must be keyed by their target"));
        assertThat(stateBytes("t1")).isEqualTo(before);
        assertThat(metrics.statusDeadLetteredCount()).isEqualTo(1);
    }

    @Test
    void shouldKeepTheNewestRunsOfEachJobWhenOlderThanTheRetention() {
        start(2, Duration.ofDays(1), 100, NO_LIMIT);
        enlistAll("t1");

        for (int daysAgo : List.of(10, 9, 8)) {
            status("t1", outcome("t1", "A", T0.minus(Duration.ofDays(daysAgo))));
        }
        status("t1", outcome("t1", "B", T0.minus(Duration.ofDays(7))));

        assertThat(runs("A")).extracting(JobRunView::startedAt)
                .containsExactly(T0.minus(Duration.ofDays(9)), T0.minus(Duration.ofDays(8)));
        assertThat(runs("B")).extracting(JobRunView::startedAt).containsExactly(T0.minus(Duration.ofDays(7)));
    }

    @Test
    void shouldKeepEveryRunWhenYoungerThanTheRetention() {
        start(2, Duration.ofDays(1), 100, NO_LIMIT);
        enlistAll("t1");

        for (int hoursAgo : List.of(3, 2, 1)) {
            status("t1", outcome("t1", "C", T0.minus(Duration.ofHours(hoursAgo))));
        }
        assertThat(runs("C")).hasSize(3);

        advance(Duration.ofDays(2));
        status("t1", outcome("t1", "C", T0.plus(Duration.ofDays(2))));

        assertThat(runs("C")).extracting(JobRunView::startedAt)
                .containsExactly(T0.minus(Duration.ofHours(1)), T0.plus(Duration.ofDays(2)));
    }

    @Test
    void shouldKeepTheNewestDownloadsAndUpdateARowWhenItsInstructionIsAcked() {
        start(10, Duration.ofDays(30), 3, NO_LIMIT);
        enlistAll("t1");
        List<UUID> posted = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            posted.add(command(forcePoll("t1")).getInstructions().get(0).getInstructionId());
        }

        status("t1", ack("t1", "e1", 2, posted.get(4)));

        List<InstructionView> rows = downloads("t1");
        assertThat(rows).extracting(InstructionView::instructionId)
                .containsExactly(posted.subList(2, 5).stream().map(UUID::toString).toArray(String[]::new));
        assertThat(rows).extracting(InstructionView::status).containsExactly("POSTED", "POSTED", "APPLIED");
        assertThat(Downloads.find(store(MasterTopology.DOWNLOADS_STORE), store(MasterTopology.DOWNLOAD_INDEX_STORE),
                posted.get(0).toString())).isNull();
    }

    @Test
    void shouldKeepADefectedTargetOutUntilAnotherInstallationEnlists() {
        start();
        enlistAll("t1");

        CommandResult defect = command(DefectTarget.newBuilder().setHeader(commandHeader()).setTarget("t1").build());
        assertThat(defect.getStatus()).isEqualTo(CommandStatus.ACCEPTED);
        assertThat(listed("t1")).isFalse();

        status("t1", enlist("t1", "e1", 2, null));
        assertThat(listed("t1")).isFalse();
        assertThat(registration("t1").defected()).isTrue();
        assertThat(command(forcePoll("t1")).getStatus()).isEqualTo(CommandStatus.REJECTED);

        status("t1", enlist("t1", "e2", 1, null));
        assertThat(listed("t1")).isTrue();
        assertThat(state("t1").epoch).isEqualTo("e2");
        assertThat(command(forcePoll("t1")).getStatus()).isEqualTo(CommandStatus.ACCEPTED);
    }

    @Test
    void shouldShowResyncPendingWhenAResyncIsPostedUntilItsLastInstructionIsAcked() {
        start();
        enlistAll("t1");
        assertThat(command(upsert(job("j1", "", "t1"))).getStatus()).isEqualTo(CommandStatus.ACCEPTED);

        CommandResult resync = command(ResyncTargets.newBuilder().setHeader(commandHeader())
                .setTargets(List.of("t1")).build());

        assertThat(resync.getInstructions()).extracting(PostedInstruction::getOperation)
                .containsExactly("RESYNC", "JOB_INSERT");
        assertThat(targetStatus("t1")).isEqualTo(TargetStatus.RESYNC_PENDING);
        status("t1", ack("t1", "e1", 2, resync.getInstructions().get(0).getInstructionId()));
        assertThat(targetStatus("t1")).isEqualTo(TargetStatus.RESYNC_PENDING);
        status("t1", ack("t1", "e1", 3, resync.getInstructions().get(1).getInstructionId()));
        assertThat(targetStatus("t1")).isEqualTo(TargetStatus.NORMAL);
    }

    @Test
    void shouldRejectAndStoreNothingWhenACommandsRecordIsOverTheLimit() {
        RecordLimit limit = RecordLimit.of(2_024, 2_024); // 1,000 bytes per value
        start(10, Duration.ofDays(30), 100, limit);
        enlistAll("t1");
        int eventsBefore = records(EVENTS).size();

        CommandResult upsert = command(upsert(job("big", "x".repeat(3_000), "t1")));

        assertThat(upsert.getStatus()).isEqualTo(CommandStatus.REJECTED);
        assertThat(upsert.getReason()).contains("instruction for " + TOPICS.target("t1"))
                .contains("over the 1,000-byte record limit");
        assertThat(instructions("t1")).isEmpty();
        assertThat(records(EVENTS)).hasSize(eventsBefore);
        assertThat(store(MasterTopology.JOBS_STORE).get("big")).isNull();
        CommandResult start = command(StartJob.newBuilder().setHeader(commandHeader()).setJobId("big").build());
        assertThat(start.getStatus()).isEqualTo(CommandStatus.REJECTED);
        assertThat(start.getReason()).isEqualTo("unknown job 'big'");
    }

    @Test
    void shouldPostAGroupsJobToATargetPreRegisteredIntoTheGroupBeforeItsTopicExists() {
        start();
        enlistAll("t1");
        assertThat(command(EnlistTarget.newBuilder().setHeader(commandHeader()).setTarget("t1")
                .setGroups(List.of("g")).build()).getStatus()).isEqualTo(CommandStatus.ACCEPTED);
        assertThat(command(upsert(JobDefinition.newBuilder(job("gj", "group job")).setTargets(List.of())
                .setGroups(List.of("g")).build())).getStatus()).isEqualTo(CommandStatus.ACCEPTED);

        CommandResult enlisted = command(EnlistTarget.newBuilder().setHeader(commandHeader()).setTarget("fresh")
                .setGroups(List.of("g")).build());

        assertThat(enlisted.getStatus()).isEqualTo(CommandStatus.ACCEPTED);
        assertThat(createdTopics).contains(TOPICS.target("fresh"));
        assertThat(instructions("fresh")).singleElement().isInstanceOf(JobInsert.class);
    }

    @Test
    void shouldRejectACommandPostingMoreInstructionsThanAllowedAndPostNothing() {
        start(10, Duration.ofDays(30), 100, NO_LIMIT, 2);
        enlistAll("t1", "t2", "t3");

        CommandResult atLimit = command(forcePoll("t1", "t2"));
        CommandResult overLimit = command(forcePoll("t1", "t2", "t3"));

        assertThat(atLimit.getStatus()).isEqualTo(CommandStatus.ACCEPTED);
        assertThat(overLimit.getStatus()).isEqualTo(CommandStatus.REJECTED);
        assertThat(overLimit.getReason()).contains("would post 3 instructions, more than the 2")
                .contains("command.max.instructions");
        assertThat(instructions("t3")).isEmpty();
    }

    @Test
    void shouldPruneTheHistoryOfAJobThatNoLongerRunsOnTheHourlySweep() {
        start(1, Duration.ofDays(1), 100, NO_LIMIT);
        enlistAll("t1");
        status("t1", outcome("t1", "gone", T0.minus(Duration.ofHours(20))));
        status("t1", outcome("t1", "gone", T0.minus(Duration.ofHours(1))));
        assertThat(runs("gone")).hasSize(2); // both younger than the retention when recorded

        advance(Duration.ofDays(1).plusHours(1)); // no new run of "gone": only the sweep prunes it

        assertThat(runs("gone")).hasSize(1);
    }

    // --- the driver ---

    private void start() {
        start(10, Duration.ofDays(30), 100, NO_LIMIT);
    }

    private void start(int historyRuns, Duration historyRetention, int downloadsPerTarget, RecordLimit limit) {
        start(historyRuns, historyRetention, downloadsPerTarget, limit, 20_000);
    }

    private void start(int historyRuns, Duration historyRetention, int downloadsPerTarget, RecordLimit limit,
                       int maxInstructions) {
        MasterTopology.Context context = new MasterTopology.Context(TOPICS, codec, topicAdmin(), limit, metrics,
                historyRuns, historyRetention, downloadsPerTarget, maxInstructions, Duration.ZERO, SIGNER, firstUse,
                TrustedKeys.of(OPERATOR.publicKey()), requireIdentity);
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "master-topology-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        driver = new TopologyTestDriver(MasterTopology.build(context), props, T0);
        ByteArraySerializer bytes = new ByteArraySerializer();
        commands = driver.createInputTopic(TOPICS.commands(), bytes, bytes, T0, Duration.ZERO);
        status = driver.createInputTopic(TOPICS.status(), bytes, bytes, T0, Duration.ZERO);
    }

    /** A TopicAdmin whose broker creates every topic asked for (and remembers which). */
    @SuppressWarnings("unchecked")
    private TopicAdmin topicAdmin() {
        Admin admin = (Admin) Proxy.newProxyInstance(Admin.class.getClassLoader(), new Class<?>[] {Admin.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("describeConfigs")) { // as a broker: created topics only
                        Map<ConfigResource, KafkaFuture<Config>> configs = new HashMap<>();
                        for (ConfigResource resource : (Collection<ConfigResource>) args[0]) {
                            KafkaFutureImpl<Config> config = new KafkaFutureImpl<>();
                            if (createdTopics.contains(resource.name())) {
                                config.complete(new Config(List.of(new ConfigEntry(
                                        TopicConfig.MAX_MESSAGE_BYTES_CONFIG, "1000000"))));
                            } else {
                                config.completeExceptionally(new UnknownTopicOrPartitionException(resource.name()));
                            }
                            configs.put(resource, config);
                        }
                        return new DescribeConfigsResult(configs) { };
                    }
                    if (!method.getName().equals("createTopics")) {
                        throw new UnsupportedOperationException(method.getName());
                    }
                    Map<String, KafkaFuture<CreateTopicsResult.TopicMetadataAndConfig>> created = new HashMap<>();
                    for (NewTopic topic : (Collection<NewTopic>) args[0]) {
                        createdTopics.add(topic.name());
                        created.put(topic.name(), KafkaFuture.completedFuture(null));
                    }
                    return new CreateTopicsResult(created) { };
                });
        return new TopicAdmin(admin, (short) -1, 1_000_000, Duration.ofDays(7), -1);
    }

    /** Moves the driver's wall clock (the master's clock), which otherwise stands still at {@link #T0}. */
    private void advance(Duration by) {
        driver.advanceWallClockTime(by);
        wallClock = wallClock.plus(by);
    }

    private CommandResult command(SpecificRecord command) {
        CommandHeader header = MessageFamily.COMMAND.header(command);
        UUID id = header.getCommandId();
        commands.pipeInput(id.toString().getBytes(StandardCharsets.UTF_8), codec.encode(command));
        List<CommandResult> results = records(TOPICS.commandResults()).stream()
                .map(r -> codec.decodeAs(CommandResult.class, TOPICS.commandResults(), 0, -1, r.value()))
                .filter(r -> r.getCommandId().equals(id)).toList();
        assertThat(results).as("results of command %s", id).hasSize(1);
        return results.get(0);
    }

    /** Pipes the event in, signed with the key of the target it claims to be (an Enlist presents that key). */
    private void status(String key, SpecificRecord event) {
        StatusHeader header = MessageFamily.STATUS.header(event);
        statusSignedBy(key, event, targetKey(header.getTarget()));
    }

    private Signer targetKey(String target) {
        return targetKeys.computeIfAbsent(target, t -> new Signer(Ed25519Keys.generate()));
    }

    private void statusSignedBy(String key, SpecificRecord event, Signer signer) {
        StatusHeader header = MessageFamily.STATUS.header(event);
        if (event instanceof Enlist enlist && enlist.getPublicKey() == null) {
            event = Enlist.newBuilder(enlist).setPublicKey(java.nio.ByteBuffer.wrap(Ed25519Keys.publicKeyDer(
                    signer.publicKey()))).build();
        }
        byte[] keyBytes = key.getBytes(StandardCharsets.UTF_8);
        byte[] value = codec.encode(event);
        org.apache.kafka.common.header.internals.RecordHeaders headers =
                new org.apache.kafka.common.header.internals.RecordHeaders();
        SignatureHeaders.write(headers, signer.keyId(), StatusSignatures.sign(signer, keyBytes, value), null);
        status.pipeInput(new TestRecord<>(keyBytes, value, headers, header.getOccurredAt()));
    }

    private List<TestRecord<byte[], byte[]>> records(String topic) {
        List<TestRecord<byte[], byte[]>> all = written.computeIfAbsent(topic, t -> new ArrayList<>());
        if (driver.producedTopicNames().contains(topic)) {
            ByteArrayDeserializer bytes = new ByteArrayDeserializer();
            all.addAll(driver.createOutputTopic(topic, bytes, bytes).readRecordsToList());
        }
        return all;
    }

    private List<SpecificRecord> instructions(String target) {
        return records(TOPICS.target(target)).stream().map(r -> codec.decode(MessageFamily.INSTRUCTION,
                TOPICS.target(target), r.value())).map(d -> ((Decoded.Message) d).value()).toList();
    }

    private KeyValueStore<String, byte[]> store(String name) {
        return driver.getKeyValueStore(name);
    }

    private byte[] stateBytes(String target) {
        return store(MasterTopology.TARGET_STATE_STORE).get(target);
    }

    private TargetState state(String target) {
        return JsonStore.read(stateBytes(target), TargetState.class);
    }

    private TargetStatus targetStatus(String target) {
        return StatusRules.status(state(target), wallClock);
    }

    /** Whether the target shows in the views (the REST API lists registered, non-defected targets). */
    private boolean listed(String target) {
        TargetState s = state(target);
        return s.registered && !s.defected;
    }

    private Registration registration(String target) {
        return JsonStore.read(store(MasterTopology.REGISTRATIONS_STORE).get(target), Registration.class);
    }

    private List<JobRunView> runs(String jobId) {
        return History.of(store(MasterTopology.HISTORY_STORE), jobId);
    }

    private List<InstructionView> downloads(String target) {
        List<InstructionView> rows = new ArrayList<>();
        Downloads.scan(store(MasterTopology.DOWNLOADS_STORE), target, rows::add);
        return rows;
    }

    // --- messages ---

    /** Each target enlists itself: epoch e1, seq 1. */
    private void enlistAll(String... targets) {
        for (String target : targets) {
            status(target, enlist(target, "e1", 1, null));
        }
    }

    private static StatusHeader statusHeader(String target, String epoch, long seq) {
        return StatusHeader.newBuilder().setTarget(target).setEpoch(epoch).setSeq(seq).setOccurredAt(T0).build();
    }

    private static Enlist enlist(String target, String epoch, long seq, String location) {
        return Enlist.newBuilder().setHeader(statusHeader(target, epoch, seq)).setLocation(location)
                .setAgentVersion("1.0").setTimeZone("UTC").setPollingIntervalSeconds(60).build();
    }

    private static CheckIn checkIn(String target, String epoch, long seq, long spoolDepth) {
        return CheckIn.newBuilder().setHeader(statusHeader(target, epoch, seq)).setTrigger(CheckInTrigger.SCHEDULED)
                .setLocalTime(T0).setTimeZone("UTC").setAgentVersion("1.0").setPollingIntervalSeconds(60)
                .setSpoolDepth(spoolDepth).build();
    }

    private static InstructionAck ack(String target, String epoch, long seq, UUID instructionId) {
        return InstructionAck.newBuilder().setHeader(statusHeader(target, epoch, seq)).setInstructionId(instructionId)
                .setOffset(seq).setStatus(AckStatus.APPLIED).setAppliedAt(T0).build();
    }

    /** An outcome with the next seq of the target's epoch e1 (enlisted with seq 1). */
    private JobOutcome outcome(String target, String jobId, Instant startedAt) {
        long seq = seqs.merge(target, 2L, (a, b) -> a + 1);
        return JobOutcome.newBuilder().setHeader(statusHeader(target, "e1", seq)).setRunId(UUID.randomUUID())
                .setJobId(jobId).setTrigger("manual").setStatus(RunStatus.SUCCEEDED).setStartedAt(startedAt)
                .setEndedAt(startedAt.plusSeconds(1)).setDurationMillis(1_000).build();
    }

    private static CommandHeader commandHeader() {
        return CommandHeader.newBuilder().setCommandId(UUID.randomUUID()).setIssuedAt(T0).setIssuedBy("test").build();
    }

    private static ForcePoll forcePoll(String... targets) {
        return ForcePoll.newBuilder().setHeader(commandHeader()).setTargets(List.of(targets)).build();
    }

    private static UpsertJob upsert(JobDefinition job) {
        return UpsertJob.newBuilder().setHeader(commandHeader()).setJob(job).build();
    }

    private static JobDefinition job(String jobId, String description, String... targets) {
        JobStep step = JobStep.newBuilder().setStepId(1).setName("run").setCommand(List.of("/bin/true")).build();
        return JobDefinition.newBuilder().setJobId(jobId).setName(jobId)
                .setDescription(description.isEmpty() ? null : description).setSteps(List.of(step))
                .setTargets(List.of(targets)).build();
    }
}
