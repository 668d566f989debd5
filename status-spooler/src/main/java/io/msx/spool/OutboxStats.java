package io.msx.spool;

import java.time.Duration;
import java.util.Optional;

/**
 * A snapshot of an outbox.
 *
 * @param depth events appended but not yet acknowledged by Kafka
 * @param oldestAge how long the oldest of them has waited; empty when none waits
 * @param lastSeq the highest sequence number assigned, or 0 before the first append
 * @param rejectedAppends appends refused because the outbox was full, since it opened
 */
public record OutboxStats(long depth, Optional<Duration> oldestAge, long lastSeq, long rejectedAppends) {
}
