package io.msx.spool.internal;

import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InterruptException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The relay thread: sends the oldest spooled events in sequence order through an idempotent {@code acks=all}
 * producer, waits for Kafka's acknowledgements, and deletes the acknowledged prefix. On any failure the unacknowledged
 * events stay spooled and are sent again after a back-off, from the oldest: an idempotent producer never writes a
 * later event of a partition ahead of an earlier failed one, so Kafka receives each event in order, at least once,
 * and the receiver drops repeats by sequence number.
 */
public final class SpoolRelay implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(SpoolRelay.class);
    private static final Duration IDLE_WAIT = Duration.ofMillis(500);
    private static final Duration FIRST_BACKOFF = Duration.ofMillis(100);

    private final SpoolStore store;
    private final Producer<byte[], byte[]> producer;
    private final String topic;
    private final int batchSize;
    private final Duration maxBackoff;
    private final SpoolMetrics metrics;
    private final Clock clock;
    private final Delivered onDelivered;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final Condition progress = lock.newCondition();
    private boolean pending;
    private volatile boolean stopping;
    private volatile long oldestAppendedAt = -1;
    private long failingSince = -1;

    /** Told the size of each delivered prefix, to release it from the spool's bound. */
    @FunctionalInterface
    public interface Delivered {
        void delivered(int events, long bytes);
    }

    public SpoolRelay(SpoolStore store, Producer<byte[], byte[]> producer, String topic, int batchSize,
                      Duration maxBackoff, SpoolMetrics metrics, Clock clock, Delivered onDelivered) {
        this.store = store;
        this.producer = producer;
        this.topic = topic;
        this.batchSize = batchSize;
        this.maxBackoff = maxBackoff;
        this.metrics = metrics;
        this.clock = clock;
        this.onDelivered = onDelivered;
    }

    @Override
    public void run() {
        Duration backoff = FIRST_BACKOFF;
        while (!stopping) {
            List<SpooledEvent> batch = store.oldest(batchSize);
            oldestAppendedAt = batch.isEmpty() ? -1 : batch.get(0).appendedAtMillis();
            if (batch.isEmpty()) {
                signalProgress();
                awaitWork(IDLE_WAIT);
                continue;
            }
            int delivered = send(batch);
            if (delivered > 0) {
                SpooledEvent last = batch.get(delivered - 1);
                store.deleteRange(batch.get(0).seq(), last.seq() + 1);
                long bytes = 0;
                for (int i = 0; i < delivered; i++) {
                    bytes += batch.get(i).size();
                }
                onDelivered.delivered(delivered, bytes);
                metrics.sent.increment(delivered);
                signalProgress();
            }
            if (delivered < batch.size()) {
                metrics.sendErrors.increment();
                if (failingSince < 0) {
                    failingSince = clock.millis();
                }
                awaitWork(backoff);
                backoff = backoff.multipliedBy(2).compareTo(maxBackoff) > 0 ? maxBackoff : backoff.multipliedBy(2);
            } else {
                if (failingSince >= 0) {
                    log.info("Spool relay to {} recovered after {} ms", topic, clock.millis() - failingSince);
                    failingSince = -1;
                }
                backoff = FIRST_BACKOFF;
            }
        }
    }

    /** Sends a batch and returns how many of its first events Kafka acknowledged. */
    private int send(List<SpooledEvent> batch) {
        List<Future<RecordMetadata>> futures = new ArrayList<>(batch.size());
        try {
            for (SpooledEvent event : batch) {
                futures.add(producer.send(new ProducerRecord<>(topic, event.key(), event.value())));
            }
            producer.flush();
        } catch (InterruptException e) {
            stopping = true;
            Thread.currentThread().interrupt();
        } catch (KafkaException e) {
            logFailure(e);
        }
        int acknowledged = 0;
        for (Future<RecordMetadata> future : futures) {
            if (!future.isDone()) {
                break;
            }
            try {
                future.get();
                acknowledged++;
            } catch (ExecutionException e) {
                logFailure(e.getCause());
                break;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stopping = true;
                break;
            }
        }
        return acknowledged;
    }

    private void logFailure(Throwable cause) {
        if (failingSince < 0) {
            // One line when an outage starts; the events stay spooled and the relay keeps retrying.
            log.warn("Spool relay cannot deliver to {} ({}); events stay spooled, retrying", topic, cause.toString());
        }
    }

    /** Age of the oldest spooled event as last seen by the relay, or null when none. */
    public Duration oldestAge() {
        long at = oldestAppendedAt;
        return at < 0 ? null : Duration.ofMillis(Math.max(0, clock.millis() - at));
    }

    /** New events were written, or someone wants a drain now. */
    public void wake() {
        lock.lock();
        try {
            pending = true;
            work.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void awaitWork(Duration max) {
        lock.lock();
        try {
            long nanos = max.toNanos();
            while (!pending && !stopping && nanos > 0) {
                nanos = work.awaitNanos(nanos);
            }
            pending = false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping = true;
        } finally {
            lock.unlock();
        }
    }

    private void signalProgress() {
        lock.lock();
        try {
            progress.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Waits until {@code done} holds or the timeout passes, re-checking whenever the relay makes progress. */
    public boolean awaitProgress(java.util.function.BooleanSupplier done, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (!done.getAsBoolean()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                progress.awaitNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)));
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    public void stop() {
        stopping = true;
        wake();
    }
}
