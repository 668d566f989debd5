package io.msx.agent.internal;

import io.msx.schemas.InMemorySchemaRegistry;
import io.msx.schemas.DeadLetters;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.msx.avro.InstructionHeader;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.instruction.JobInsert;
import io.msx.avro.instruction.SyncTime;
import io.msx.avro.status.AckStatus;
import io.msx.avro.status.InstructionAck;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.Topics;
import io.msx.agent.internal.job.JobIsolation;
import io.msx.spool.SpoolFullException;
import io.msx.spool.StatusSpool;
import io.msx.spool.StatusSpoolConfig;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericRecordBuilder;
import io.msx.security.Ed25519Keys;
import io.msx.security.InstructionSignatures;
import io.msx.security.SignatureHeaders;
import io.msx.security.Signer;
import io.msx.security.TrustedKeys;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The instruction loop and applier over a real spool (RocksDB) and a schema registry in memory; Kafka is a
 * MockConsumer (the instruction topic), and MockProducers for the status topic and the dead-letter topic, so a test
 * decides when Kafka acknowledges a dead letter, or fails it.
 */
class InstructionLoopTest {

    private static final String TOPIC = "msx.target.T1";
    private static final String VERSION = "test-1.0";
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private final MsxCodec codec = MsxCodec.of(new InMemorySchemaRegistry(), true);
    private final MockProducer<byte[], byte[]> status = producer(true);
    private final PollingMockConsumer consumer = new PollingMockConsumer();
    private final AgentState state = new AgentState(Duration.ofMinutes(1));
    private final JobInventory jobs = new JobInventory();
    private StatusSpool spool;
    private AgentStore store;
    private StatusReporter reporter;
    private JobExecutor executor;
    private CheckInScheduler checkIns;
    private InstructionApplier applier;
    private InstructionLoop loop;
    private Thread thread;

    /** A MockConsumer whose poll waits a little when there is nothing, as a real one does, instead of spinning. */
    private static final class PollingMockConsumer extends MockConsumer<byte[], byte[]> {
        /** What the group committed before this consumer came (MockConsumer forgets commits on assign). */
        private volatile Map<TopicPartition, org.apache.kafka.clients.consumer.OffsetAndMetadata> earlier = Map.of();

        PollingMockConsumer() {
            super("earliest");
        }

        @Override
        public synchronized Map<TopicPartition, org.apache.kafka.clients.consumer.OffsetAndMetadata> committed(
                java.util.Set<TopicPartition> partitions, Duration timeout) {
            Map<TopicPartition, org.apache.kafka.clients.consumer.OffsetAndMetadata> now =
                    new java.util.HashMap<>(earlier);
            now.putAll(super.committed(partitions, timeout));
            return now;
        }

