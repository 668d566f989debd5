package io.msx;

import org.apache.kafka.common.errors.RetriableException;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The one retry policy of every msx loop: transient failures (see {@link #isTransient}) are retried after a back-off
 * that doubles from {@code initial} up to {@code max}, with up to 20% random jitter so that many agents coming back
 * after a broker outage do not retry in step. Anything else is not retried: the loop's component fails.
 *
 * <p>Immutable and thread-safe; each loop keeps its own {@link Backoff}.
 */
public record RetryPolicy(Duration initial, Duration max) {

    /** 100 ms doubling to 5 s: the default of every loop. */
    public static final RetryPolicy DEFAULT = new RetryPolicy(Duration.ofMillis(100), Duration.ofSeconds(5));

    public RetryPolicy {
        if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("retry back-off needs 0 < initial <= max, got " + initial + " and "
                    + max);
        }
    }

    /**
     * True for failures that pass by themselves: Kafka's retriable errors (timeouts, a broker that is not available,
     * not enough replicas, ...), {@link MsxRetriableException}s and anything marked {@link TransientFailure}, or
     * caused by one of those.
     */
    public static boolean isTransient(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof RetriableException || t instanceof TransientFailure
                    || t instanceof MsxRetriableException) {
                return true;
            }
        }
        return false;
    }

    /** A fresh back-off state for one loop. */
    public Backoff backoff() {
        return new Backoff(this);
    }

    /** One loop's back-off: {@link #next()} after each failure, {@link #reset()} after a success. Not thread-safe. */
    public static final class Backoff {
        private final RetryPolicy policy;
        private Duration current;
        private int failures;

        private Backoff(RetryPolicy policy) {
            this.policy = policy;
            this.current = policy.initial;
        }

        /** The pause before the next attempt (jittered), doubling the following one up to the maximum. */
        public Duration next() {
            failures++;
            Duration pause = current;
            current = current.multipliedBy(2).compareTo(policy.max) > 0 ? policy.max : current.multipliedBy(2);
            long jitter = (long) (pause.toMillis() * 0.2 * ThreadLocalRandom.current().nextDouble());
            return pause.minusMillis(jitter);
        }

        /** Failures since the last success. */
        public int failures() {
            return failures;
        }

        public void reset() {
            failures = 0;
            current = policy.initial;
        }
    }
}
