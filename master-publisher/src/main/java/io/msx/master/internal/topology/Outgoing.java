package io.msx.master.internal.topology;

/**
 * A record value the master's processors forward to its one sink, with the topic it goes to: instructions to the
 * per-target topics, results, dead letters, internal records. The sink's {@code TopicNameExtractor} reads
 * {@link #topic()}; only {@link #value()} is written.
 *
 * @param topic where it is written
 * @param value its bytes (Confluent wire format, or JSON for the master's internal records)
 */
public record Outgoing(String topic, byte[] value) {
}