        @Override
        public ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
            ConsumerRecords<byte[], byte[]> records = super.poll(timeout);
            if (records.isEmpty()) {
                LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
            }
            return records;
        }
    }

    private static MockProducer<byte[], byte[]> producer(boolean autoComplete) {
        return new MockProducer<>(autoComplete, null, new ByteArraySerializer(), new ByteArraySerializer());
    }

    @BeforeEach
    void setUp() throws Exception {
        consumer.updatePartitions(TOPIC, List.of(new PartitionInfo(TOPIC, 0, null, new Node[0], new Node[0])));
        consumer.updateBeginningOffsets(Map.of(new TopicPartition(TOPIC, 0), 0L));
        consumer.updateEndOffsets(Map.of(new TopicPartition(TOPIC, 0), 0L));
        StatusSpoolConfig config = new StatusSpoolConfig(Map.of(
                StatusSpoolConfig.SPOOL_DIR_CONFIG, dir.resolve("spool").toString(),
                StatusSpoolConfig.SPOOL_STATE_COLUMN_FAMILIES_CONFIG, String.join(",", AgentStore.COLUMN_FAMILIES)));
        spool = StatusSpool.open("T1", config, () -> status, "msx.status", Clock.systemUTC(),
                new SimpleMeterRegistry());
        store = new AgentStore(spool);
        reporter = new StatusReporter("T1", spool, store, codec, Clock.systemUTC(), state);
        executor = new JobExecutor("T1", 1, reporter, Files.createDirectories(dir.resolve("work")),
                Clock.systemUTC());
        checkIns = new CheckInScheduler("test-poller", state, Clock.systemUTC(), trigger -> { });
        applier = new InstructionApplier("T1", reporter, checkIns, state, ZoneOffset.UTC, VERSION, jobs, executor,
                () -> loop.stopAfterCurrent());
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        if (loop != null) {
            loop.shutdown();
            thread.join(WAIT.toMillis());
        }
        executor.shutdown(Duration.ZERO);
        checkIns.close();
        spool.close(Duration.ofSeconds(1));
    }

    private void start(MockProducer<byte[], byte[]> deadLetters, InstructionLoop.Handler handler) {
        start(deadLetters, handler, null);
    }

    /** {@code resumeAfter} null: a fresh installation, reading from the end of the topic (offset 0 here). */
    private void start(MockProducer<byte[], byte[]> deadLetters, InstructionLoop.Handler handler, Long resumeAfter) {
        loop = new InstructionLoop(consumer, TOPIC, codec, deadLetters, WAIT, resumeAfter, Clock.systemUTC());
        loop.handler(handler);
        thread = new Thread(loop, "test-instructions");
        thread.start();
    }

    /** Records the topic holds: the loop's first poll finds them. */
    private void feed(List<ConsumerRecord<byte[], byte[]>> records) {
        consumer.schedulePollTask(() -> records.forEach(consumer::addRecord));
    }

    private static ConsumerRecord<byte[], byte[]> record(long offset, byte[] value) {
        return new ConsumerRecord<>(TOPIC, 0, offset, null, value);
    }

    private byte[] instruction(UUID id, Function<InstructionHeader, SpecificRecord> build) {
        return codec.encode(build.apply(InstructionHeader.newBuilder().setInstructionId(id).setTarget("T1")
                .setPostedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS)).build()));
    }

    private byte[] syncTime(UUID id) {
        return instruction(id, h -> SyncTime.newBuilder().setHeader(h).setMasterTime(Instant.now()
                .truncatedTo(ChronoUnit.MILLIS)).build());
    }

    private static JobDefinition job(String id, int retryAttempts) {
        return JobDefinition.newBuilder().setJobId(id).setName(id).setSteps(List.of(JobStep.newBuilder()
                .setStepId(1).setName("s").setCommand(List.of("true")).setRetryAttempts(retryAttempts).build()))
                .build();
    }

    /** Acknowledgements the spool delivered to the status topic so far. */
    private List<InstructionAck> acks() {
        return status.history().stream()
                .map(r -> ((Decoded.Message) codec.decode(MessageFamily.STATUS, r.topic(), r.value())).value())
                .filter(InstructionAck.class::isInstance).map(InstructionAck.class::cast).toList();
    }

    @Test
    void shouldDeadLetterUndecodableBytesAndOnlyThenAcknowledgeThem() {
        MockProducer<byte[], byte[]> dlq = producer(false);
        RecordHeaders headers = new RecordHeaders();
        headers.add("origin", utf8("test"));
        byte[] garbage = {7, 7, 7, 7, 7, 7};
        UUID trailing = UUID.randomUUID();
        byte[] valid = syncTime(trailing);
        byte[] withTrailingByte = Arrays.copyOf(valid, valid.length + 1);
        UUID sync = UUID.randomUUID();
        feed(List.of(new ConsumerRecord<>(TOPIC, 0, 0, 0L, TimestampType.CREATE_TIME, 1, garbage.length, utf8("k"),
                        garbage, headers, Optional.empty()),
                record(1, withTrailingByte), record(2, syncTime(sync))));
        start(dlq, applier);

        await().atMost(WAIT).until(() -> dlq.history().size() == 1);
        assertThat(state.lastAppliedOffset()).as("not acknowledged while Kafka has not taken the dead letter")
                .isEqualTo(-1L);
        assertThat(store.appliedOffset()).as("a fresh installation's position: before offset 0").isEqualTo(-1L);
        assertThat(acks()).isEmpty();
        dlq.completeNext();
        await().atMost(WAIT).until(() -> dlq.history().size() == 2);
        dlq.completeNext();
        await().atMost(WAIT).alias("three acknowledgements").until(() -> acks().size() == 3);

        List<InstructionAck> acks = acks();
        assertThat(acks).extracting(InstructionAck::getOffset).containsExactly(0L, 1L, 2L);
        assertThat(acks.get(0).getInstructionId()).isEqualTo(StatusReporter.UNDECODABLE);
        assertThat(acks.get(0).getStatus()).isEqualTo(AckStatus.FAILED);
        assertThat(acks.get(0).getError()).isEqualTo("undecodable instruction: unknown magic byte 0x07, expected "
                + "0x00 (Confluent wire format)");
        assertThat(acks.get(1).getInstructionId()).as("from the header, still readable").isEqualTo(trailing);
        assertThat(acks.get(1).getError()).startsWith("undecodable instruction: trailing bytes");
        assertThat(acks.get(2).getInstructionId()).isEqualTo(sync);
        assertThat(acks.get(2).getStatus()).isEqualTo(AckStatus.APPLIED);

        ProducerRecord<byte[], byte[]> dead = dlq.history().get(0);
        assertThat(dead.topic()).isEqualTo(Topics.deadLetter(TOPIC));
        assertThat(dead.key()).isEqualTo(utf8("k"));
        assertThat(dead.value()).isEqualTo(garbage);
        assertThat(header(dead, "origin")).isEqualTo("test");
        assertThat(header(dead, DeadLetters.REASON_HEADER)).startsWith("unknown magic byte 0x07");
        assertThat(header(dead, DeadLetters.TOPIC_HEADER)).isEqualTo(TOPIC);
        assertThat(header(dead, DeadLetters.PARTITION_HEADER)).isEqualTo("0");
        assertThat(header(dead, DeadLetters.OFFSET_HEADER)).isEqualTo("0");
        assertThat(dlq.history().get(1).value()).isEqualTo(withTrailingByte);
        assertThat(header(dlq.history().get(1), DeadLetters.OFFSET_HEADER)).isEqualTo("1");
    }

    @Test
    void shouldDeadLetterAnUnknownInstructionTypeAndAcknowledgeItWithItsInstructionId() {
        MockProducer<byte[], byte[]> dlq = producer(true);
        Schema teleport = SchemaBuilder.record("Teleport").namespace(MessageFamily.INSTRUCTION.namespace()).fields()
                .name("header").type(InstructionHeader.getClassSchema()).noDefault()
                .requiredString("destination").endRecord();
        UUID future = UUID.randomUUID();
        byte[] unknown = codec.encode(new GenericRecordBuilder(teleport)
                .set("header", new GenericRecordBuilder(InstructionHeader.getClassSchema())
                        .set("instructionId", future.toString()).set("target", "T1")
                        .set("postedAt", System.currentTimeMillis()).build())
                .set("destination", "mars").build());
        UUID sync = UUID.randomUUID();
        feed(List.of(record(0, unknown), record(1, syncTime(sync))));
        start(dlq, applier);

        await().atMost(WAIT).alias("two acknowledgements").until(() -> acks().size() == 2);

        InstructionAck refused = acks().get(0);
        assertThat(refused.getInstructionId()).isEqualTo(future);
        assertThat(refused.getStatus()).isEqualTo(AckStatus.FAILED);
        assertThat(refused.getError()).startsWith("unknown message type io.msx.avro.instruction.Teleport, schema id ")
                .endsWith(": not supported by this agent version (" + VERSION + ")");
        assertThat(acks().get(1).getInstructionId()).isEqualTo(sync);
        assertThat(dlq.history()).singleElement().satisfies(dead -> {
            assertThat(dead.value()).isEqualTo(unknown);
            assertThat(header(dead, DeadLetters.REASON_HEADER))
                    .startsWith("unknown message type io.msx.avro.instruction.Teleport");
        });
    }

    @Test
    void shouldTryADeadLetterKafkaRefusedAgainAndAcknowledgeOnlyOnce() {
        MockProducer<byte[], byte[]> dlq = producer(false);
        ConsumerRecord<byte[], byte[]> garbage = record(0, new byte[] {7, 7, 7, 7, 7, 7});
        feed(List.of(garbage));
        start(dlq, applier);
        await().atMost(WAIT).until(() -> dlq.history().size() == 1);

        consumer.schedulePollTask(() -> consumer.addRecord(garbage)); // fetched again after the loop seeks back
        dlq.errorNext(new TimeoutException("broker unreachable"));
        await().atMost(WAIT).alias("dead letter sent again").until(() -> dlq.history().size() == 2);
        assertThat(state.lastAppliedOffset()).isEqualTo(-1L);
        dlq.completeNext();

        await().atMost(WAIT).until(() -> acks().size() == 1);
        assertThat(acks()).singleElement().satisfies(a -> assertThat(a.getOffset()).isZero());
        assertThat(dlq.history()).extracting(ProducerRecord::value).containsOnly(garbage.value());
    }

    @Test
    void shouldAcknowledgeAnUnexpectedFailureAsFailedAndApplyTheNextInstruction() {
        InstructionLoop.Handler failing = new DelegatingHandler(applier) {
            @Override
            public void apply(SpecificRecord instruction, long offset, SignatureHeaders.Signed signed, byte[] value,
                              ApplyBatch batch) {
                if (instruction instanceof SyncTime) {
                    throw new IllegalStateException("clock on fire");
                }
                super.apply(instruction, offset, signed, value, batch);
            }
        };
        UUID sync = UUID.randomUUID();
        UUID insert = UUID.randomUUID();
        feed(List.of(record(0, syncTime(sync)),
                record(1, instruction(insert, h -> JobInsert.newBuilder().setHeader(h).setJob(job("a", 0)).build()))));
        start(producer(true), failing);

        await().atMost(WAIT).alias("two acknowledgements").until(() -> acks().size() == 2);

        assertThat(acks().get(0).getInstructionId()).isEqualTo(sync);
        assertThat(acks().get(0).getStatus()).isEqualTo(AckStatus.FAILED);
        assertThat(acks().get(0).getError())
                .isEqualTo("cannot apply SyncTime: java.lang.IllegalStateException: clock on fire");
        assertThat(acks().get(1).getInstructionId()).isEqualTo(insert);
        assertThat(acks().get(1).getStatus()).isEqualTo(AckStatus.APPLIED);
        assertThat(jobs.get("a")).isNotNull();
        assertThat(thread.isAlive()).as("the loop goes on").isTrue();
    }

    @Test
    void shouldTryAnInstructionTheSpoolCouldNotAcknowledgeAgainAndApplyItOnce() {
        AtomicInteger attempts = new AtomicInteger();
        InstructionLoop.Handler fullOnce = new DelegatingHandler(applier) {
            @Override
            public void apply(SpecificRecord instruction, long offset, SignatureHeaders.Signed signed, byte[] value,
                              ApplyBatch batch) {
                if (attempts.incrementAndGet() == 1) {
                    throw new SpoolFullException("spool T1 is full");
                }
                super.apply(instruction, offset, signed, value, batch);
            }
        };
        UUID sync = UUID.randomUUID();
        ConsumerRecord<byte[], byte[]> record = record(0, syncTime(sync));
        feed(List.of(record));
        consumer.schedulePollTask(() -> consumer.addRecord(record)); // fetched again after the loop seeks back
        start(producer(true), fullOnce);

        await().atMost(WAIT).until(() -> acks().size() == 1);
        assertThat(attempts).hasValue(2);
        assertThat(acks()).singleElement().satisfies(a -> {
            assertThat(a.getInstructionId()).isEqualTo(sync);
            assertThat(a.getStatus()).isEqualTo(AckStatus.APPLIED);
        });
    }

    @Test
    void shouldRefuseAJobThisTargetsIsolationForbidsAndStoreAnAllowedOne() {
        JobExecutor guarded = new JobExecutor("T1", 1, reporter, JobIsolation.prepare(new JobIsolation.Settings(
                dir.resolve("jobs"), dir.resolve("data"), JobIsolation.DEFAULT_PATH, null, null, List.of(), null,
                List.of("/usr/bin/env")), Map.of()), Clock.systemUTC(), JobExecutor.DEFAULT_OUTCOME_MAX_BYTES);
        InstructionApplier applier = new InstructionApplier("T1", reporter, checkIns, state, ZoneOffset.UTC, VERSION,
                jobs, guarded, () -> loop.stopAfterCurrent());
        JobDefinition touching = job("touching", JobStep.newBuilder().setStepId(1).setName("s")
                .setCommand(List.of("/usr/bin/touch", "x")).build());
        JobDefinition forging = job("forging", JobStep.newBuilder().setStepId(1).setName("s")
                .setCommand(List.of("/usr/bin/env")).setEnv(Map.of("MSX_RUN_ID", "another-run")).build());
        JobDefinition allowed = job("allowed", JobStep.newBuilder().setStepId(1).setName("s")
                .setCommand(List.of("/usr/bin/env")).build());
        feed(List.of(
                record(0, instruction(UUID.randomUUID(), h -> JobInsert.newBuilder().setHeader(h).setJob(touching)
                        .build())),
                record(1, instruction(UUID.randomUUID(), h -> JobInsert.newBuilder().setHeader(h).setJob(forging)
                        .build())),
                record(2, instruction(UUID.randomUUID(), h -> JobInsert.newBuilder().setHeader(h).setJob(allowed)
                        .build()))));
        try {
            start(producer(true), applier);

            await().atMost(WAIT).alias("three acknowledgements").until(() -> acks().size() == 3);

            assertThat(acks()).extracting(InstructionAck::getStatus)
                    .containsExactly(AckStatus.FAILED, AckStatus.FAILED, AckStatus.APPLIED);
            assertThat(acks().get(0).getError()).isEqualTo("job 'touching' step 1: /usr/bin/touch is not in "
                    + "jobs.allowed.commands");
            assertThat(acks().get(1).getError()).startsWith("job 'forging' step 1: env sets MSX_RUN_ID");
            assertThat(jobs.all()).extracting(JobDefinition::getJobId).containsExactly("allowed");
            assertThat(store.jobs()).containsOnlyKeys("allowed");
        } finally {
            guarded.shutdown(Duration.ZERO);
        }
    }

    private static JobDefinition job(String id, JobStep step) {
        return JobDefinition.newBuilder().setJobId(id).setName(id).setSteps(List.of(step)).build();
    }

    @Test
    void shouldRefuseAJobBreakingARuleAndStoreAValidOne() {
        UUID invalid = UUID.randomUUID();
        UUID valid = UUID.randomUUID();
        feed(List.of(
                record(0, instruction(invalid, h -> JobInsert.newBuilder().setHeader(h).setJob(job("a", 10_000))
                        .build())),
                record(1, instruction(valid, h -> JobInsert.newBuilder().setHeader(h).setJob(job("b", 1)).build()))));
        start(producer(true), applier);

        await().atMost(WAIT).alias("two acknowledgements").until(() -> acks().size() == 2);

        assertThat(acks().get(0).getStatus()).isEqualTo(AckStatus.FAILED);
        assertThat(acks().get(0).getError()).contains("retryAttempts is 10000, allowed 0 to 9999");
        assertThat(acks().get(1).getStatus()).isEqualTo(AckStatus.APPLIED);
        assertThat(jobs.all()).extracting(JobDefinition::getJobId).containsExactly("b");
        assertThat(store.jobs()).as("stored with the ack").containsExactly(Map.entry("b", job("b", 1)));
    }

    @Test
    void shouldRefuseUnsignedForgedMisaddressedReplayedAndExpiredInstructionsAndApplyOnlyTheMastersOwn() {
        Signer master = new Signer(Ed25519Keys.generate());
        Signer intruder = new Signer(Ed25519Keys.generate());
        applier.guard(new InstructionGuard("T1", TrustedKeys.of(master.publicKey()), true, Duration.ofDays(7),
                Clock.systemUTC()));
        byte[] job = instruction(UUID.randomUUID(), h -> JobInsert.newBuilder().setHeader(h).setJob(job("a", 0))
                .build());
        byte[] old = codec.encode(JobInsert.newBuilder().setHeader(InstructionHeader.newBuilder()
                .setInstructionId(UUID.randomUUID()).setTarget("T1").setPostedAt(Instant.now().minus(Duration.ofDays(8))
                        .truncatedTo(ChronoUnit.MILLIS)).build()).setJob(job("old", 0)).build());
        // the master's signature of one instruction on another's bytes (a job altered on its way)
        byte[] tampered = instruction(UUID.randomUUID(), h -> JobInsert.newBuilder().setHeader(h)
                .setJob(job("evil", 0)).build());
        feed(List.of(
                signed(0, job, null, 1),                                    // unsigned
                signed(1, job, intruder, 1),                                // unknown key
                signed(2, tampered, master, 1, InstructionSignatures.sign(master, "T1", 1, job)), // altered
                signed(3, job, master, 1, InstructionSignatures.sign(master, "T2", 1, job)),       // T2's signature
                signed(4, job, master, 5),                                  // the master's own: applied
                signed(5, job, master, 5),                                  // replayed
                signed(6, job, master, 4),                                  // older sequence
                signed(7, old, master, 6)));                                // expired
        start(producer(true), applier);

        await().atMost(WAIT).alias("eight acknowledgements").until(() -> acks().size() == 8);
        assertThat(acks()).extracting(InstructionAck::getStatus).containsExactly(AckStatus.FAILED, AckStatus.FAILED,
                AckStatus.FAILED, AckStatus.FAILED, AckStatus.APPLIED, AckStatus.FAILED, AckStatus.FAILED,
                AckStatus.FAILED);
        assertThat(acks().get(0).getError()).startsWith("security: unsigned");
        assertThat(acks().get(1).getError()).contains("not trusted").contains(intruder.keyId());
        assertThat(acks().get(2).getError()).contains("forged or tampered");
        assertThat(acks().get(3).getError()).contains("forged or tampered");
        assertThat(acks().get(5).getError()).contains("replayed instruction: sequence 5 is not above 5");
        assertThat(acks().get(6).getError()).contains("replayed instruction: sequence 4");
        assertThat(acks().get(7).getError()).contains("expired instruction");
        assertThat(jobs.all()).extracting(JobDefinition::getJobId).containsExactly("a");
        assertThat(new AgentMeta(spool).instructionSeq()).as("the last applied, kept for the next start; refused "
                + "instructions use up no number").isEqualTo(5);
    }

    private static ConsumerRecord<byte[], byte[]> signed(long offset, byte[] value, Signer signer, long seq) {
        return signed(offset, value, signer, seq, signer == null ? null : InstructionSignatures.sign(signer, "T1",
                seq, value));
    }

    private static ConsumerRecord<byte[], byte[]> signed(long offset, byte[] value, Signer signer, long seq,
                                                         byte[] signature) {
        RecordHeaders headers = new RecordHeaders();
        if (signer != null) {
            SignatureHeaders.write(headers, signer.keyId(), signature, seq);
        }
        return new ConsumerRecord<>(TOPIC, 0, offset, -1L, org.apache.kafka.common.record.TimestampType.CREATE_TIME,
                -1, -1, null, value, headers, java.util.Optional.empty());
    }

    @Test
    void shouldDeadLetterAcknowledgeAndCountANullRecord() {
        MockProducer<byte[], byte[]> dlq = producer(true);
        UUID sync = UUID.randomUUID();
        feed(List.of(record(0, null), record(1, syncTime(sync))));
        start(dlq, applier);

        await().atMost(WAIT).alias("two acknowledgements").until(() -> acks().size() == 2);
        assertThat(acks().get(0).getInstructionId()).isEqualTo(StatusReporter.UNDECODABLE);
        assertThat(acks().get(0).getStatus()).isEqualTo(AckStatus.FAILED);
        assertThat(acks().get(0).getError()).contains(InstructionLoop.NULL_RECORD);
        assertThat(acks().get(1).getInstructionId()).isEqualTo(sync);
        assertThat(dlq.history()).singleElement().satisfies(dead ->
                assertThat(header(dead, DeadLetters.REASON_HEADER)).isEqualTo(InstructionLoop.NULL_RECORD));
        assertThat(state.undecodable()).isEqualTo(1);
        assertThat(new AgentMeta(spool).undecodable()).as("counted durably, with the ack").isEqualTo(1);
        assertThat(thread.isAlive()).as("the loop goes on").isTrue();
    }

    @Test
    void shouldApplyAJobInsertedAndStartedInTheSameBatchInOneWrite() {
        UUID insert = UUID.randomUUID();
        UUID start = UUID.randomUUID();
        UUID poll = UUID.randomUUID();
        feed(List.of(
                record(0, instruction(insert, h -> JobInsert.newBuilder().setHeader(h).setJob(job("a", 0)).build())),
                record(1, instruction(start, h -> io.msx.avro.instruction.JobStart.newBuilder().setHeader(h)
                        .setJobId("a").build())),
                record(2, instruction(poll, h -> io.msx.avro.instruction.SetPollInterval.newBuilder().setHeader(h)
                        .setIntervalSeconds(42).build()))));
        start(producer(true), applier);

        await().atMost(WAIT).alias("three acknowledgements").until(() -> acks().size() == 3);
        assertThat(acks()).extracting(InstructionAck::getStatus).containsOnly(AckStatus.APPLIED);
        assertThat(acks()).extracting(InstructionAck::getOffset).containsExactly(0L, 1L, 2L);
        assertThat(store.appliedOffset()).isEqualTo(2L);
        assertThat(new AgentMeta(spool).pollInterval()).as("kept for the next start").contains(Duration.ofSeconds(42));
        assertThat(state.pollInterval()).isEqualTo(Duration.ofSeconds(42));
        await().atMost(WAIT).alias("the run started after the batch was durable").until(() -> outcomes().stream()
                .anyMatch(o -> o.getJobId().equals("a") && o.getStatus() == io.msx.avro.status.RunStatus.SUCCEEDED));
    }

    @Test
    void shouldRecordInstructionsLostToRetentionAndAskForAResync() {
        TopicPartition partition = new TopicPartition(TOPIC, 0);
        consumer.updateBeginningOffsets(Map.of(partition, 5L));
        consumer.updateEndOffsets(Map.of(partition, 6L));
        UUID sync = UUID.randomUUID();
        feed(List.of(record(5, syncTime(sync))));
        start(producer(true), applier, 1L);

        await().atMost(WAIT).until(() -> acks().size() == 1);
        assertThat(acks().get(0).getOffset()).isEqualTo(5L);
        assertThat(state.instructionsLost()).as("offsets 2, 3 and 4 expired").isEqualTo(3);
        assertThat(state.resyncReason()).contains("3 instruction(s) at offsets 2..4 expired");
        AgentMeta meta = new AgentMeta(spool);
        assertThat(meta.instructionsLost()).isEqualTo(3);
        assertThat(meta.resyncRequested()).isPresent();
    }

    @Test
    void shouldReadOnFromTheEndAndAskForAResyncWhenItsPositionLiesPastTheLog() {
        TopicPartition partition = new TopicPartition(TOPIC, 0);
        consumer.updateBeginningOffsets(Map.of(partition, 0L));
        consumer.updateEndOffsets(Map.of(partition, 3L));
        UUID sync = UUID.randomUUID();
        feed(List.of(record(3, syncTime(sync))));
        start(producer(true), applier, 9L); // applied up to 9, but the recreated topic ends at 3

        await().atMost(WAIT).until(() -> acks().size() == 1);
        assertThat(acks().get(0).getOffset()).as("nothing before the end applied again").isEqualTo(3L);
        assertThat(state.resyncReason()).contains("the topic's log ends at 3, before offset 10");
        assertThat(new AgentMeta(spool).resyncRequested()).isPresent();
    }

    @Test
    void shouldBecomeANewInstallationWhenItsStoreIsBehindItsCommittedOffset() {
        TopicPartition partition = new TopicPartition(TOPIC, 0);
        consumer.updateEndOffsets(Map.of(partition, 6L));
        // what the group committed before the data directory was restored from an older backup
        consumer.earlier = Map.of(partition, new org.apache.kafka.clients.consumer.OffsetAndMetadata(5L));
        state.epoch("old-epoch");
        AtomicInteger reinstalls = new AtomicInteger();
        reporter = new StatusReporter("T1", spool, store, codec, Clock.systemUTC(), state);
        applier.onReinstall(() -> {
            reinstalls.incrementAndGet();
            return reporter.append(h -> io.msx.avro.status.Enlist.newBuilder().setHeader(h).setAgentVersion(VERSION)
                    .setTimeZone("UTC").setPollingIntervalSeconds(60).build(), List.of(),
                    io.msx.spool.StatusOutbox.Priority.RESERVED);
        });
        UUID sync = UUID.randomUUID();
        feed(List.of(record(5, syncTime(sync))));
        start(producer(true), applier, 1L); // the restored store applied up to offset 1 only

        await().atMost(WAIT).until(() -> acks().size() == 1);
        assertThat(acks().get(0).getOffset()).as("offsets 2 to 4 were applied before: not again").isEqualTo(5L);
        assertThat(state.epoch()).isNotEqualTo("old-epoch").isEqualTo(new AgentMeta(spool).epoch().orElseThrow());
        assertThat(state.resyncReason()).startsWith("restored or cloned data directory");
        assertThat(reinstalls).as("enlisted again under the new epoch").hasValue(1);
        await().atMost(WAIT).until(() -> status.history().stream().anyMatch(r -> ((Decoded.Message) codec.decode(
                MessageFamily.STATUS, r.topic(), r.value())).value() instanceof io.msx.avro.status.Enlist e
                && e.getHeader().getEpoch().equals(state.epoch())));
    }

    private List<io.msx.avro.status.JobOutcome> outcomes() {
        return status.history().stream()
                .map(r -> ((Decoded.Message) codec.decode(MessageFamily.STATUS, r.topic(), r.value())).value())
                .filter(io.msx.avro.status.JobOutcome.class::isInstance)
                .map(io.msx.avro.status.JobOutcome.class::cast).toList();
    }

    private static String header(ProducerRecord<byte[], byte[]> record, String name) {
        return new String(record.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Hands every call to the real applier; a test overrides what should go wrong. */
    private static class DelegatingHandler implements InstructionLoop.Handler {
        private final InstructionLoop.Handler delegate;

        DelegatingHandler(InstructionLoop.Handler delegate) {
            this.delegate = delegate;
        }

        @Override
        public ApplyBatch newBatch() {
            return delegate.newBatch();
        }

        @Override
        public boolean isBarrier(SpecificRecord instruction) {
            return delegate.isBarrier(instruction);
        }

        @Override
        public void apply(SpecificRecord instruction, long offset, SignatureHeaders.Signed signed, byte[] value,
                              ApplyBatch batch) {
            delegate.apply(instruction, offset, signed, value, batch);
        }

        @Override
        public void failed(SpecificRecord instruction, long offset, RuntimeException error, ApplyBatch batch) {
            delegate.failed(instruction, offset, error, batch);
        }

        @Override
        public void undecodable(long offset, InstructionHeader header, String reason, ApplyBatch batch) {
            delegate.undecodable(offset, header, reason, batch);
        }

        @Override
        public void unsupported(long offset, InstructionHeader header, String reason, ApplyBatch batch) {
            delegate.unsupported(offset, header, reason, batch);
        }

        @Override
        public void commit(ApplyBatch batch) {
            delegate.commit(batch);
        }

        @Override
        public void lost(long nextOffset, long logStartOffset, String why) {
            delegate.lost(nextOffset, logStartOffset, why);
        }

        @Override
        public void passed(long offset) {
            delegate.passed(offset);
        }

        @Override
        public void restored(long next, long committed) {
            delegate.restored(next, committed);
        }

        @Override
        public void positioned(boolean fresh, long next) {
            delegate.positioned(fresh, next);
        }
    }
}
