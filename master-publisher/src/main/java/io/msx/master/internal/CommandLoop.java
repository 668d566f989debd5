package io.msx.master.internal;

import io.msx.schemas.DeadLetters;
import io.msx.MsxRetriableException;
import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.avro.InstructionHeader;
import io.msx.avro.JobDefinition;
import io.msx.avro.TargetRegistration;
import io.msx.master.MasterException;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.SchemaRegistryException;
import io.msx.schemas.Topics;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The master's command thread. Each polled batch is handled in ONE Kafka transaction: the instructions posted to the
 * target topics, the changed job definitions and registrations (compacted msx.jobs / msx.targets), the command
 * results, dead letters, and the consumed offsets commit together or not at all, so a master killed mid fan-out
 * neither loses nor duplicates an instruction (readers use read_committed), and a restarted master's state is exactly
 * what was committed.
 *
 * <p>Every readable command gets exactly one result. A command is decided, then all its records are encoded and
 * checked against the {@link RecordLimit} before any is sent: one too large rejects the command, and nothing else of
 * it is written or applied to memory. Undecodable records go to the commands dead-letter topic, answered when their
 * command id can be read.
 *
 * <p>When Kafka still refuses a record for good (a non-retriable error other than fencing or authorization), the
 * batch is aborted, the state reloaded, and the batch written again one command per transaction: the command whose
 * records are refused is answered REJECTED with Kafka's reason, the others go through. Retriable errors abort the
 * batch, back off and run it again.
 *
 * <p>Owns its consumer and producer; {@link #shutdown()} is the only call from another thread.
 */
public final class CommandLoop implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(CommandLoop.class);
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(500);
    private static final Duration RETRY_BACKOFF = Duration.ofSeconds(1);
    static final byte[] NO_JOB_KEY = "-".getBytes(StandardCharsets.UTF_8);

    private final Consumer<byte[], byte[]> consumer;
    private final Producer<byte[], byte[]> producer;
    private final Topics topics;
    private final CommandProcessor processor;
    private final MsxCodec codec;
    private final TargetTopics targetTopics;
    private final RecordLimit limit;
    private final Runnable reloadState;
    private final DownloadList downloads;
    private final java.util.function.Consumer<CommandProcessor.Decision> onCommitted;
    private final List<CommandProcessor.Decision> decided = new ArrayList<>();
    /** The commands answered in the open transaction, logged once it committed. */
    private final List<Answer> answered = new ArrayList<>();
    /** What the open transaction sent, checked before it commits. */
    private final List<Future<RecordMetadata>> sent = new ArrayList<>();
    private final CountDownLatch stopping = new CountDownLatch(1);
    private volatile Throwable fatal;

    /**
     * @param codec        decodes commands and encodes everything written
     * @param targetTopics creates the topics of targets enlisted by a command
     * @param limit        largest record value written
     * @param reloadState  makes the master's memory what Kafka committed (after an aborted transaction)
     * @param committed    told of every accepted decision once its transaction committed
     */
    public CommandLoop(Consumer<byte[], byte[]> consumer, Producer<byte[], byte[]> producer, Topics topics,
                       CommandProcessor processor, MsxCodec codec, TargetTopics targetTopics, RecordLimit limit,
                       Runnable reloadState, DownloadList downloads,
                       java.util.function.Consumer<CommandProcessor.Decision> committed) {
        this.consumer = consumer;
        this.producer = producer;
        this.topics = topics;
        this.processor = processor;
        this.codec = codec;
        this.targetTopics = targetTopics;
        this.limit = limit;
        this.reloadState = reloadState;
        this.downloads = downloads;
        this.onCommitted = committed;
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(List.of(topics.commands()));
            while (stopping.getCount() > 0) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL_TIMEOUT);
                if (!records.isEmpty()) {
                    List<ConsumerRecord<byte[], byte[]>> batch = new ArrayList<>(records.count());
                    records.forEach(batch::add);
                    process(batch);
                }
            }
        } catch (WakeupException e) {
            // shutdown() woke the consumer: leave
        } catch (RuntimeException e) {
            fatal = e;
            if (TransactionErrors.classify(e) == TransactionErrors.Kind.FATAL) {
                log.error("Command loop stopped: {} (another master with the same master.id took over, or the broker "
                        + "refused the transactional producer)", TransactionErrors.describe(e));
            } else {
                log.error("Command loop stopped on an unexpected error", e);
            }
        } finally {
            closeQuietly();
        }
    }

    /** Writes a batch in one transaction, or, when Kafka refuses a record of it, one command per transaction. */
    private void process(List<ConsumerRecord<byte[], byte[]>> batch) {
        RuntimeException failure = transaction(batch, null);
        if (failure == null) {
            return;
        }
        if (TransactionErrors.classify(failure) == TransactionErrors.Kind.RETRIABLE) {
            retryLater("Command batch of " + batch.size() + " record(s) aborted", failure);
            return;
        }
        log.warn("Command batch of {} record(s) aborted, Kafka refused a record; writing its commands one per "
                + "transaction: {}", batch.size(), TransactionErrors.describe(failure));
        for (ConsumerRecord<byte[], byte[]> record : batch) {
            if (stopping.getCount() == 0) {
                return; // what is not committed is read again by the next master
            }
            RuntimeException alone = transaction(List.of(record), null);
            if (alone == null) {
                continue;
            }
            if (TransactionErrors.classify(alone) == TransactionErrors.Kind.RETRIABLE) {
                retryLater("Command " + where(record) + " aborted", alone);
                return;
            }
            log.warn("Command {} rejected, Kafka refused its records: {}", where(record),
                    TransactionErrors.describe(alone));
            RuntimeException answer = transaction(List.of(record),
                    "Kafka refused a record of this command: " + TransactionErrors.rootCause(alone));
            if (answer != null) {
                // Not even the answer can be written: not this command's fault, so it is not dropped.
                retryLater("Command " + where(record) + " could not be answered either", answer);
                return;
            }
        }
    }

    /**
     * Runs records in one transaction: each command decided and written, or, with {@code rejectAll}, each answered
     * REJECTED with that reason and nothing else.
     *
     * @return null when committed; else the error, after the transaction was aborted and the state reloaded
     * @throws RuntimeException a fatal or unexpected error, as it is
     */
    private RuntimeException transaction(List<ConsumerRecord<byte[], byte[]>> records, String rejectAll) {
        decided.clear();
        answered.clear();
        sent.clear();
        producer.beginTransaction();
        try {
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> record : records) {
                if (rejectAll == null) {
                    handle(record);
                } else {
                    answerOnly(record, rejectAll);
                }
                offsets.put(new TopicPartition(record.topic(), record.partition()),
                        new OffsetAndMetadata(record.offset() + 1));
            }
            requireAllSent();
            producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
            producer.commitTransaction();
        } catch (RuntimeException e) {
            TransactionErrors.Kind kind = TransactionErrors.classify(e);
            if (kind == TransactionErrors.Kind.FATAL) {
                throw e;
            }
            if (kind == TransactionErrors.Kind.UNEXPECTED) {
                abortQuietly();
                throw e;
            }
            producer.abortTransaction();
            // What the aborted transaction decided in memory never reached Kafka: go back to what Kafka committed.
            reload();
            return e;
        }
        decided.forEach(d -> {
            downloads.posted(d.instructions());
            onCommitted.accept(d);
        });
        answered.forEach(Answer::log);
        return null;
    }

    /**
     * Flushes and makes sure every record of the transaction was accepted. The producer also fails the commit after
     * a refused send; checking here as well means a refused record can never leave a partial transaction behind.
     */
    private void requireAllSent() {
        producer.flush();
        for (Future<RecordMetadata> future : sent) {
            if (future.isDone()) {
                try {
                    future.get();
                } catch (ExecutionException e) {
                    throw new KafkaException("a record of the transaction was refused", e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptException(e);
                }
            }
        }
    }

    private void send(ProducerRecord<byte[], byte[]> record) {
        sent.add(producer.send(record));
    }

    private void abortQuietly() {
        try {
            producer.abortTransaction();
        } catch (RuntimeException e) {
            log.warn("Aborting the transaction failed: {}", e.toString());
        }
    }

    /** Reloads the state, trying again while Kafka or the registry cannot be read (the loop cannot go on without). */
    private void reload() {
        while (true) {
            try {
                reloadState.run();
                return;
            } catch (MsxRetriableException | SchemaRegistryException | MasterException | KafkaException e) {
                if (stopping.getCount() == 0) {
                    return; // stopping: this memory is discarded with the master
                }
                log.warn("Reloading the master state failed, retrying in {}: {}", RETRY_BACKOFF,
                        TransactionErrors.describe(e));
                pause(RETRY_BACKOFF);
            }
        }
    }

    private void handle(ConsumerRecord<byte[], byte[]> record) {
        Decoded decoded = codec.decode(MessageFamily.COMMAND, record.topic(), record.partition(), record.offset(),
                record.value());
        if (decoded instanceof Decoded.Message message) {
            execute(message.value());
        } else if (decoded instanceof Decoded.Malformed malformed) {
            deadLetter(record, malformed.reason(), malformed.header(), "malformed command: " + malformed.reason());
        } else if (decoded instanceof Decoded.UnknownType unknown) {
            deadLetter(record, unknown.reason(), unknown.header(),
                    unknown.reason() + ": not supported by this master version");
        }
        // a tombstone: nothing to do
    }

    private void deadLetter(ConsumerRecord<byte[], byte[]> record, String reason, SpecificRecord header,
                            String answer) {
        log.warn("Command {} dead-lettered: {}", where(record), reason);
        send(DeadLetters.of(record, reason));
        UUID id = commandId(header, record.key());
        if (id != null) {
            send(result(processor.rejection(id, answer)));
        }
    }

    /**
     * Decides a command and writes its records, or its rejection: exactly one result either way. Every record is
     * encoded and checked against the limit before any is sent, so a command over the limit leaves nothing in the
     * transaction but its rejection, and its decision is not applied to memory.
     */
    private void execute(SpecificRecord command) {
        CommandHeader header = MessageFamily.COMMAND.header(command);
        String type = MessageFamily.typeName(command);
        CommandResult result;
        List<ProducerRecord<byte[], byte[]>> records;
        try {
            CommandProcessor.Decision decision = processor.decide(command);
            List<Outgoing> encoded = encode(decision);
            String tooLarge = tooLarge(encoded);
            if (tooLarge != null) {
                result = processor.rejection(header.getCommandId(), tooLarge);
                records = List.of(result(result));
            } else {
                if (!decision.newTargets().isEmpty()) {
                    targetTopics.ensure(decision.newTargets());
                }
                decision.apply();
                if (decision.accepted()) {
                    decided.add(decision);
                }
                result = decision.result();
                records = encoded.stream().map(Outgoing::record).toList();
            }
        } catch (MsxRetriableException | SchemaRegistryException | KafkaException e) {
            throw e; // the transaction's business: retry, or write one command at a time
        } catch (MasterException e) {
            result = processor.rejection(header.getCommandId(), "the master cannot carry it out: " + e.getMessage());
            records = List.of(result(result));
        } catch (RuntimeException e) {
            log.error("Command {} ({}) failed unexpectedly, rejecting it", header.getCommandId(), type, e);
            result = processor.rejection(header.getCommandId(), "the master failed on this command: " + e);
            records = List.of(result(result));
        }
        records.forEach(this::send);
        answered.add(new Answer(type, result));
    }

    /** A command's answer, logged when its transaction committed. */
    private record Answer(String type, CommandResult result) {
        void log() {
            log.info("Command {} ({}) {}{}", result.getCommandId(), type, result.getStatus(),
                    result.getReason() == null ? ", " + result.getInstructions().size() + " instruction(s) posted"
                            : ": " + result.getReason());
        }
    }

    /** Why one of the records is over the limit, or null. */
    private String tooLarge(List<Outgoing> records) {
        for (Outgoing out : records) {
            String reason = limit.check(out.what(), out.record().topic(), out.record().value());
            if (reason != null) {
                return reason;
            }
        }
        return null;
    }

    /** A record to send and what it is, for a rejection naming it. */
    private record Outgoing(ProducerRecord<byte[], byte[]> record, String what) {
    }

    private List<Outgoing> encode(CommandProcessor.Decision decision) {
        List<Outgoing> out = new ArrayList<>();
        for (SpecificRecord instruction : decision.instructions()) {
            InstructionHeader header = Instructions.header(instruction);
            out.add(new Outgoing(new ProducerRecord<>(topics.target(header.getTarget()), key(instruction),
                    codec.encode(instruction)), "instruction " + Instructions.operationOf(instruction) + " for "
                    + header.getTarget()));
        }
        for (JobDefinition job : decision.jobsPut()) {
            out.add(new Outgoing(new ProducerRecord<>(topics.jobs(), utf8(job.getJobId()), codec.encode(job)),
                    "job definition '" + job.getJobId() + "'"));
        }
        for (String jobId : decision.jobsDeleted()) {
            out.add(new Outgoing(new ProducerRecord<>(topics.jobs(), utf8(jobId), null), "job tombstone"));
        }
        for (TargetRegistration target : decision.targetsPut()) {
            out.add(new Outgoing(new ProducerRecord<>(topics.targets(), utf8(target.getTarget()),
                    codec.encode(target)), "registration of " + target.getTarget()));
        }
        for (String target : decision.targetsRemoved()) {
            out.add(new Outgoing(new ProducerRecord<>(topics.targets(), utf8(target), null), "registration tombstone"));
        }
        out.add(new Outgoing(result(decision.result()), "command result"));
        return out;
    }

    /** Job instructions are keyed by job id, the others by {@code -}. */
    static byte[] key(SpecificRecord instruction) {
        String jobId = Instructions.jobIdOf(instruction);
        return jobId == null ? NO_JOB_KEY : utf8(jobId);
    }

    /** In a transaction writing nothing but rejections: answers a record's command, when its id can be read. */
    private void answerOnly(ConsumerRecord<byte[], byte[]> record, String reason) {
        Decoded decoded = codec.decode(MessageFamily.COMMAND, record.topic(), record.partition(), record.offset(),
                record.value());
        SpecificRecord header = null;
        if (decoded instanceof Decoded.Message message) {
            header = MessageFamily.COMMAND.header(message.value());
        } else if (decoded instanceof Decoded.Malformed malformed) {
            header = malformed.header();
        } else if (decoded instanceof Decoded.UnknownType unknown) {
            header = unknown.header();
        }
        UUID id = decoded instanceof Decoded.Tombstone ? null : commandId(header, record.key());
        if (id == null) {
            log.warn("Command {} skipped without an answer (no readable command id): {}", where(record), reason);
            return;
        }
        send(result(processor.rejection(id, reason)));
    }

    private ProducerRecord<byte[], byte[]> result(CommandResult result) {
        return new ProducerRecord<>(topics.commandResults(), utf8(result.getCommandId().toString()),
                codec.encode(result));
    }

    /** The command id of the decoded header, else of the record key, else null. */
    private static UUID commandId(SpecificRecord header, byte[] key) {
        if (header instanceof CommandHeader h && h.getCommandId() != null) {
            return h.getCommandId();
        }
        if (key == null) {
            return null;
        }
        try {
            return UUID.fromString(new String(key, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static String where(ConsumerRecord<?, ?> record) {
        return record.topic() + "-" + record.partition() + "@" + record.offset();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private void retryLater(String what, RuntimeException error) {
        log.warn("{}, retrying in {}: {}", what, RETRY_BACKOFF, TransactionErrors.describe(error));
        rewind();
        pause(RETRY_BACKOFF);
    }

    private void rewind() {
        Set<TopicPartition> assignment = consumer.assignment();
        Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(assignment);
        for (TopicPartition tp : assignment) {
            OffsetAndMetadata offset = committed.get(tp);
            if (offset == null) {
                consumer.seekToBeginning(List.of(tp));
            } else {
                consumer.seek(tp, offset.offset());
            }
        }
    }

    private void pause(Duration duration) {
        try {
            stopping.await(duration.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping.countDown();
        }
    }

    private void closeQuietly() {
        try {
            consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
        } catch (RuntimeException e) {
            log.warn("Closing the command consumer failed: {}", e.toString());
        }
        try {
            producer.close(Duration.ofSeconds(5));
        } catch (RuntimeException e) {
            log.warn("Closing the transactional producer failed: {}", e.toString());
        }
    }

    /** The error that stopped the loop, or null. */
    public Throwable fatalError() {
        return fatal;
    }

    public void shutdown() {
        stopping.countDown();
        consumer.wakeup();
    }
}
