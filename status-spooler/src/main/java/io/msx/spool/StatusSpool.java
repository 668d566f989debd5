package io.msx.spool;

import io.micrometer.core.instrument.MeterRegistry;
import io.msx.Threads;
import io.msx.spool.internal.DirectoryLock;
import io.msx.spool.internal.SpoolMetrics;
import io.msx.spool.internal.SpoolRelay;
import io.msx.spool.internal.SpoolStore;
import io.msx.spool.internal.SpoolWriter;
import io.msx.spool.internal.SpooledEvent;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;

/**
 * The durable outbox: every event is written to RocksDB (WAL on, synced, group-committed) before {@link #append}
 * returns, and a relay thread sends spooled events to Kafka in sequence order, deleting each only after Kafka
 * acknowledged it. While the broker is unreachable the spool grows, up to {@code spool.max.bytes}; when the broker is
 * back it drains in order. Sequence numbers survive restarts (stored in the same batch as the events).
 *
 * <p>Threads: {@code msx-spool-<name>-writer} and {@code msx-spool-<name>-relay}. Thread-safe; {@link #append} blocks
 * until the event is durable. {@link #close(Duration)} is idempotent.
 */
public final class StatusSpool implements StatusOutbox {

    private static final Logger log = LoggerFactory.getLogger(StatusSpool.class);

    private final String name;
    private final StatusSpoolConfig config;
    private final Clock clock;
    private final DirectoryLock lock;
    private final SpoolStore store;
    private final Producer<byte[], byte[]> producer;
    private final SpoolWriter writer;
    private final SpoolRelay relay;
    private final SpoolMetrics metrics;
    private final Thread writerThread;
    private final Thread relayThread;
    private final Object appendLock = new Object();
    private final AtomicLong depth = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicBoolean closed = new AtomicBoolean();
    private long nextSeq;

    private StatusSpool(String name, StatusSpoolConfig config, Clock clock, MeterRegistry meters,
                        Producer<byte[], byte[]> producer, String topic, DirectoryLock lock, SpoolStore store) {
        this.name = name;
        this.config = config;
        this.clock = clock;
        this.lock = lock;
        this.store = store;
        this.producer = producer;
        long[] counted = store.scan();
        depth.set(counted[0]);
        bytes.set(counted[1]);
        nextSeq = store.lastSeq() + 1;
        SpoolRelay[] relayRef = new SpoolRelay[1];
        this.metrics = new SpoolMetrics(meters, name, depth::get, bytes::get, () -> {
            Duration age = relayRef[0] == null ? null : relayRef[0].oldestAge();
            return age == null ? 0 : age.toMillis() / 1000.0;
        });
        this.relay = new SpoolRelay(store, producer, topic, config.relayBatchSize(), config.retryBackoffMax(),
                metrics, clock, (events, size) -> {
                    depth.addAndGet(-events);
                    bytes.addAndGet(-size);
                });
        relayRef[0] = relay;
        this.writer = new SpoolWriter(store, config.appendQueueSize(), relay::wake, failed -> {
            if (failed.event() != null) {
                depth.decrementAndGet();
                bytes.addAndGet(-failed.event().size());
            }
        });
        this.writerThread = new Thread(writer, "msx-spool-" + name + "-writer");
        this.relayThread = new Thread(relay, "msx-spool-" + name + "-relay");
    }

