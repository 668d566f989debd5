package io.msx.master.internal;

import io.msx.MsxRetriableException;
import io.msx.avro.Command;
import io.msx.avro.CommandResult;
import io.msx.avro.Instruction;
import io.msx.schemas.AvroCodec;
import io.msx.schemas.Topics;
import io.msx.schemas.WireFormatException;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The master's command thread. Each polled batch is handled in ONE Kafka transaction: the instructions posted to the
 * target topics, the changed job definitions and registrations (compacted msx.jobs / msx.targets), the command
 * results, dead letters, and the consumed offsets commit together or not at all, so a master killed mid fan-out
 * neither loses nor duplicates an instruction (readers use read_committed), and a restarted master's state is exactly
 * what was committed.
 * Owns its consumer and producer; {@link #shutdown()} is the only call from another thread.
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
    private final TopicAdmin admin;
    private final AvroCodec<Command> commands;
    private final AvroCodec<CommandResult> results;
    private final AvroCodec<Instruction> instructions;
    private final AvroCodec<io.msx.avro.JobDefinition> jobCodec;
    private final AvroCodec<io.msx.avro.TargetRegistration> targetCodec;
    private final Runnable reloadState;
    private final DownloadList downloads;
    private final java.util.function.Consumer<CommandProcessor.Decision> onCommitted;
    private final List<CommandProcessor.Decision> decided = new java.util.ArrayList<>();
    private final CountDownLatch stopping = new CountDownLatch(1);
    private volatile Throwable fatal;

    public CommandLoop(Consumer<byte[], byte[]> consumer, Producer<byte[], byte[]> producer, Topics topics,
                       CommandProcessor processor, TopicAdmin admin, AvroCodec<Command> commands,
                       AvroCodec<CommandResult> results, AvroCodec<Instruction> instructions,
                       AvroCodec<io.msx.avro.JobDefinition> jobCodec,
                       AvroCodec<io.msx.avro.TargetRegistration> targetCodec, Runnable reloadState,
                       DownloadList downloads, java.util.function.Consumer<CommandProcessor.Decision> committed) {
        this.consumer = consumer;
        this.producer = producer;
        this.topics = topics;
        this.processor = processor;
        this.admin = admin;
        this.commands = commands;
        this.results = results;
        this.instructions = instructions;
        this.jobCodec = jobCodec;
        this.targetCodec = targetCodec;
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
                    processInTransaction(records);
                }
            }
        } catch (WakeupException e) {
            // shutdown() woke the consumer: leave
        } catch (ProducerFencedException | AuthorizationException | UnsupportedVersionException e) {
            fatal = e;
            log.error("Command loop stopped: {} (another master with the same master.id took over, or the broker "
                    + "refused the transactional producer)", e.toString());
        } catch (RuntimeException e) {
            fatal = e;
            log.error("Command loop stopped on an unexpected error", e);
        } finally {
            closeQuietly();
        }
    }

    private void processInTransaction(ConsumerRecords<byte[], byte[]> records) {
        decided.clear();
        producer.beginTransaction();
        try {
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> record : records) {
                handle(record);
                offsets.put(new TopicPartition(record.topic(), record.partition()),
                        new OffsetAndMetadata(record.offset() + 1));
            }
            producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
            producer.commitTransaction();
            decided.forEach(d -> {
                downloads.posted(d.instructions());
                onCommitted.accept(d);
            });
        } catch (ProducerFencedException | AuthorizationException | UnsupportedVersionException e) {
            throw e;
        } catch (MsxRetriableException | KafkaException e) {
            log.warn("Command batch aborted, retrying in {}: {}", RETRY_BACKOFF, e.toString());
            producer.abortTransaction();
            // What the aborted batch decided in memory never reached Kafka: go back to what Kafka committed.
            reloadState.run();
            rewind();
            pause(RETRY_BACKOFF);
        }
    }

    private void handle(ConsumerRecord<byte[], byte[]> record) {
        Command command;
        try {
            command = commands.decode(record.topic(), record.partition(), record.offset(), record.value());
        } catch (WireFormatException e) {
            log.warn("Malformed command dead-lettered: {}", e.getMessage());
            producer.send(DeadLetters.of(record, e.reason()));
            UUID id = readableId(record.key());
            if (id != null) {
                sendResult(processor.rejectUnreadable(id, "malformed command: " + e.reason()));
            }
            return;
        }
        if (command == null) {
            return; // tombstone: nothing to do
        }
        CommandProcessor.Decision decision = processor.process(command);
        decided.add(decision);
        if (!decision.newTargets().isEmpty()) {
            Map<String, Integer> targetTopics = new HashMap<>();
            decision.newTargets().forEach(t -> targetTopics.put(topics.target(t), 1));
            admin.ensure(targetTopics, Map.of());
        }
        for (Instruction instruction : decision.instructions()) {
            producer.send(new ProducerRecord<>(topics.target(instruction.getTarget()), key(instruction),
                    instructions.encode(instruction)));
        }
        for (io.msx.avro.JobDefinition job : decision.jobsPut()) {
            producer.send(new ProducerRecord<>(topics.jobs(), job.getJobId().getBytes(StandardCharsets.UTF_8),
                    jobCodec.encode(job)));
        }
        for (String jobId : decision.jobsDeleted()) {
            producer.send(new ProducerRecord<>(topics.jobs(), jobId.getBytes(StandardCharsets.UTF_8), null));
        }
        for (io.msx.avro.TargetRegistration target : decision.targetsPut()) {
            producer.send(new ProducerRecord<>(topics.targets(), target.getTarget().getBytes(StandardCharsets.UTF_8),
                    targetCodec.encode(target)));
        }
        for (String target : decision.targetsRemoved()) {
            producer.send(new ProducerRecord<>(topics.targets(), target.getBytes(StandardCharsets.UTF_8), null));
        }
        sendResult(decision.result());
        CommandResult result = decision.result();
        log.info("Command {} ({}) {}{}", command.getCommandId(), command.getBody().getClass().getSimpleName(),
                result.getStatus(), result.getReason() == null ? ", " + result.getInstructions().size()
                        + " instruction(s) posted" : ": " + result.getReason());
    }

    /** Job instructions are keyed by job id, the others by {@code -}. */
    static byte[] key(Instruction instruction) {
        String jobId = Instructions.jobIdOf(instruction.getBody());
        return jobId == null ? NO_JOB_KEY : jobId.getBytes(StandardCharsets.UTF_8);
    }

    private void sendResult(CommandResult result) {
        producer.send(new ProducerRecord<>(topics.commandResults(),
                result.getCommandId().toString().getBytes(StandardCharsets.UTF_8), results.encode(result)));
    }

    private static UUID readableId(byte[] key) {
        if (key == null) {
            return null;
        }
        try {
            return UUID.fromString(new String(key, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            return null;
        }
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
            consumer.close(Duration.ofSeconds(5));
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
