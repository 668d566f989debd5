package io.msx.master.internal;

import io.msx.schemas.InMemorySchemaRegistry;
import io.msx.schemas.DeadLetters;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.avro.CommandStatus;
import io.msx.avro.JobDefinition;
import io.msx.avro.StatusHeader;
import io.msx.avro.command.EnlistTarget;
import io.msx.avro.command.ForcePoll;
import io.msx.avro.command.UpsertJob;
import io.msx.avro.status.Enlist;
import io.msx.local.ManualClock;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.Topics;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The command loop against a mock consumer and producer (no broker): size checks before anything is written,
 * dead letters and answers for unreadable commands, and one command per transaction when Kafka refuses a record.
 * Each test delivers its commands in one poll and stops the loop at the next, so {@link CommandLoop#run()} returns.
 */
class CommandLoopTest {

    private static final int SMALL_LIMIT = 4096; // 3,072 bytes per value once the 1 KiB margin is kept

    private final Topics topics = new Topics("t.");
    private final TopicPartition commands = new TopicPartition(topics.commands(), 0);
    private final ManualClock clock = new ManualClock(Instant.parse("2026-11-25T10:00:00Z"));
    private final TargetRegistry registry = new TargetRegistry(clock);
    private final JobRegistry jobs = new JobRegistry();
    private final DownloadList downloads = new DownloadList();
    private final MsxCodec codec = MsxCodec.of(InMemorySchemaRegistry.withMsxSchemas(), true);
    private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
    private final List<String> topicsCreated = new ArrayList<>();
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    private int reloads;

    @BeforeEach
    void enlistTwoTargets() {
        for (String t : List.of("T1", "T2")) {
            registry.apply(Enlist.newBuilder().setHeader(StatusHeader.newBuilder().setTarget(t).setSeq(1)
                    .setOccurredAt(clock.instant()).build()).setAgentVersion("1").setTimeZone("UTC")
                    .setPollingIntervalSeconds(60).build());
        }
        consumer.updateBeginningOffsets(Map.of(commands, 0L));
        logged.start();
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(CommandLoop.class)).addAppender(logged);
    }

    @AfterEach
    void detachLog() {
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(CommandLoop.class)).detachAppender(logged);
    }

    @Test
    void shouldRejectACommandWhoseInstructionIsOverTheLimitWritingNothingElseOfIt() {
        MockProducer<byte[], byte[]> producer = producer();
        UpsertJob big = upsert(bigJob("big", List.of("T1")));
        ForcePoll poll = poll("T1");

        run(loop(producer, RecordLimit.of(SMALL_LIMIT, 1_048_576)), command(big), command(poll));

        CommandResult rejected = result(producer, big);
        assertThat(rejected.getStatus()).isEqualTo(CommandStatus.REJECTED);
        assertThat(rejected.getReason()).matches("instruction JOB_INSERT for T1 would be [0-9,]+ bytes, over the "
                + "3,072-byte record limit of t\\.target\\.T1");
        assertThat(result(producer, poll).getStatus()).as("the next command goes on").isEqualTo(CommandStatus.ACCEPTED);
        assertThat(producer.history()).extracting(ProducerRecord::topic)
                .as("nothing of the rejected command but its result; the poll and its result")
                .containsExactlyInAnyOrder(topics.commandResults(), topics.target("T1"), topics.commandResults());
        assertThat(instructions(producer)).extracting(MessageFamily::typeName).containsExactly("PollNow");
        assertThat(jobs.get("big")).as("not applied to memory").isEmpty();
        assertThat(producer.consumerGroupOffsetsHistory()).last()
                .satisfies(o -> assertThat(o.values().iterator().next().get(commands).offset()).isEqualTo(2));
    }

    @Test
    void shouldRejectAnEnlistOfACollidingNameWithoutCreatingItsTopic() {
        MockProducer<byte[], byte[]> producer = producer();
        EnlistTarget enlist = EnlistTarget.newBuilder().setHeader(header()).setTarget("C_1").build();

        run(loop(producer, RecordLimit.of(SMALL_LIMIT, 1_048_576)), command(enlist));

        assertThat(result(producer, enlist).getReason()).contains("would collide with 'C.1'");
        assertThat(topicsCreated).isEmpty();
        assertThat(producer.history()).extracting(ProducerRecord::topic).containsExactly(topics.commandResults());
    }

    @Test
    void shouldDeadLetterUnreadableCommandsAnswerThemWhenTheirIdIsReadableAndSkipTombstones() {
        MockProducer<byte[], byte[]> producer = producer();
        UUID garbageId = UUID.randomUUID();
        UUID futureId = UUID.randomUUID();
        ForcePoll poll = poll("T2");

        run(loop(producer, RecordLimit.of(SMALL_LIMIT, 1_048_576)),
                new Record(garbageId.toString(), "not avro".getBytes(StandardCharsets.UTF_8)),
                new Record(UUID.randomUUID().toString(), null),
                new Record("not-a-uuid", codec.encode(futureCommand(futureId))),
                command(poll));

        Map<UUID, CommandResult> results = results(producer).stream()
                .collect(Collectors.toMap(CommandResult::getCommandId, r -> r));
        assertThat(results).as("one answer each, none for the tombstone").hasSize(3);
        assertThat(results.get(garbageId).getReason()).startsWith("malformed command: unknown magic byte");
        assertThat(results.get(futureId).getReason()).as("answered by the id in its header")
                .matches("unknown message type io\\.msx\\.avro\\.command\\.FutureCommand, schema id [0-9]+: not "
                        + "supported by this master version");
        assertThat(results.get(poll.getHeader().getCommandId()).getStatus()).isEqualTo(CommandStatus.ACCEPTED);
        assertThat(producer.history()).filteredOn(r -> r.topic().equals(Topics.deadLetter(topics.commands())))
                .extracting(r -> new String(r.headers().lastHeader(DeadLetters.REASON_HEADER).value(),
                        StandardCharsets.UTF_8))
                .hasSize(2).anySatisfy(reason -> assertThat(reason).contains("magic byte"))
                .anySatisfy(reason -> assertThat(reason).contains("FutureCommand"));
    }

    @Test
    void shouldAnswerTheCommandWhoseRecordKafkaRefusesAndLetTheOthersThrough() {
        assertRefusedCommandAnsweredAndOthersThrough(new RefusingProducer(3_000, true));
    }

    @Test
    void shouldNotCommitATransactionWithARefusedRecordEvenIfTheProducerWould() {
        assertRefusedCommandAnsweredAndOthersThrough(new RefusingProducer(3_000, false));
    }

    private void assertRefusedCommandAnsweredAndOthersThrough(RefusingProducer producer) {
        producer.initTransactions();
        ForcePoll before = poll("T1");
        UpsertJob big = upsert(bigJob("big", List.of("T1", "T2")));
        ForcePoll after = poll("T2");

        // The master's own limit lets the job through; the broker (simulated) refuses it as too large.
        run(loop(producer, RecordLimit.of(1_048_588, 1_048_576)), command(before), command(big), command(after));

        assertThat(result(producer, before).getStatus()).isEqualTo(CommandStatus.ACCEPTED);
        assertThat(result(producer, after).getStatus()).isEqualTo(CommandStatus.ACCEPTED);
        CommandResult refused = result(producer, big);
        assertThat(refused.getStatus()).isEqualTo(CommandStatus.REJECTED);
        assertThat(refused.getReason()).startsWith("Kafka refused a record of this command: ")
                .contains(RecordTooLargeException.class.getName());
        assertThat(results(producer)).as("exactly one result per command").hasSize(3);
        assertThat(instructions(producer)).extracting(MessageFamily::typeName)
                .containsExactlyInAnyOrder("PollNow", "PollNow");
        assertThat(producer.history()).extracting(ProducerRecord::topic).doesNotContain(topics.jobs());
        assertThat(jobs.get("big")).as("the aborted decision was reloaded away").isEmpty();
        assertThat(reloads).as("after the batch and after the refused command").isEqualTo(2);
        assertThat(logged.list).filteredOn(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
                .extracting(ILoggingEvent::getFormattedMessage).as("the cause is logged")
                .anySatisfy(m -> assertThat(m).contains("aborted").contains(RecordTooLargeException.class.getName()));
    }

    // ---- helpers ----

    private record Record(String key, byte[] value) {
    }

    private CommandLoop loop(MockProducer<byte[], byte[]> producer, RecordLimit limit) {
        return new CommandLoop(consumer, producer, topics, new CommandProcessor(registry, jobs, clock), codec,
                topicsCreated::addAll, limit, () -> {
                    reloads++;
                    jobs.clear(); // no job was ever committed in these tests: Kafka holds none
                }, downloads, d -> { });
    }

    /** Delivers the records in one poll, stops the loop at the next; returns when the loop has. */
    private void run(CommandLoop loop, Record... records) {
        consumer.schedulePollTask(() -> {
            consumer.rebalance(List.of(commands));
            for (int i = 0; i < records.length; i++) {
                consumer.addRecord(new ConsumerRecord<>(commands.topic(), 0, i,
                        records[i].key().getBytes(StandardCharsets.UTF_8), records[i].value()));
            }
        });
        consumer.schedulePollTask(loop::shutdown);
        loop.run();
        assertThat(loop.fatalError()).isNull();
    }

    private static MockProducer<byte[], byte[]> producer() {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer());
        producer.initTransactions();
        return producer;
    }

    private Record command(SpecificRecord command) {
        return new Record(MessageFamily.COMMAND.<CommandHeader>header(command).getCommandId().toString(),
                codec.encode(command));
    }

    private static CommandHeader header() {
        return CommandProcessorTest.header();
    }

    private static ForcePoll poll(String target) {
        return ForcePoll.newBuilder().setHeader(header()).setTargets(List.of(target)).build();
    }

    private static UpsertJob upsert(JobDefinition job) {
        return UpsertJob.newBuilder().setHeader(header()).setJob(job).build();
    }

    /** A valid job whose JobInsert is about 3.5 KB. */
    private static JobDefinition bigJob(String id, List<String> targets) {
        return JobDefinition.newBuilder(CommandProcessorTest.job(id, targets)).setDescription("x".repeat(3_500))
                .build();
    }

    /** A command of a type a newer msx knows and this one does not, with the family's header. */
    private static GenericRecord futureCommand(UUID id) {
        Schema schema = SchemaBuilder.record("FutureCommand").namespace("io.msx.avro.command").fields()
                .name("header").type(CommandHeader.getClassSchema()).noDefault()
                .name("wish").type().stringType().noDefault()
                .endRecord();
        GenericRecord header = new GenericData.Record(CommandHeader.getClassSchema());
        header.put("commandId", id.toString());
        header.put("issuedAt", 0L);
        GenericRecord command = new GenericData.Record(schema);
        command.put("header", header);
        command.put("wish", "teleport");
        return command;
    }

    private List<CommandResult> results(MockProducer<byte[], byte[]> producer) {
        return producer.history().stream().filter(r -> r.topic().equals(topics.commandResults()))
                .map(r -> codec.decodeAs(CommandResult.class, r.topic(), -1, -1, r.value())).toList();
    }

    private CommandResult result(MockProducer<byte[], byte[]> producer, SpecificRecord command) {
        UUID id = MessageFamily.COMMAND.<CommandHeader>header(command).getCommandId();
        return results(producer).stream().filter(r -> r.getCommandId().equals(id)).findFirst().orElseThrow();
    }

    private List<SpecificRecord> instructions(MockProducer<byte[], byte[]> producer) {
        Function<ProducerRecord<byte[], byte[]>, SpecificRecord> decode = r -> ((Decoded.Message) codec.decode(
                MessageFamily.INSTRUCTION, r.topic(), r.value())).value();
        return producer.history().stream().filter(r -> r.topic().startsWith(topics.prefix() + "target."))
                .map(decode).toList();
    }

    /**
     * A transactional producer that refuses, as a broker does, a record value over a size: the send fails, and, when
     * {@code commitFails}, the transaction with it (the commit throws Kafka's "error state" exception caused by the
     * refusal, as KafkaProducer does).
     */
    private static final class RefusingProducer extends MockProducer<byte[], byte[]> {
        private final int maxValueBytes;
        private final boolean commitFails;
        private RecordTooLargeException refused;

        RefusingProducer(int maxValueBytes, boolean commitFails) {
            super(true, null, new ByteArraySerializer(), new ByteArraySerializer());
            this.maxValueBytes = maxValueBytes;
            this.commitFails = commitFails;
        }

        @Override
        public synchronized Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
            if (record.value() != null && record.value().length > maxValueBytes) {
                refused = new RecordTooLargeException("The message is " + record.value().length + " bytes when "
                        + "serialized which is larger than the maximum record size the server accepts");
                return CompletableFuture.failedFuture(refused);
            }
            return super.send(record, callback);
        }

        @Override
        public void commitTransaction() {
            if (refused != null && commitFails) {
                throw new KafkaException("Cannot execute transactional method because we are in an error state",
                        refused);
            }
            super.commitTransaction();
        }

        @Override
        public void abortTransaction() {
            refused = null;
            super.abortTransaction();
        }
    }
}
