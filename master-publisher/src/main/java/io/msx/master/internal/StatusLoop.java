package io.msx.master.internal;

import io.msx.MsxRetriableException;
import io.msx.avro.Enlist;
import io.msx.avro.StatusEvent;
import io.msx.schemas.AvroCodec;
import io.msx.schemas.Topics;
import io.msx.schemas.WireFormatException;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.Producer;
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
 * The master's status thread: reads the whole status topic from the beginning (so the views are rebuilt after a
 * restart) and applies each event to the {@link TargetRegistry}. An enlisting target gets its topic before it is
 * registered. Undecodable events go to the status dead-letter topic. Owns its consumer.
 */
public final class StatusLoop implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(StatusLoop.class);
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(500);
    private static final Duration RETRY_BACKOFF = Duration.ofSeconds(1);

    private final Consumer<byte[], byte[]> consumer;
    private final Producer<byte[], byte[]> deadLetterProducer;
    private final Topics topics;
    private final TargetRegistry registry;
    private final TopicAdmin admin;
    private final AvroCodec<StatusEvent> codec;
    private final AvroCodec<io.msx.avro.TargetRegistration> registrations;
    private final java.time.Clock clock;
    private final DownloadList downloads;
    private final CountDownLatch stopping = new CountDownLatch(1);

    /**
     * @param deadLetterProducer writes dead letters and the registrations of enlisting targets (not transactional:
     *                           this loop commits no offsets, it replays the status topic on every start)
     */
    public StatusLoop(Consumer<byte[], byte[]> consumer, Producer<byte[], byte[]> deadLetterProducer, Topics topics,
                      TargetRegistry registry, TopicAdmin admin, AvroCodec<StatusEvent> codec,
                      AvroCodec<io.msx.avro.TargetRegistration> registrations, java.time.Clock clock,
                      DownloadList downloads) {
        this.consumer = consumer;
        this.deadLetterProducer = deadLetterProducer;
        this.topics = topics;
        this.registry = registry;
        this.admin = admin;
        this.codec = codec;
        this.registrations = registrations;
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
            consumer.close(Duration.ofSeconds(5));
        }
    }

    private boolean handle(ConsumerRecord<byte[], byte[]> record) {
        try {
            StatusEvent event = codec.decode(record.topic(), record.partition(), record.offset(), record.value());
            if (event == null) {
                return true;
            }
            if (event.getBody() instanceof Enlist enlist && !registry.contains(event.getTarget())) {
                admin.ensure(Map.of(topics.target(event.getTarget()), 1), Map.of());
                deadLetterProducer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topics.targets(),
                        event.getTarget().getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        registrations.encode(io.msx.avro.TargetRegistration.newBuilder().setTarget(event.getTarget())
                                .setLocation(enlist.getLocation())
                                .setRegisteredAt(clock.instant().truncatedTo(java.time.temporal.ChronoUnit.MILLIS))
                                .build())));
            }
            boolean fresh = registry.apply(event);
            if (fresh && event.getBody() instanceof io.msx.avro.InstructionAck ack) {
                downloads.acked(event.getTarget(), ack);
            }
            if (fresh && event.getBody() instanceof Enlist) {
                log.info("Target {} enlisted (agent {}, zone {})", event.getTarget(),
                        ((Enlist) event.getBody()).getAgentVersion(), ((Enlist) event.getBody()).getTimeZone());
            }
            return true;
        } catch (WireFormatException | IllegalArgumentException e) {
            log.warn("Status event dead-lettered: {}", e.getMessage());
            deadLetterProducer.send(DeadLetters.of(record, e.getMessage()));
            return true;
        } catch (MsxRetriableException e) {
            log.warn("Status event {}-{}@{} not applied yet, retrying in {}: {}", record.topic(), record.partition(),
                    record.offset(), RETRY_BACKOFF, e.getMessage());
            consumer.seek(new TopicPartition(record.topic(), record.partition()), record.offset());
            try {
                stopping.await(RETRY_BACKOFF.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                stopping.countDown();
            }
            return false;
        }
    }

    public void shutdown() {
        stopping.countDown();
        consumer.wakeup();
    }

}
