package io.msx.spool;

import java.time.Duration;
import java.util.Optional;

/**
 * A snapshot of an outbox.
 *
 * @param depth           events appended but not yet acknowledged by Kafka
 * @param oldestAge       how long the oldest of them has waited; empty when none waits
 * @param lastSeq         the highest sequence number assigned, or 0 before the first append
 * @param rejectedAppends appends refused because the outbox was full, since it opened
 * @param full            true while {@link StatusOutbox.Priority#NORMAL} appends are refused (only the reserve is left)
 * @param deadLettered    events Kafka refused for good, moved to the local dead-letter store, since it was created
 */
public record OutboxStats(long depth, Optional<Duration> oldestAge, long lastSeq, long rejectedAppends, boolean full,
                          long deadLettered) {
}
