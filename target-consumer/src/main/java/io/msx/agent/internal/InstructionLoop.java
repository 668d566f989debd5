package io.msx.agent.internal;

import io.msx.MsxRetriableException;
import io.msx.RetryPolicy;
import io.msx.avro.InstructionHeader;
import io.msx.schemas.DeadLetters;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.security.SignatureHeaders;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The target's consumer thread: waits for the master to create its topic, chooses where to read from, then handles
 * instructions strictly in offset order, in batches: the instructions of one poll are applied into one
 * {@link ApplyBatch}, written as ONE durable outbox write, and only then take effect. Kafka's committed offset (the
 * master reads unread instructions as this group's lag) follows each batch. Each record is decoded by the
 * {@link MsxCodec} and then:
 * <ul>
 *   <li>a known instruction is applied; an unexpected error while applying it is acknowledged FAILED with the
 *       error;</li>
 *   <li>a null record, bytes that are not an instruction, and an instruction type this agent does not know are
 *       written unchanged to {@code <topic>.dlq} (waiting for Kafka's acknowledgement) and only then acknowledged
 *       FAILED, with the instruction id when their header could be read, and counted.</li>
 * </ul>
 * Where it reads from: right after the last instruction applied (from the agent's own store, not Kafka's committed
 * offset); a fresh installation starts at the END of its topic and asks the master for a resync; when the next offset
 * is below the topic's log start (instructions expired before they were read) the loss is recorded, reported and a
 * resync asked for.
 *
 * <p>Failures: a transient one (broker away, a timeout, the outbox full, the registry down) leaves the batch unapplied
 * and is retried after a back-off from the one {@link RetryPolicy}; committing Kafka's offset is best effort. Anything
 * else is fatal: {@code onFatal} is told and the loop ends (the agent turns FAILED and its process exits). Only
 * {@link #shutdown()} and DEFECT end it otherwise.
 *
 * <p>Owns its {@link org.apache.kafka.clients.consumer.Consumer}; the dead-letter producer is the caller's.
 * {@link #shutdown()} and the query methods are the only calls made from other threads.
 */
public final class InstructionLoop implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(InstructionLoop.class);
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(500);
    private static final Duration BROKER_TIMEOUT = Duration.ofSeconds(5);
    /** With nothing to read for this long, the broker is asked for the end offset: is it still there? */
    private static final Duration PROBE_AFTER = Duration.ofSeconds(3);
    /** While one record keeps failing, every this many retries is logged (the first always is). */
    private static final int RETRY_LOG_EVERY = 20;
    /** Reason given for a null record on the topic. */
    static final String NULL_RECORD = "null record (tombstone): not an instruction";

    /** What the loop does with decoded records; implemented by {@link InstructionApplier}. */
    public interface Handler {

        ApplyBatch newBatch();

        /** True for instructions applied alone, once everything before them is durable. */
        boolean isBarrier(SpecificRecord instruction);

        /**
         * Applies a known instruction into the batch (its acknowledgement included), or refuses it when its
         * signature ({@code signed}, null when it has none, over {@code value}) does not let it be applied.
         */
        void apply(SpecificRecord instruction, long offset, SignatureHeaders.Signed signed, byte[] value,
                   ApplyBatch batch);

        /** Acknowledges FAILED, in the batch, an instruction whose {@link #apply} threw unexpectedly. */
        void failed(SpecificRecord instruction, long offset, RuntimeException error, ApplyBatch batch);

        /** Acknowledges FAILED bytes that are not an instruction; {@code header} is null when unreadable. */
        void undecodable(long offset, InstructionHeader header, String reason, ApplyBatch batch);

        /** Acknowledges FAILED an instruction of a type this agent does not know. */
        void unsupported(long offset, InstructionHeader header, String reason, ApplyBatch batch);

        /** Records {@code offset} as applied: the consumer skipped transaction markers or aborted records up to it. */
        void passed(long offset);

        /** Writes the batch durably, then runs its effects; on a failed write nothing of it happened. */
        void commit(ApplyBatch batch);

        /**
         * Instructions in [nextOffset, logStartOffset) were never read (expired, or the log was cut: {@code why}
         * then says so): record it, ask for a resync, resume at {@code logStartOffset}.
         */
        void lost(long nextOffset, long logStartOffset, String why);

        /**
         * The store is behind the offset this target's consumer group committed ({@code committed}): its data
         * directory was restored from a backup or cloned. The handler makes it a new installation that asks for a
         * resync; reading resumes at {@code committed}, so nothing applied since the backup is applied twice.
         */
        void restored(long next, long committed);

        /**
         * The loop knows where it reads from: {@code next}; {@code fresh} when a new installation chose the end of
         * the topic (the handler stores it as the position to resume from, so a restart does not skip what is posted
         * after it).
         */
        void positioned(boolean fresh, long next);
    }

    private final org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> consumer;
    private final String topic;
    private final TopicPartition partition;
    private final MsxCodec codec;
    private final Producer<byte[], byte[]> deadLetters;
    private final Duration deadLetterTimeout;
    private final Clock clock;
    private final RetryPolicy.Backoff backoff = RetryPolicy.DEFAULT.backoff();
    private final CountDownLatch stopping = new CountDownLatch(1);
    private final CountDownLatch assigned = new CountDownLatch(1);
    private final Long resumeAfter;
    private Handler handler;
    private java.util.function.Consumer<Throwable> onFatal = e -> { };
    /** Offset of the next record to apply: where the consumer is put back after a failed batch. */
    private long next = -1;
    private volatile boolean connected;
    private volatile Instant lastContact;
    private boolean oneAtATime;

    /**
     * @param deadLetters       sends undecodable and unknown records to {@code <topic>.dlq}
     * @param deadLetterTimeout longest wait for Kafka to acknowledge a dead letter before trying again later
     * @param resumeAfter       offset of the last instruction applied (from the agent's own store), or null for a
     *                          fresh installation, which starts at the end of its topic
     */
    public InstructionLoop(org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> consumer, String topic,
                           MsxCodec codec, Producer<byte[], byte[]> deadLetters, Duration deadLetterTimeout,
                           Long resumeAfter, Clock clock) {
        this.consumer = consumer;
        this.topic = topic;
        this.partition = new TopicPartition(topic, 0);
        this.codec = codec;
        this.deadLetters = deadLetters;
        this.deadLetterTimeout = deadLetterTimeout;
        this.resumeAfter = resumeAfter;
        this.clock = clock;
        this.lastContact = clock.instant();
    }

    /** Set before {@link #run()}: the applier needs the loop to stop it on DEFECT. */
    public void handler(Handler handler) {
        this.handler = handler;
    }

    /** Told, once, of an error the loop cannot go on after; set before {@link #run()}. */
    public void onFatal(java.util.function.Consumer<Throwable> onFatal) {
        this.onFatal = onFatal;
    }

    @Override
    public void run() {
        try {
            if (!awaitTopic()) {
                return;
            }
            consumer.assign(List.of(partition));
            if (!position()) {
                return;
            }
            assigned.countDown();
            while (stopping.getCount() > 0) {
                try {
                    pollOnce();
                } catch (WakeupException | InterruptException e) {
                    throw e;
                } catch (RuntimeException e) {
                    try {
                        if (e instanceof OffsetOutOfRangeException outOfRange) {
                            Long from = outOfRange.offsetOutOfRangePartitions().get(partition);
                            checkRetention(from == null ? next : from);
                            continue;
                        }
                        retryOrFail(e);
                    } catch (WakeupException | InterruptException stop) {
                        throw stop;
                    } catch (RuntimeException retry) {
                        retryOrFail(retry);
                    }
                }
            }
        } catch (WakeupException | InterruptException e) {
            // shutdown() woke the consumer up, or the thread was interrupted: leave
        } catch (RuntimeException | Error e) {
            log.error("Instruction loop for {} cannot go on: {}", topic, e.toString(), e);
            stopping.countDown();
            onFatal.accept(e);
        } finally {
            connected = false;
            if (next >= 0) {
                try {
                    // the last asynchronous commit may still be in flight: settle the lag the master reads
                    consumer.commitSync(Map.of(partition, new OffsetAndMetadata(next)), Duration.ofSeconds(2));
                } catch (RuntimeException e) {
                    log.debug("Final offset commit of {} failed: {}", topic, e.toString());
                }
            }
            try {
                consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
            } catch (RuntimeException e) {
                log.warn("Consumer of {} did not close cleanly: {}", topic, e.toString());
            }
        }
    }

    /** Reads one poll's records and applies them in batches; transient failures leave them for the next try. */
    private void pollOnce() {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL_TIMEOUT);
        if (records.isEmpty()) {
            skipControlRecords();
            probe();
            return;
        }
        contact();
        ApplyBatch batch = handler.newBatch();
        try {
            for (ConsumerRecord<byte[], byte[]> record : records) {
                if (stopping.getCount() == 0 || batch.stopsLoop()) {
                    break; // DEFECT or shutdown: nothing after it is applied
                }
                Decoded decoded = codec.decode(MessageFamily.INSTRUCTION, record.topic(), record.partition(),
                        record.offset(), record.value());
                boolean barrier = decoded instanceof Decoded.Message m && handler.isBarrier(m.value());
                if (barrier && !batch.isEmpty()) {
                    commit(batch);
                    batch = handler.newBatch();
                }
                add(record, decoded, batch);
                if (barrier || oneAtATime) {
                    commit(batch);
                    if (batch.stopsLoop()) {
                        stopping.countDown();
                        return;
                    }
                    batch = handler.newBatch();
                }
            }
            if (stopping.getCount() > 0 && !batch.stopsLoop()) {
                batch.through(consumer.position(partition) - 1); // and the markers after its last instruction
            }
            commit(batch);
            oneAtATime = false; // every record of the poll that failed before is applied: batches again
            skipControlRecords();
        } catch (RuntimeException e) {
            if (!batch.settled()) {
                batch.rollbacks().forEach(Runnable::run); // nothing of it was written: give back what it reserved
            }
            throw e;
        }
        if (batch.stopsLoop()) {
            stopping.countDown();
        }
    }

    private void add(ConsumerRecord<byte[], byte[]> record, Decoded decoded, ApplyBatch batch) {
        long offset = record.offset();
        if (decoded instanceof Decoded.Message message) {
            try {
                handler.apply(message.value(), offset, SignatureHeaders.read(record.headers()), record.value(), batch);
            } catch (RuntimeException e) {
                if (RetryPolicy.isTransient(e)) {
                    throw e;
                }
                // not this loop's problem to die of: acknowledged FAILED
                handler.failed(message.value(), offset, e, batch);
            }
        } else if (decoded instanceof Decoded.UnknownType unknown) {
            deadLetter(record, unknown.reason());
            handler.unsupported(offset, header(unknown.header()), unknown.reason(), batch);
        } else if (decoded instanceof Decoded.Malformed malformed) {
            deadLetter(record, malformed.reason());
            handler.undecodable(offset, header(malformed.header()), malformed.reason(), batch);
        } else {
            deadLetter(record, NULL_RECORD);
            handler.undecodable(offset, null, NULL_RECORD, batch);
        }
    }

    /** Writes the batch; then the committed offset follows, best effort (it only feeds the master's lag). */
    private void commit(ApplyBatch batch) {
        if (batch.isEmpty()) {
            return;
        }
        handler.commit(batch);
        next = batch.lastOffset() + 1;
        backoff.reset();
        commitPosition();
    }

    /**
     * Moves past transaction markers (and aborted records) the consumer skipped: they take offsets of their own, so
     * the committed offset must follow the consumer's position for the master's lag to read 0 once all is applied.
     */
    private void skipControlRecords() {
        if (stopping.getCount() == 0 || next < 0) {
            return;
        }
        long position = consumer.position(partition);
        if (position > next) {
            // only markers or aborted records: recorded too, so the store never lags the committed offset
            handler.passed(position - 1);
            next = position;
            commitPosition();
        }
    }

    /**
     * Commits the position asynchronously: the agent resumes from its own store, so this offset only feeds the
     * master's lag, and waiting for it would cost a broker round trip per batch.
     */
    private void commitPosition() {
        long offset = next;
        try {
            consumer.commitAsync(Map.of(partition, new OffsetAndMetadata(offset)), (offsets, error) -> {
                if (error != null) {
                    log.debug("Committing offset {} of {} failed (only the master's lag is behind): {}", offset,
                            topic, error.toString());
                }
            });
        } catch (WakeupException | InterruptException e) {
            throw e;
        } catch (KafkaException e) {
            log.debug("Committing offset {} of {} failed (only the master's lag is behind): {}", offset, topic,
                    e.toString());
        }
    }

    /** Retries a transient failure after a back-off; anything else is fatal to the loop (rethrown). */
    private void retryOrFail(RuntimeException e) {
        if (!RetryPolicy.isTransient(e)) {
            throw e;
        }
        retryLater(e);
    }

    /**
     * Puts the consumer back to the first record not applied yet and waits a back-off; the records of the next poll
     * are applied one per batch, so one that cannot be written now (a batch larger than the room left in the spool,
     * say) does not hold back those before it.
     */
    private void retryLater(RuntimeException e) {
        int failures = backoff.failures();
        Duration pause = backoff.next();
        if (failures % RETRY_LOG_EVERY == 0) {
            log.warn("Instructions of {} from offset {} not applied yet (attempt {}), retrying in {} ms: {}", topic,
                    next, failures + 1, pause.toMillis(), e.toString());
        }
        oneAtATime = true;
        if (RetryPolicy.isTransient(e) && !(e instanceof io.msx.TransientFailure)) {
            connected = false;
        }
        pause(pause);
        if (next >= 0) {
            consumer.seek(partition, next);
        }
    }

    /**
     * Chooses where to read from: after the last applied instruction, checked against the log start; a fresh
     * installation at the end of the topic. Retries while the broker cannot answer.
     */
    private boolean position() {
        while (stopping.getCount() > 0) {
            try {
                if (resumeAfter == null && next < 0) {
                    consumer.seekToEnd(List.of(partition));
                    next = consumer.position(partition, BROKER_TIMEOUT);
                    log.info("Consuming instructions from {} at its end (offset {}): a new installation, it waits "
                            + "for the master's resync", topic, next);
                    contact();
                    handler.positioned(true, next);
                    commitPosition();
                    return true;
                }
                if (next < 0) {
                    next = resumeAfter + 1;
                }
                OffsetAndMetadata committed = consumer.committed(java.util.Set.of(partition), BROKER_TIMEOUT)
                        .get(partition);
                if (committed != null && committed.offset() > next) {
                    log.warn("The store of {} applied up to offset {}, but its consumer group committed {}: the data "
                            + "directory was restored or cloned; a new installation resumes at {}", topic, next - 1,
                            committed.offset(), committed.offset());
                    handler.restored(next, committed.offset());
                    next = committed.offset();
                }
                checkRetention(next);
                log.info("Consuming instructions from {} at offset {} (after the last applied)", topic, next);
                handler.positioned(false, next);
                return true;
            } catch (WakeupException | InterruptException e) {
                throw e;
            } catch (RuntimeException e) {
                retryOrFail(e);
            }
        }
        return false;
    }

    /**
     * Seeks to {@code from}; to the log start when instructions before it expired (recording the loss); to the end
     * of the log when {@code from} lies past it (the topic was recreated or truncated: what is there now may be what
     * was applied before, and nothing is applied twice). Either way a resync is asked for.
     */
    private void checkRetention(long from) {
        long logStart = consumer.beginningOffsets(List.of(partition), BROKER_TIMEOUT).getOrDefault(partition, 0L);
        long logEnd = consumer.endOffsets(List.of(partition), BROKER_TIMEOUT).getOrDefault(partition, 0L);
        contact();
        if (from > logEnd) {
            log.error("Next instruction offset {} of {} lies past the end of its log ({}): the topic was recreated or "
                    + "truncated; reading on from its end and asking for a resync", from, topic, logEnd);
            handler.lost(logEnd, logEnd, "the topic's log ends at " + logEnd + ", before offset " + from
                    + " the target was at (the topic was recreated or truncated)");
            from = logEnd;
        } else if (from < logStart) {
            handler.lost(from, logStart, null);
            from = logStart;
        }
        next = from;
        consumer.seek(partition, from);
    }

    /** Asks the broker something cheap after a quiet spell: readiness says whether it answers. */
    private void probe() {
        if (Duration.between(lastContact, clock.instant()).compareTo(PROBE_AFTER) < 0) {
            return;
        }
        try {
            consumer.endOffsets(List.of(partition), BROKER_TIMEOUT);
            contact();
        } catch (WakeupException | InterruptException e) {
            throw e;
        } catch (KafkaException e) {
            if (connected) {
                log.warn("Broker does not answer for {} ({}); instructions wait until it is back", topic,
                        e.toString());
            }
            connected = false;
            lastContact = clock.instant();
        }
    }

    private void contact() {
        if (!connected && assigned.getCount() == 0) {
            log.info("Broker answers again for {}", topic);
        }
        connected = true;
        lastContact = clock.instant();
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
            log.debug("Record at {}@{} dead-lettered to {}: {}", record.topic(), record.offset(), dlq, reason);
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

    private boolean awaitTopic() {
        boolean logged = false;
        while (stopping.getCount() > 0) {
            try {
                if (!consumer.partitionsFor(topic, BROKER_TIMEOUT).isEmpty()) {
                    contact();
                    return true;
                }
                contact();
                if (!logged) {
                    log.info("Waiting for the master to create {}", topic);
                    logged = true;
                }
                pause(Duration.ofSeconds(1));
            } catch (WakeupException | InterruptException e) {
                throw e;
            } catch (RuntimeException e) {
                retryOrFail(e);
            }
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

    /** True once the topic exists, is assigned and the loop knows where it reads from. */
    public boolean awaitAssigned(Duration timeout) throws InterruptedException {
        return assigned.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** True while the loop consumes its topic. */
    public boolean isConsuming() {
        return assigned.getCount() == 0 && stopping.getCount() > 0;
    }

    /** True while the broker answered the loop lately. */
    public boolean isConnected() {
        return connected;
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
