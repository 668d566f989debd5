package io.msx.spool;

import io.msx.spool.internal.SequenceFile;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;

/**
 * The simple outbox: sequence numbers from a {@link SequenceFile}, events handed straight to an idempotent
 * {@code acks=all} producer. It keeps order and never repeats a sequence number, but it is NOT durable: events live
 * only in the producer's memory until Kafka acknowledges them, and the producer gives up on them after
 * {@code delivery.timeout.ms}. The RocksDB spool replaces it where status must survive a broker outage.
 *
 * <p>Thread-safe: appends are serialized so that send order equals sequence order.
 */
public final class DirectOutbox implements StatusOutbox {

    private static final Logger log = LoggerFactory.getLogger(DirectOutbox.class);

    private final Producer<String, byte[]> producer;
    private final String topic;
    private final SequenceFile sequences;
    private final Clock clock;
    private final ConcurrentSkipListMap<Long, Instant> inFlight = new ConcurrentSkipListMap<>();
    private final AtomicLong lost = new AtomicLong();
    private final AtomicBoolean closed = new AtomicBoolean();

    DirectOutbox(Producer<String, byte[]> producer, String topic, SequenceFile sequences, Clock clock) {
        this.producer = producer;
        this.topic = topic;
        this.sequences = sequences;
        this.clock = clock;
    }

    /**
     * @param bootstrapServers Kafka to send to
     * @param topic topic of every event
     * @param dir directory of the sequence file
     * @param clientId producer client id, e.g. {@code msx-target-T1-outbox}
     */
    public static DirectOutbox create(String bootstrapServers, String topic, Path dir, String clientId, Clock clock) {
        Map<String, Object> configs = new HashMap<>();
        configs.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        configs.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
        configs.put(ProducerConfig.ACKS_CONFIG, "all");
        configs.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        configs.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        return new DirectOutbox(new KafkaProducer<>(configs, new StringSerializer(), new ByteArraySerializer()),
                topic, new SequenceFile(dir, 1000), clock);
    }

    @Override
    public synchronized long append(String key, LongFunction<byte[]> valueForSeq) {
        if (closed.get()) {
            throw new OutboxException("outbox for " + topic + " is closed");
        }
        long seq = sequences.next();
        byte[] value = valueForSeq.apply(seq);
        inFlight.put(seq, clock.instant());
        producer.send(new ProducerRecord<>(topic, key, value), (metadata, error) -> {
            inFlight.remove(seq);
            if (error != null) {
                lost.incrementAndGet();
                log.warn("Status event seq {} for {} was not delivered and is lost (direct outbox): {}",
                        seq, key, error.toString());
            }
        });
        return seq;
    }

    @Override
    public OutboxStats stats() {
        Map.Entry<Long, Instant> oldest = inFlight.firstEntry();
        Optional<Duration> age = oldest == null ? Optional.empty()
                : Optional.of(Duration.between(oldest.getValue(), clock.instant()));
        long last;
        synchronized (this) {
            last = sequences.last();
        }
        return new OutboxStats(inFlight.size(), age, last, 0);
    }

    /** Events the producer gave up on since start. */
    public long lostEvents() {
        return lost.get();
    }

    @Override
    public boolean flush(Duration timeout) {
        // KafkaProducer.flush has no timeout; it is bounded by delivery.timeout.ms.
        producer.flush();
        return inFlight.isEmpty();
    }

    @Override
    public void close(Duration timeout) {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        producer.close(timeout);
    }
}
