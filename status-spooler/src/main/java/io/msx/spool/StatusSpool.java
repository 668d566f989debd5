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
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongFunction;

/**
 * The durable outbox, and its owner's database: every event is written to RocksDB (WAL on, synced, group-committed)
 * before {@link #append} returns, together with the owner's state changes (its own column families, written in the
 * same batch); a relay thread sends spooled events to Kafka in sequence order, deleting each only after Kafka
 * acknowledged it. The spool knows nothing of jobs or of what the owner's state means. While the broker is
 * unreachable the spool grows, up to {@code spool.max.bytes}; when the broker is back it drains in order. Sequence
 * numbers survive restarts (stored in the same batch as the events). An event Kafka refuses for good is moved to the
 * local dead-letter store ({@link #deadLetters(int)}) and the events after it go on.
 *
 * <p>When its storage fails or one of its threads dies, the spool is FAILED for good: {@link #failure()} names the
 * reason, logged once at ERROR, and every append from then on fails with an {@link OutboxException} naming it. The
 * owner polls {@link #failure()} and restarts; undelivered events stay spooled.
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
    private final AtomicReference<String> failure = new AtomicReference<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private long nextSeq;

    private StatusSpool(String name, StatusSpoolConfig config, Clock clock, MeterRegistry meters,
                        Producer<byte[], byte[]> producer, String topic, DirectoryLock lock, SpoolStore store,
                        RecordSigner signer) {
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
        }, store::deadLetterBytes);
        this.relay = new SpoolRelay(store, producer, topic, config.relayBatchSize(), config.retryPolicy(),
                config.deadLetterMaxBytes(), config.deadLetterValueMaxBytes(), metrics, clock,
                new SpoolRelay.Listener() {
                    @Override
                    public void delivered(int events, long size) {
                        depth.addAndGet(-events);
                        bytes.addAndGet(-size);
                    }

                    @Override
                    public void deadLettered(SpooledEvent event) {
                        depth.decrementAndGet();
                        bytes.addAndGet(-event.size());
                    }
                }, e -> fail("relay failed: " + e, e), signer);
        relayRef[0] = relay;
        this.writer = new SpoolWriter(store, config.appendQueueSize(), new SpoolWriter.Listener() {
            @Override
            public void written() {
                relay.wake();
            }

            @Override
            public void notWritten(SpoolWriter.Pending pending) {
                depth.addAndGet(-pending.events().size());
                bytes.addAndGet(-pending.size());
            }

            @Override
            public void writeFailed(RuntimeException error) {
                fail("storage write failed: " + error.getMessage(), error);
            }

            @Override
            public String refusal() {
                String reason = failure.get();
                return reason == null ? null : "spool " + name + " FAILED: " + reason;
            }
        });
        String prefix = "msx-spool-" + name;
        this.writerThread = Threads.supervised(prefix + "-writer", writer,
                e -> fail("writer thread died: " + e, e));
        this.relayThread = Threads.supervised(prefix + "-relay", relay,
                e -> fail("relay thread died: " + e, e));
    }

    /**
     * Moves the spool to FAILED, once: appends are refused from now on. Undelivered events stay spooled for the
     * next start.
     */
    private void fail(String reason, Throwable cause) {
        if (failure.compareAndSet(null, reason)) {
            log.error("Spool {} FAILED: {}; appends are refused from now on, undelivered events stay spooled; "
                    + "the owner must restart", name, reason, cause);
            relay.wake();
        }
    }

    /** Empty while healthy; the reason once the spool failed for good. */
    @Override
    public Optional<String> failure() {
        return Optional.ofNullable(failure.get());
    }

    /**
     * Up to {@code max} of the oldest dead letters (events Kafka refused for good), in sequence order.
     *
     * @throws SpoolStorageException when the spool is closed or the dead-letter store cannot be read
     */
    public java.util.List<DeadLetter> deadLetters(int max) {
        return store.deadLetters(max);
    }

    /** Bytes held by the dead-letter store, counted against {@code spool.dead.letter.max.bytes}. */
    public long deadLetterBytes() {
        return store.deadLetterBytes();
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
        return open(name, config, Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers), topic, clock,
                meters);
    }

    /**
     * As {@link #open(String, StatusSpoolConfig, String, String, Clock, MeterRegistry)}, the producer starting from
     * {@code kafka}: bootstrap servers and security settings.
     */
    public static StatusSpool open(String name, StatusSpoolConfig config, Map<String, Object> kafka, String topic,
                                   Clock clock, MeterRegistry meters) {
        return open(name, config, kafka, topic, clock, meters, RecordSigner.NONE);
    }

    /**
     * As {@link #open(String, StatusSpoolConfig, Map, String, Clock, MeterRegistry)}, every event signed by
     * {@code signer} as it is sent.
     */
    public static StatusSpool open(String name, StatusSpoolConfig config, Map<String, Object> kafka, String topic,
                                   Clock clock, MeterRegistry meters, RecordSigner signer) {
        Duration delivery = config.deliveryTimeout();
        Map<String, Object> p = new HashMap<>(kafka);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "msx-spool-" + name);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.max(500, delivery.toMillis() / 2));
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) delivery.toMillis());
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, delivery.toMillis());
        return open(name, config, () -> new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer()),
                topic, clock, meters, signer);
    }

    /** As {@link #open(String, StatusSpoolConfig, String, String, Clock, MeterRegistry)}, with a given producer. */
    public static StatusSpool open(String name, StatusSpoolConfig config,
                                   java.util.function.Supplier<Producer<byte[], byte[]>> producer, String topic,
                                   Clock clock, MeterRegistry meters) {
        return open(name, config, producer, topic, clock, meters, RecordSigner.NONE);
    }

    /** As {@link #open(String, StatusSpoolConfig, java.util.function.Supplier, String, Clock, MeterRegistry)}, signed. */
    public static StatusSpool open(String name, StatusSpoolConfig config,
                                   java.util.function.Supplier<Producer<byte[], byte[]>> producer, String topic,
                                   Clock clock, MeterRegistry meters, RecordSigner signer) {
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
            spool = new StatusSpool(name, config, clock, meters, producer.get(), topic, lock, store, signer);
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

    @Override
    public long[] appendAll(java.util.List<Append> appends) {
        if (appends.isEmpty()) {
            return new long[0];
        }
        for (Append append : appends) {
            checkFamilies(append.changes());
        }
        SpoolWriter.Pending pending;
        synchronized (appendLock) {
            checkUsable();
            long now = clock.millis();
            java.util.List<SpooledEvent> events = new java.util.ArrayList<>(appends.size());
            java.util.List<StateChange> changes = new java.util.ArrayList<>();
            long held = bytes.get();
            long added = 0;
            for (int i = 0; i < appends.size(); i++) {
                Append append = appends.get(i);
                long seq = nextSeq + i;
                SpooledEvent event = new SpooledEvent(seq, now, append.key().getBytes(StandardCharsets.UTF_8),
                        append.valueForSeq().apply(seq));
                added += event.size();
                long limit = append.priority() == Priority.RESERVED ? config.maxBytes()
                        : config.maxBytes() - config.reservedBytes();
                if (held + added > limit) {
                    throw refuse(held, limit, append.priority());
                }
                events.add(event);
                changes.addAll(append.changes());
            }
            nextSeq += appends.size();
            bytes.addAndGet(added);
            depth.addAndGet(appends.size());
            pending = new SpoolWriter.Pending(java.util.List.copyOf(events), java.util.List.copyOf(changes),
                    new CompletableFuture<>());
            try {
                writer.enqueue(pending);
            } catch (InterruptedException | RuntimeException e) {
                // nothing was written: the sequence numbers are given out again
                nextSeq -= appends.size();
                depth.addAndGet(-appends.size());
                bytes.addAndGet(-added);
                if (e instanceof RuntimeException runtime) {
                    throw runtime;
                }
                Thread.currentThread().interrupt();
                throw new OutboxException("interrupted before the event was queued; not appended", e);
            }
        }
        await(pending, "the event");
        metrics.appends.increment(appends.size());
        long[] seqs = new long[appends.size()];
        for (int i = 0; i < seqs.length; i++) {
            seqs[i] = pending.events().get(i).seq();
        }
        return seqs;
    }

    private void checkUsable() {
        String reason = failure.get();
        if (reason != null) {
            throw new OutboxException("spool " + name + " FAILED: " + reason + "; not appended");
        }
        if (closed.get()) {
            throw new OutboxException("spool " + name + " is closed");
        }
    }

    /** A caller's mistake is refused here, before it could fail the writer's whole batch. */
    private void checkFamilies(java.util.List<StateChange> changes) {
        for (StateChange change : changes) {
            if (!store.hasStateFamily(change.columnFamily())) {
                throw new OutboxException("no state column family '" + change.columnFamily() + "' in spool " + name
                        + " (declare it in spool.state.column.families); not written");
            }
        }
    }

    private SpoolFullException refuse(long held, long limit, Priority priority) {
        long refused = rejected.incrementAndGet();
        metrics.appendsRejected.increment();
        if (refused == 1 || refused % 1000 == 0) {
            log.error("Spool {} is full ({} of {} bytes for {} events, {} events waiting): refusing them until the "
                    + "broker takes some ({} refused so far)", name, held, limit, priority, depth.get(), refused);
        }
        return new SpoolFullException("spool " + name + " is full: " + held + " of " + limit + " bytes usable by "
                + priority + " events (spool.max.bytes " + config.maxBytes() + ", spool.reserved.bytes "
                + config.reservedBytes() + ") held by " + depth.get() + " undelivered events; event not appended");
    }

    private void await(SpoolWriter.Pending pending, String what) {
        try {
            pending.durable().get();
        } catch (ExecutionException e) {
            throw new OutboxException("spool " + name + " could not write " + what + ": " + e.getCause().getMessage(),
                    e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OutboxException("interrupted while " + what + " was being written; it may be spooled", e);
        }
    }

    @Override
    public void writeState(java.util.List<StateChange> changes) {
        checkFamilies(changes);
        SpoolWriter.Pending pending = new SpoolWriter.Pending(java.util.List.of(), java.util.List.copyOf(changes),
                new CompletableFuture<>());
        synchronized (appendLock) {
            checkUsable();
            try {
                writer.enqueue(pending);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new OutboxException("interrupted before the state change was queued", e);
            }
        }
        await(pending, "state");
    }

    @Override
    public byte[] stateGet(String columnFamily, byte[] key) {
        return store.stateGet(columnFamily, key);
    }

    @Override
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
                rejected.get(), bytes.get() >= config.maxBytes() - config.reservedBytes(), store.deadLetteredCount());
    }

    /** Bytes held, counted against {@code spool.max.bytes}. */
    public long bytes() {
        return bytes.get();
    }

    @Override
    public boolean flush(Duration timeout) {
        relay.wake();
        try {
            // a failed spool may have no relay left: do not wait for it
            relay.awaitProgress(() -> depth.get() == 0 || !relayThread.isAlive(), timeout);
            return depth.get() == 0;
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
        // under the append lock: no append can be between its closed check and its enqueue
        synchronized (appendLock) {
            if (!closed.compareAndSet(false, true)) {
                return;
            }
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
        if (relayThread.isAlive() || writerThread.isAlive()) {
            // closing RocksDB under a running thread could crash the JVM: leave it to the process's exit
            log.error("Spool {} closed without releasing its store: thread(s) {} did not stop", name,
                    java.util.stream.Stream.of(relayThread, writerThread).filter(Thread::isAlive)
                            .map(Thread::getName).toList());
        } else {
            store.close();
            lock.close();
        }
        log.info("Spool {} closed: {} event(s) left spooled", name, depth.get());
        if (first != null) {
            throw first;
        }
    }
}
