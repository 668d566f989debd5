package io.msx.target.internal;

import io.msx.MsxRetriableException;
import io.msx.avro.Instruction;
import io.msx.schemas.AvroCodec;
import io.msx.schemas.WireFormatException;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The target's consumer thread: waits for the master to create its topic, then applies instructions strictly in
 * offset order, committing each offset to Kafka (so the master reads unread instructions as consumer lag). Owns its
 * {@link Consumer}; {@link #shutdown()} is the only call made from another thread.
 */
public final class InstructionLoop implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(InstructionLoop.class);
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(500);
    private static final Duration TOPIC_WAIT = Duration.ofSeconds(1);
    private static final Duration RETRY_BACKOFF = Duration.ofSeconds(1);

    private final Consumer<byte[], byte[]> consumer;
    private final String topic;
    private final AvroCodec<Instruction> codec;
    private final CountDownLatch stopping = new CountDownLatch(1);
    private final CountDownLatch assigned = new CountDownLatch(1);
    private final Long resumeAfter;
    private InstructionApplier applier;

    /**
     * @param resumeAfter offset of the last instruction applied (from the agent's own store), or null: consuming
     *                    resumes right after it, whatever Kafka's committed offset says
     */
    public InstructionLoop(Consumer<byte[], byte[]> consumer, String topic, AvroCodec<Instruction> codec,
                           Long resumeAfter) {
        this.consumer = consumer;
        this.topic = topic;
        this.codec = codec;
        this.resumeAfter = resumeAfter;
    }

    /** Set before {@link #run()}: the applier needs the loop to stop it on DEFECT. */
    public void applier(InstructionApplier applier) {
        this.applier = applier;
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
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    if (!handle(record, partition)) {
                        break; // seeked back to retry this record after a pause: the position says so
                    }
                }
                if (!records.isEmpty()) {
                    commitPosition(partition);
                }
            }
        } catch (WakeupException e) {
            // shutdown() woke the consumer up: leave the loop
        } catch (RuntimeException e) {
            log.error("Instruction loop for {} stopped on an unexpected error", topic, e);
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    private boolean handle(ConsumerRecord<byte[], byte[]> record, TopicPartition partition) {
        try {
            Instruction instruction;
            try {
                instruction = codec.decode(record.topic(), record.partition(), record.offset(), record.value());
            } catch (WireFormatException e) {
                instruction = null;
                applier.undecodable(record.offset(), e.reason());
            }
            if (instruction != null) {
                applier.apply(instruction, record.offset());
            }
            // The offset that counts is in RocksDB with the ack; Kafka's copy (for the master's lag) is committed
            // once per batch.
            return true;
        } catch (MsxRetriableException e) {
            log.warn("Instruction at {}@{} not applied yet, retrying in {}: {}", topic, record.offset(),
                    RETRY_BACKOFF, e.getMessage());
            consumer.seek(partition, record.offset());
            pause(RETRY_BACKOFF);
            return false;
        }
    }

    /**
     * Commits the position after a whole batch, for the master's lag only (the agent resumes from its own store): it
     * lies past transaction markers, which take offsets of their own, so the lag reads 0 once everything is applied.
     */
    private void commitPosition(TopicPartition partition) {
        long position = consumer.position(partition);
        consumer.commitSync(Map.of(partition, new OffsetAndMetadata(position)));
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