    /**
     * Opens (or creates) the spool in {@code spool.dir} and starts its threads.
     *
     * @param name names threads and the {@code spool} metric tag, e.g. the target name
     * @param bootstrapServers Kafka to relay to
     * @param topic topic of every event
     * @throws SpoolStorageException when the directory is locked by another process, corrupt, or not a spool
     */
    public static StatusSpool open(String name, StatusSpoolConfig config, String bootstrapServers, String topic,
                                   Clock clock, MeterRegistry meters) {
        Duration delivery = config.deliveryTimeout();
        Map<String, Object> p = new HashMap<>();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "msx-spool-" + name);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.max(500, delivery.toMillis() / 2));
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) delivery.toMillis());
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, delivery.toMillis());
        return open(name, config, () -> new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer()),
                topic, clock, meters);
    }

    /** As {@link #open(String, StatusSpoolConfig, String, String, Clock, MeterRegistry)}, with a given producer. */
    public static StatusSpool open(String name, StatusSpoolConfig config,
                                   java.util.function.Supplier<Producer<byte[], byte[]>> producer, String topic,
                                   Clock clock, MeterRegistry meters) {
        DirectoryLock lock = DirectoryLock.acquire(config.dir());
        SpoolStore store;
        try {
            store = SpoolStore.open(config.dir(), config.stateColumnFamilies());
        } catch (RuntimeException e) {
            lock.close();
            throw e;
        }
        StatusSpool spool;
        try {
            spool = new StatusSpool(name, config, clock, meters, producer.get(), topic, lock, store);
        } catch (RuntimeException e) {
            store.close();
            lock.close();
            throw e;
        }
        spool.writerThread.start();
        spool.relayThread.start();
        log.info("Spool {} opened at {}: {} event(s), {} bytes waiting; next seq {}", name, config.dir(),
                spool.depth.get(), spool.bytes.get(), spool.nextSeq);
        return spool;
    }

    /**
     * Appends one event durably.
     *
     * @return its sequence number
     * @throws SpoolFullException when {@code spool.max.bytes} would be exceeded (nothing appended)
     * @throws OutboxException when closed, interrupted, or the write failed (nothing appended)
     */
    @Override
    public long append(String key, LongFunction<byte[]> valueForSeq) {
        return append(key, valueForSeq, java.util.List.of());
    }

    /**
     * Appends one event and, in the same synced RocksDB batch, changes to the owner's state: both are durable
     * together or not at all.
     *
     * @return the event's sequence number
     */
    public long append(String key, LongFunction<byte[]> valueForSeq, java.util.List<StateChange> changes) {
        SpoolWriter.Pending pending;
        synchronized (appendLock) {
            if (closed.get()) {
                throw new OutboxException("spool " + name + " is closed");
            }
            long seq = nextSeq;
            SpooledEvent event = new SpooledEvent(seq, clock.millis(), key.getBytes(StandardCharsets.UTF_8),
                    valueForSeq.apply(seq));
            long size = event.size();
            long held = bytes.get();
            if (held + size > config.maxBytes()) {
                rejected.incrementAndGet();
                metrics.appendsRejected.increment();
                if (rejected.get() == 1 || rejected.get() % 1000 == 0) {
                    log.error("Spool {} is full ({} of {} bytes, {} events waiting): refusing status events until "
                            + "the broker takes some ({} refused so far)", name, held, config.maxBytes(), depth.get(),
                            rejected.get());
                }
                throw new SpoolFullException("spool " + name + " is full: " + held + " of " + config.maxBytes()
                        + " bytes (spool.max.bytes) held by " + depth.get() + " undelivered events; event not "
                        + "appended");
            }
            nextSeq++;
            bytes.addAndGet(size);
            depth.incrementAndGet();
            pending = new SpoolWriter.Pending(event, java.util.List.copyOf(changes), new CompletableFuture<>());
            try {
                writer.enqueue(pending);
            } catch (InterruptedException e) {
                depth.decrementAndGet();
                bytes.addAndGet(-size);
                Thread.currentThread().interrupt();
                throw new OutboxException("interrupted before the event was queued; not appended", e);
            }
        }
        try {
            pending.durable().get();
        } catch (ExecutionException e) {
            throw new OutboxException("spool " + name + " could not write the event: " + e.getCause().getMessage(),
                    e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OutboxException("interrupted while the event was being written; it may be spooled", e);
        }
        metrics.appends.increment();
        return pending.event().seq();
    }

    /** Writes changes to the owner's state alone (synced), in order with appends. */
    public void writeState(java.util.List<StateChange> changes) {
        SpoolWriter.Pending pending = new SpoolWriter.Pending(null, java.util.List.copyOf(changes),
                new CompletableFuture<>());
        synchronized (appendLock) {
            if (closed.get()) {
                throw new OutboxException("spool " + name + " is closed");
            }
            try {
                writer.enqueue(pending);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new OutboxException("interrupted before the state change was queued", e);
            }
        }
        try {
            pending.durable().get();
        } catch (ExecutionException e) {
            throw new OutboxException("spool " + name + " could not write state: " + e.getCause().getMessage(),
                    e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OutboxException("interrupted while state was being written", e);
        }
    }

    /** One value of the owner's state, or null. */
    public byte[] stateGet(String columnFamily, byte[] key) {
        return store.stateGet(columnFamily, key);
    }

    /** Every entry of one of the owner's state column families, in key order. */
    public void stateForEach(String columnFamily, java.util.function.BiConsumer<byte[], byte[]> action) {
        store.stateForEach(columnFamily, action);
    }

    @Override
    public OutboxStats stats() {
        long last;
        synchronized (appendLock) {
            last = nextSeq - 1;
        }
        return new OutboxStats(depth.get(), Optional.ofNullable(depth.get() == 0 ? null : relay.oldestAge()), last,
                rejected.get());
    }

    /** Bytes held, counted against {@code spool.max.bytes}. */
    public long bytes() {
        return bytes.get();
    }

    @Override
    public boolean flush(Duration timeout) {
        relay.wake();
        try {
            return relay.awaitProgress(() -> depth.get() == 0, timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return depth.get() == 0;
        }
    }

    /**
     * Refuses new appends, writes what is queued, gives the relay until {@code timeout} to deliver, then stops both
     * threads and releases the producer, RocksDB and the directory lock. Undelivered events stay spooled.
     */
    @Override
    public void close(Duration timeout) {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        RuntimeException first = null;
        writer.stop();
        Threads.joinUntil(writerThread, deadline);
        flush(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        relay.stop();
        try {
            producer.close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        } catch (RuntimeException e) {
            first = e;
        }
        Threads.joinUntil(relayThread, System.nanoTime() + Duration.ofSeconds(5).toNanos());
        if (relayThread.isAlive() || writerThread.isAlive()) {
            relayThread.interrupt();
            writerThread.interrupt();
            Threads.joinUntil(relayThread, System.nanoTime() + Duration.ofSeconds(5).toNanos());
            Threads.joinUntil(writerThread, System.nanoTime() + Duration.ofSeconds(5).toNanos());
        }
        metrics.close();
        store.close();
        lock.close();
        log.info("Spool {} closed: {} event(s) left spooled", name, depth.get());
        if (first != null) {
            throw first;
        }
    }
}
