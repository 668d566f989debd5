package io.msx.master.internal;

import io.msx.schemas.DeadLetters;
import io.msx.MsxRetriableException;
import io.msx.avro.CommandHeader;
import io.msx.avro.StatusHeader;
import io.msx.avro.TargetRegistration;
import io.msx.avro.command.ResyncTargets;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.Enlist;
import io.msx.avro.status.InstructionAck;
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
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The master's status thread: reads the whole status topic from the beginning (so the views are rebuilt after a
 * restart) and applies each event to the {@link TargetRegistry}. An enlisting target gets its topic and registration
 * before it is registered. No record stops the loop: a tombstone is skipped; an undecodable event, an event of a
 * type this master does not know, an Enlist naming an invalid target, an event whose seq jumps implausibly far
 * ({@link TargetRegistry#MAX_SEQ_JUMP}), and any event that fails to apply go to the status dead-letter topic with the
 * reason, and the loop goes on. Only an error that is not the event's fault (the registry or broker cannot be reached,
 * or the registry refuses the master) holds a partition back, to try the same event again. Owns its consumer.
 *
 * <p>A target that asks for a resync in a check-in (a new installation holding no jobs, or one that lost instructions
 * to its topic's retention) is answered by a {@link ResyncTargets} command on the commands topic, so the resync takes
 * the same transactional path as an operator's. Only live check-ins are answered, those past the end offsets the
 * status topic had when the loop started: the history replayed before them is the past (a target still asking sends
 * the request again in its next check-in). The {@link TargetRegistry} decides when to ask again.
 */
public final class StatusLoop implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(StatusLoop.class);
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(500);
    private static final Duration RETRY_BACKOFF = Duration.ofSeconds(1);
    /** Characters of a target's resync reason kept in the command's issuedBy (the reason comes from the target). */
    static final int REASON_CHARS = 200;

    private final Consumer<byte[], byte[]> consumer;
    private final Producer<byte[], byte[]> deadLetterProducer;
    private final Topics topics;
    private final TargetRegistry registry;
    private final TargetTopics targetTopics;
    private final MsxCodec codec;
    private final Clock clock;
    private final DownloadList downloads;
    private final AtomicLong deadLettered = new AtomicLong();
    private final CountDownLatch stopping = new CountDownLatch(1);
    /** End offsets of the status partitions when the loop started: records from there on are live. */
    private Map<TopicPartition, Long> replayEnds = Map.of();

    /**
     * @param deadLetterProducer writes dead letters, the registrations of enlisting targets and the resync commands
     *                           targets ask for (not transactional: this loop commits no offsets, it replays the
     *                           status topic on every start)
     */
    public StatusLoop(Consumer<byte[], byte[]> consumer, Producer<byte[], byte[]> deadLetterProducer, Topics topics,
                      TargetRegistry registry, TargetTopics targetTopics, MsxCodec codec, Clock clock,
                      DownloadList downloads) {
        this.consumer = consumer;
        this.deadLetterProducer = deadLetterProducer;
        this.topics = topics;
        this.registry = registry;
        this.targetTopics = targetTopics;
        this.codec = codec;
        this.clock = clock;
        this.downloads = downloads;
    }

    @Override
    public void run() {
        try {
            List<TopicPartition> partitions = consumer.partitionsFor(topics.status()).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            replayEnds = consumer.endOffsets(partitions);
            while (stopping.getCount() > 0) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL_TIMEOUT);
                for (TopicPartition partition : records.partitions()) {
                    for (ConsumerRecord<byte[], byte[]> record : records.records(partition)) {
                        if (!handle(record)) {
                            break; // this partition was seeked back; the others go on
                        }
                    }
                }
            }
        } catch (WakeupException e) {
            // shutdown() woke the consumer: leave
        } catch (RuntimeException e) {
            log.error("Status loop stopped on an unexpected error", e);
        } finally {
            consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
        }
    }

    /** Status events dead-lettered since the start (replays included). */
    public long deadLettered() {
        return deadLettered.get();
    }

    /** @return false when the record must be read again (its partition was seeked back to it) */
    private boolean handle(ConsumerRecord<byte[], byte[]> record) {
        Decoded decoded;
        try {
            decoded = codec.decode(MessageFamily.STATUS, record.topic(), record.partition(), record.offset(),
                    record.value());
        } catch (MsxRetriableException | SchemaRegistryException e) {
            return retryLater(record, e); // the registry cannot answer now: not this record's fault
        }
        if (decoded instanceof Decoded.Malformed malformed) {
            deadLetter(record, malformed.reason());
        } else if (decoded instanceof Decoded.UnknownType unknown) {
            deadLetter(record, unknown.reason() + ": not supported by this master version");
        } else if (decoded instanceof Decoded.Message message) {
            try {
                apply(message.value(), isLive(record));
            } catch (MsxRetriableException | SchemaRegistryException e) {
                return retryLater(record, e);
            } catch (IllegalArgumentException | MasterException e) {
                deadLetter(record, e.getMessage()); // an invalid target name, a topic the broker will not create
            } catch (RuntimeException e) {
                deadLettered.incrementAndGet();
                log.warn("Status event {} dead-lettered, applying {} failed", where(record),
                        MessageFamily.typeName(message.value()), e);
                send(DeadLetters.of(record, "cannot apply " + MessageFamily.typeName(message.value()) + ": " + e));
            }
        }
        return true; // tombstones are skipped
    }

    private boolean isLive(ConsumerRecord<?, ?> record) {
        Long end = replayEnds.get(new TopicPartition(record.topic(), record.partition()));
        return end == null || record.offset() >= end;
    }

    private void apply(SpecificRecord event, boolean live) {
        StatusHeader header = MessageFamily.STATUS.header(event);
        String target = header.getTarget();
        if (event instanceof Enlist enlist && !registry.contains(target)) {
            Topics.requireValidTargetName(target);
            targetTopics.ensure(List.of(target));
            send(new ProducerRecord<>(topics.targets(), target.getBytes(StandardCharsets.UTF_8),
                    codec.encode(TargetRegistration.newBuilder().setTarget(target).setLocation(enlist.getLocation())
                            .setRegisteredAt(clock.instant().truncatedTo(ChronoUnit.MILLIS)).build())));
        }
        boolean fresh = registry.apply(event);
        if (fresh && event instanceof InstructionAck ack) {
            downloads.acked(target, ack);
        }
        if (fresh && event instanceof Enlist enlist) {
            log.info("Target {} enlisted (agent {}, zone {})", target, enlist.getAgentVersion(), enlist.getTimeZone());
        }
        if (fresh && live && event instanceof CheckIn checkIn && checkIn.getResyncRequested()
                && registry.claimRequestedResync(target)) {
            requestResync(target, checkIn.getResyncReason());
        }
    }

    /** Publishes a ResyncTargets command for the target; a failed send is retried when the target asks again. */
    private void requestResync(String target, String reason) {
        String why = reason == null || reason.isBlank() ? "no reason given"
                : reason.length() > REASON_CHARS ? reason.substring(0, REASON_CHARS) + "..." : reason;
        UUID commandId = UUID.randomUUID();
        ResyncTargets command = ResyncTargets.newBuilder()
                .setHeader(CommandHeader.newBuilder().setCommandId(commandId)
                        .setIssuedAt(clock.instant().truncatedTo(ChronoUnit.MILLIS))
                        .setIssuedBy("master (" + target + " asked: " + why + ")").build())
                .setTargets(List.of(target)).build();
        log.info("Target {} asks for a resync ({}): command {}", target, why, commandId);
        try {
            deadLetterProducer.send(new ProducerRecord<>(topics.commands(),
                    commandId.toString().getBytes(StandardCharsets.UTF_8), codec.encode(command)), (metadata, error) -> {
                        if (error != null) {
                            log.warn("Resync command {} for {} not written to {}, sent again if it still asks: {}",
                                    commandId, target, topics.commands(), error.toString());
                        }
                    });
        } catch (RuntimeException e) {
            log.warn("Cannot write resync command {} for {} to {}, sent again if it still asks: {}", commandId,
                    target, topics.commands(), e.toString());
        }
    }

    private void deadLetter(ConsumerRecord<byte[], byte[]> record, String reason) {
        deadLettered.incrementAndGet();
        log.warn("Status event {} dead-lettered: {}", where(record), reason);
        send(DeadLetters.of(record, reason));
    }

    private void send(ProducerRecord<byte[], byte[]> record) {
        try {
            deadLetterProducer.send(record, (metadata, error) -> {
                if (error != null) {
                    log.error("Dead letter from {} at {}@{} not written to {}: {}", headerOf(record,
                            DeadLetters.TOPIC_HEADER), headerOf(record, DeadLetters.PARTITION_HEADER),
                            headerOf(record, DeadLetters.OFFSET_HEADER), record.topic(), error.toString());
                }
            });
        } catch (RuntimeException e) {
            log.warn("Cannot write to {}: {}", record.topic(), e.toString());
        }
    }

    private static String headerOf(ProducerRecord<byte[], byte[]> record, String name) {
        org.apache.kafka.common.header.Header h = record.headers().lastHeader(name);
        return h == null ? "?" : new String(h.value(), java.nio.charset.StandardCharsets.UTF_8);
    }

    private boolean retryLater(ConsumerRecord<byte[], byte[]> record, RuntimeException e) {
        log.warn("Status event {} not applied yet, retrying in {}: {}", where(record), RETRY_BACKOFF, e.getMessage());
        consumer.seek(new TopicPartition(record.topic(), record.partition()), record.offset());
        try {
            stopping.await(RETRY_BACKOFF.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            stopping.countDown();
        }
        return false;
    }

    private static String where(ConsumerRecord<?, ?> record) {
        return record.topic() + "-" + record.partition() + "@" + record.offset();
    }

    public void shutdown() {
        stopping.countDown();
        consumer.wakeup();
    }
}
