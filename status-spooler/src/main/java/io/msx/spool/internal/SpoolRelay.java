package io.msx.spool.internal;

import io.msx.spool.RecordSigner;
import io.msx.RetryPolicy;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InterruptException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The relay thread: sends the oldest spooled events in sequence order through an idempotent {@code acks=all}
 * producer, waits for Kafka's acknowledgements, and deletes the acknowledged prefix. On a failure the unacknowledged
 * events stay spooled and are sent again after a back-off ({@link RetryPolicy}), from the oldest: an idempotent
 * producer never writes a later event of a partition ahead of an earlier failed one, so Kafka receives each event in
 * order, at least once, and the receiver drops repeats by sequence number.
 *
 * <p>One exception: when the oldest failed event was refused for good ({@link SendFailures}), it is moved to the
 * dead-letter store (one synced batch) and the relay goes on with the events after it; later failures of the same
 * round are only retried. Any other exception of the loop is retried with back-off when transient, and otherwise
 * ends the relay: it is handed to {@code onFatal} (the spool becomes FAILED).
 */
public final class SpoolRelay implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(SpoolRelay.class);
    private static final Duration IDLE_WAIT = Duration.ofMillis(500);
    /**
     * After a round that sent less than a whole batch, the relay waits this long before the next: appends arriving
     * one by one are then sent (and deleted) a few at a time rather than one round each, which took CPU and
     * RocksDB writes from the appenders. It delays an event by at most this; a backlog is sent without pause.
     */
    static final Duration LINGER = Duration.ofMillis(5);

    /** Told what left the spool, to release it from the spool's bound. */
    public interface Listener {
        /** A prefix of {@code events} events was acknowledged by Kafka and deleted. */
        void delivered(int events, long bytes);

        /** One event was moved to the dead-letter store. */
        void deadLettered(SpooledEvent event);
    }

    private final SpoolStore store;
    private final Producer<byte[], byte[]> producer;
    private final String topic;
    private final int batchSize;
    private final RetryPolicy retry;
    private final long deadLetterMaxBytes;
    private final int deadLetterValueMaxBytes;
    private final SpoolMetrics metrics;
    private final Clock clock;
    private final Listener listener;
    private final Consumer<RuntimeException> onFatal;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final Condition progress = lock.newCondition();
    private boolean pending;
    private final RecordSigner signer;
    private volatile boolean stopping;
    private volatile long oldestAppendedAt = -1;
    private long failingSince = -1;
    private boolean lastRoundFull;

    /** How one round went. */
    private enum Round { IDLE, ALL_SENT, PROGRESS, NO_PROGRESS }

    public SpoolRelay(SpoolStore store, Producer<byte[], byte[]> producer, String topic, int batchSize,
                      RetryPolicy retry, long deadLetterMaxBytes, int deadLetterValueMaxBytes, SpoolMetrics metrics,
                      Clock clock, Listener listener, Consumer<RuntimeException> onFatal, RecordSigner signer) {
        this.store = store;
        this.signer = signer;
        this.producer = producer;
        this.topic = topic;
        this.batchSize = batchSize;
        this.retry = retry;
        this.deadLetterMaxBytes = deadLetterMaxBytes;
        this.deadLetterValueMaxBytes = deadLetterValueMaxBytes;
        this.metrics = metrics;
        this.clock = clock;
        this.listener = listener;
        this.onFatal = onFatal;
    }

    @Override
    public void run() {
        RetryPolicy.Backoff backoff = retry.backoff();
        while (!stopping) {
            Round round;
            try {
                round = relayOnce(backoff);
            } catch (RuntimeException e) {
                if (stopping) {
                    break;
                }
                if (!RetryPolicy.isTransient(e)) {
                    onFatal.accept(e);
                    return;
                }
                Duration pause = backoff.next();
                log.warn("Spool relay to {} failed ({}); retrying in {} ms", topic, e.toString(), pause.toMillis());
                pause(pause);
                continue;
            }
            switch (round) {
                case IDLE -> {
                    signalProgress();
                    awaitWork(IDLE_WAIT);
                }
                case ALL_SENT, PROGRESS -> {
                    if (round == Round.ALL_SENT && failingSince >= 0) {
                        log.info("Spool relay to {} recovered after {} ms", topic, clock.millis() - failingSince);
                        failingSince = -1;
                    }
                    backoff.reset();
                    if (round == Round.ALL_SENT && !lastRoundFull) {
                        pause(LINGER);
                    }
                }
                case NO_PROGRESS -> pause(backoff.next());
            }
        }
    }

    /** Sends one batch of the oldest events and removes what left the spool. */
    private Round relayOnce(RetryPolicy.Backoff backoff) {
        List<SpooledEvent> batch = store.oldest(batchSize);
        lastRoundFull = batch.size() == batchSize;
        oldestAppendedAt = batch.isEmpty() ? -1 : batch.get(0).appendedAtMillis();
        if (batch.isEmpty()) {
            return Round.IDLE;
        }
        Throwable[] failures = new Throwable[batch.size()];
        int completed = send(batch, failures);
        int first = deliverFrom(batch, failures, 0, completed);
        if (first == batch.size()) {
            return Round.ALL_SENT;
        }
        Throwable failure = first < completed ? failures[first] : null;
        if (failure != null && SendFailures.decide(failure) == SendFailures.Decision.DEAD_LETTER) {
            deadLetter(batch.get(first), failure);
            // events after it that Kafka took are delivered; from the next failure on, the next round resends
            int next = deliverFrom(batch, failures, first + 1, completed);
            return next == batch.size() ? Round.ALL_SENT : Round.PROGRESS;
        }
        if (stopping) {
            return first > 0 ? Round.PROGRESS : Round.NO_PROGRESS;
        }
        metrics.sendErrors.increment();
        if (failingSince < 0) {
            failingSince = clock.millis();
        }
        logFailure(batch.get(first), failure, backoff.failures() + 1);
        return first > 0 ? Round.PROGRESS : Round.NO_PROGRESS;
    }

    /**
     * Sends the batch in order and waits for the acknowledgements. {@code failures[i]} is set for each failed event
     * among the first returned number of events, whose sends completed; the ones after were not sent or not answered.
     */
    private int send(List<SpooledEvent> batch, Throwable[] failures) {
        Future<?>[] futures = new Future<?>[batch.size()];
        int sent = 0;
        try {
            for (SpooledEvent event : batch) {
                Future<RecordMetadata> future;
                try {
                    ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, event.key(), event.value());
                    signer.sign(event.key(), event.value(), record.headers());
                    future = producer.send(record);
                } catch (InterruptException e) {
                    throw e;
                } catch (KafkaException e) {
                    // refused before it was queued (e.g. by the serializer): an outcome of this event
                    future = CompletableFuture.failedFuture(e);
                }
                futures[sent++] = future;
                if (future.isDone() && failedRetriably(future)) {
                    // refused at once for a reason that may pass: sending later events now could put them ahead
                    break;
                }
            }
            producer.flush();
        } catch (InterruptException e) {
            Thread.currentThread().interrupt();
            stopping = true;
        }
        int completed = 0;
        for (; completed < sent; completed++) {
            Future<?> future = futures[completed];
            if (!future.isDone()) {
                break;
            }
            try {
                future.get();
            } catch (ExecutionException e) {
                failures[completed] = e.getCause();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stopping = true;
                break;
            }
        }
        return completed;
    }

    private static boolean failedRetriably(Future<?> done) {
        try {
            done.get();
            return false;
        } catch (ExecutionException e) {
            return SendFailures.decide(e.getCause()) != SendFailures.Decision.DEAD_LETTER;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
    }

    /**
     * Deletes the acknowledged events from {@code from} on, up to the first failed or unanswered one, and returns
     * that one's index ({@code batch.size()} when all were acknowledged).
     */
    private int deliverFrom(List<SpooledEvent> batch, Throwable[] failures, int from, int completed) {
        int end = from;
        long bytes = 0;
        while (end < completed && failures[end] == null) {
            bytes += batch.get(end).size();
            end++;
        }
        if (end > from) {
            store.deleteRange(batch.get(from).seq(), batch.get(end - 1).seq() + 1);
            listener.delivered(end - from, bytes);
            metrics.sent.increment(end - from);
            signalProgress();
        }
        return end;
    }

    private void deadLetter(SpooledEvent event, Throwable failure) {
        String reason = failure.getClass().getName() + ": " + failure.getMessage();
        SpoolStore.DeadLettering done = store.deadLetter(event, reason, clock.millis(), deadLetterValueMaxBytes,
                deadLetterMaxBytes);
        listener.deadLettered(event);
        metrics.deadLettered.increment();
        log.error("Spool relay: Kafka refused event seq {} ({} bytes, key {}) for good: {}; moved it to the local "
                        + "dead-letter store ({} dead-lettered so far) and goes on with the next event",
                event.seq(), event.value().length, new String(event.key(), java.nio.charset.StandardCharsets.UTF_8),
                reason, done.totalDeadLettered());
        if (done.evicted() > 0) {
            metrics.deadLettersEvicted.increment(done.evicted());
            log.warn("Spool dead-letter store over spool.dead.letter.max.bytes ({}): evicted its {} oldest dead "
                    + "letter(s), {} bytes", deadLetterMaxBytes, done.evicted(), done.evictedBytes());
        }
        signalProgress();
    }

    private void logFailure(SpooledEvent event, Throwable failure, int attempt) {
        String cause = failure == null ? "not acknowledged in time" : failure.toString();
        if (failure != null && attempt == 1
                && SendFailures.decide(failure) == SendFailures.Decision.RETRY_ALERT) {
            log.error("Spool relay cannot deliver to {} from seq {}: {}; events stay spooled, retrying until this is "
                    + "fixed", topic, event.seq(), cause);
        } else {
            log.warn("Spool relay cannot deliver to {} from seq {} (attempt {}: {}); events stay spooled, retrying",
                    topic, event.seq(), attempt, cause);
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

    /** Waits for new work, at most {@code max}. */
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

    /** A back-off: new appends do not cut it short, only {@link #stop()} does. */
    private void pause(Duration pause) {
        lock.lock();
        try {
            long nanos = pause.toNanos();
            while (!stopping && nanos > 0) {
                nanos = work.awaitNanos(nanos);
            }
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
