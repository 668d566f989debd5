package io.msx.agent.internal;

import io.msx.schemas.DeadLetters;
import io.msx.MsxRetriableException;
import io.msx.avro.InstructionHeader;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.spool.OutboxException;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The target's consumer thread: waits for the master to create its topic, then handles instructions strictly in
 * offset order, committing the position to Kafka after each batch (so the master reads unread instructions as consumer
 * lag). Each record is decoded by the {@link MsxCodec} and then:
 * <ul>
 *   <li>a known instruction is applied; an unexpected error while applying it is acknowledged FAILED with the
 *       error;</li>
 *   <li>bytes that are not an instruction, and an instruction type this agent does not know, are written unchanged to
 *       {@code <topic>.dlq} (waiting for Kafka's acknowledgement) and only then acknowledged FAILED, with the
 *       instruction id when their header could be read;</li>
 *   <li>a tombstone has nothing to apply: its offset is recorded as applied, without an acknowledgement.</li>
 * </ul>
 * A failure that leaves the instruction unacknowledged (the registry, the broker for a dead letter, or the spool for
 * the acknowledgement is unavailable) leaves it unapplied: the loop seeks back to it and tries again after a pause.
 * Nothing kills the loop but {@link #shutdown()}, DEFECT or an error of the consumer itself.
 *
 * <p>Owns its {@link Consumer}; the dead-letter producer is the caller's. {@link #shutdown()} is the only call made
 * from another thread.
 */
public final class InstructionLoop implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(InstructionLoop.class);
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(500);
    private static final Duration TOPIC_WAIT = Duration.ofSeconds(1);
    private static final Duration RETRY_BACKOFF = Duration.ofSeconds(1);
    /** While one instruction keeps failing, every this many retries is logged (the first always is). */
    private static final int RETRY_LOG_EVERY = 60;

    /** What the loop does with each decoded record; implemented by {@link InstructionApplier}. */
    public interface Handler {

        /** Applies a known instruction and acknowledges it (APPLIED, or FAILED with why). */
        void apply(SpecificRecord instruction, long offset);

        /**
         * Acknowledges FAILED an instruction whose {@link #apply} threw unexpectedly, unless it was acknowledged
         * before it threw.
         */
        void failed(SpecificRecord instruction, long offset, RuntimeException error);

        /** Acknowledges FAILED bytes that are not an instruction; {@code header} is null when unreadable. */
        void undecodable(long offset, InstructionHeader header, String reason);

        /** Acknowledges FAILED an instruction of a type this agent does not know. */
        void unsupported(long offset, InstructionHeader header, String reason);

        /** Records the offset of a tombstone as applied. */
        void tombstone(long offset);

        /** True once the instruction at {@code offset} (or a later one) is durably applied. */
        boolean isApplied(long offset);
    }

    private final Consumer<byte[], byte[]> consumer;
    private final String topic;
    private final MsxCodec codec;
    private final Producer<byte[], byte[]> deadLetters;
    private final Duration deadLetterTimeout;
    private final CountDownLatch stopping = new CountDownLatch(1);
    private final CountDownLatch assigned = new CountDownLatch(1);
    private final Long resumeAfter;
    private Handler handler;
    private long retryingOffset = -1;
    private int retries;

    /**
     * @param deadLetters       sends undecodable and unknown records to {@code <topic>.dlq}
     * @param deadLetterTimeout longest wait for Kafka to acknowledge a dead letter before trying again later
     * @param resumeAfter       offset of the last instruction applied (from the agent's own store), or null:
     *                          consuming resumes right after it, whatever Kafka's committed offset says
     */
    public InstructionLoop(Consumer<byte[], byte[]> consumer, String topic, MsxCodec codec,
                           Producer<byte[], byte[]> deadLetters, Duration deadLetterTimeout, Long resumeAfter) {
        this.consumer = consumer;
        this.topic = topic;
        this.codec = codec;
        this.deadLetters = deadLetters;
        this.deadLetterTimeout = deadLetterTimeout;
        this.resumeAfter = resumeAfter;
    }

    /** Set before {@link #run()}: the applier needs the loop to stop it on DEFECT. */
    public void handler(Handler handler) {
        this.handler = handler;
    }

    @Override
    public void run() {
        try {
            TopicPartition partition = new TopicPartition(topic, 0);
            if (!awaitTopic()) {
                return;
            }
            consumer.assign(List.of(partition));
            if (resumeAfter != null) {
                consumer.seek(partition, resumeAfter + 1);
            }
            assigned.countDown();
            log.info("Consuming instructions from {}{}", topic,
                    resumeAfter == null ? "" : " after offset " + resumeAfter + " (last applied)");
            while (stopping.getCount() > 0) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL_TIMEOUT);
                long next = -1;
                boolean whole = true;
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    // stopping (DEFECT or shutdown): nothing after the current instruction is applied
                    if (stopping.getCount() == 0 || !handle(record, partition)) {
                        whole = false; // or seeked back to retry this record after a pause
                        break;
                    }
                    next = record.offset() + 1;
                }
                if (!records.isEmpty()) {
                    commit(partition, whole ? consumer.position(partition) : next);
                }
            }
        } catch (WakeupException e) {
            // shutdown() woke the consumer up: leave the loop
        } catch (RuntimeException e) {
            log.error("Instruction loop for {} stopped on an unexpected error", topic, e);
        } finally {
            consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
        }
    }

    /** Handles one record; false when it was not handled yet (seeked back to it, to try again). */
    private boolean handle(ConsumerRecord<byte[], byte[]> record, TopicPartition partition) {
        long offset = record.offset();
        try {
            Decoded decoded = codec.decode(MessageFamily.INSTRUCTION, record.topic(), record.partition(), offset,
                    record.value());
            if (decoded instanceof Decoded.Message message) {
                apply(message.value(), offset);
            } else if (decoded instanceof Decoded.UnknownType unknown) {
                deadLetter(record, unknown.reason());
                handler.unsupported(offset, header(unknown.header()), unknown.reason());
            } else if (decoded instanceof Decoded.Malformed malformed) {
                deadLetter(record, malformed.reason());
                handler.undecodable(offset, header(malformed.header()), malformed.reason());
            } else {
                handler.tombstone(offset);
            }
            // The offset that counts is in RocksDB with the ack; Kafka's copy (for the master's lag) is committed
            // once per batch.
            retries = 0;
            return true;
        } catch (WakeupException e) {
            throw e;
        } catch (RuntimeException e) {
            // retriable (registry, broker, spool unavailable), or not even a FAILED ack could be written
            if (handler.isApplied(offset)) {
                // e.g. the check-in after an acknowledged force poll could not be spooled: the instruction is done
                log.error("Instruction at {}@{} was applied and acknowledged, but a report after it failed: {}",
                        topic, offset, e.toString());
                retries = 0;
                return true;
            }
            retryLater(partition, offset, e);
            return false;
        }
    }

    private void apply(SpecificRecord instruction, long offset) {
        try {
            handler.apply(instruction, offset);
        } catch (MsxRetriableException | OutboxException e) {
            throw e;
        } catch (RuntimeException e) {
            // not this loop's problem to die of: acknowledged FAILED (if that fails too, it is tried again later)
            handler.failed(instruction, offset, e);
        }
    }

    private void retryLater(TopicPartition partition, long offset, RuntimeException e) {
        if (offset != retryingOffset) {
            retryingOffset = offset;
            retries = 0;
        }
        if (retries++ % RETRY_LOG_EVERY == 0) {
            log.warn("Instruction at {}@{} not handled yet (attempt {}), retrying every {}: {}", topic, offset,
                    retries, RETRY_BACKOFF, e.toString());
        }
        consumer.seek(partition, offset);
        pause(RETRY_BACKOFF);
    }

    /**
     * Writes the record to the dead-letter topic and waits for Kafka's acknowledgement, so it is never acknowledged
     * as refused before it is kept. A timeout may still have written it: then it is dead-lettered twice.
     *
     * @throws MsxRetriableException when Kafka did not take it (broker down, topic missing): try again later
     */
    private void deadLetter(ConsumerRecord<byte[], byte[]> record, String reason) {
        String dlq = io.msx.schemas.Topics.deadLetter(record.topic());
        try {
            deadLetters.send(DeadLetters.of(record, reason)).get(deadLetterTimeout.toMillis(), TimeUnit.MILLISECONDS);
            // the refusal that follows is the WARN line of this event
            log.debug("Instruction at {}@{} dead-lettered to {}: {}", record.topic(), record.offset(), dlq, reason);
        } catch (ExecutionException e) {
            throw new MsxRetriableException("dead-letter topic " + dlq + " did not take the record: "
                    + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new MsxRetriableException("dead-letter topic " + dlq + " did not acknowledge the record within "
                    + deadLetterTimeout, e);
        } catch (KafkaException e) {
            throw new MsxRetriableException("dead-letter topic " + dlq + " did not take the record: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping.countDown();
            throw new MsxRetriableException("interrupted while dead-lettering to " + dlq, e);
        }
    }

    private static InstructionHeader header(SpecificRecord header) {
        return header instanceof InstructionHeader h ? h : null;
    }

    /**
     * Commits, for the master's lag only (the agent resumes from its own store), the position after a whole batch
     * (it lies past transaction markers, which take offsets of their own, so the lag reads 0 once everything is
     * applied), or the offset after the last record handled when the batch was cut short.
     */
    private void commit(TopicPartition partition, long offset) {
        if (offset >= 0) {
            consumer.commitSync(Map.of(partition, new OffsetAndMetadata(offset)));
        }
    }

    private boolean awaitTopic() {
        boolean logged = false;
        while (stopping.getCount() > 0) {
            if (!consumer.partitionsFor(topic, TOPIC_WAIT).isEmpty()) {
                return true;
            }
            if (!logged) {
                log.info("Waiting for the master to create {}", topic);
                logged = true;
            }
            pause(TOPIC_WAIT);
        }
        return false;
    }

    private void pause(Duration duration) {
        try {
            stopping.await(duration.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping.countDown();
        }
    }

    /** True once the topic exists and is assigned. */
    public boolean awaitAssigned(Duration timeout) throws InterruptedException {
        return assigned.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** True while the loop consumes its topic. */
    public boolean isConsuming() {
        return assigned.getCount() == 0 && stopping.getCount() > 0;
    }

    /** Stops after the instruction being applied (called from the loop's own thread, e.g. on DEFECT). */
    public void stopAfterCurrent() {
        stopping.countDown();
    }

    /** Makes {@link #run()} return soon; safe from any thread. */
    public void shutdown() {
        stopping.countDown();
        consumer.wakeup();
    }
}
