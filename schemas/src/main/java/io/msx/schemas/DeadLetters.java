package io.msx.schemas;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Builds dead-letter records, the same for every msx reader (master and agents): the original key, value and
 * headers on {@code <topic>.dlq}, with headers saying where they came from and why they were refused.
 *
 * <p>A dead letter must always be writable, or the reader that refuses a record would be stuck on it. So a value over
 * {@link #MAX_VALUE_BYTES} (records reach a topic compressed, and can be far larger once read) is kept only up to that
 * size, marked with {@link #ORIGINAL_BYTES_HEADER}; the original stays in its topic at the partition and offset named,
 * for as long as that topic's retention keeps it. Original headers over {@link #MAX_HEADER_BYTES} in all are dropped
 * the same way. Stateless and thread-safe.
 */
public final class DeadLetters {

    public static final String REASON_HEADER = "msx.dlq.reason";
    public static final String TOPIC_HEADER = "msx.dlq.topic";
    public static final String PARTITION_HEADER = "msx.dlq.partition";
    public static final String OFFSET_HEADER = "msx.dlq.offset";
    /** Present when the value was cut: the original value's size in bytes. */
    public static final String ORIGINAL_BYTES_HEADER = "msx.dlq.original.bytes";
    /** Present when the original headers were dropped: their size in bytes. */
    public static final String DROPPED_HEADER_BYTES_HEADER = "msx.dlq.dropped.header.bytes";

    /** Largest value kept in a dead letter: half of a producer's default max.request.size. */
    public static final int MAX_VALUE_BYTES = 512 * 1024;
    public static final int MAX_HEADER_BYTES = 64 * 1024;
    /** Upper bound of the varints framing one header's key and value. */
    static final int HEADER_OVERHEAD_BYTES = 10;
    /** Longest reason kept. */
    public static final int MAX_REASON_CHARS = 2_000;

    private DeadLetters() {
    }

    public static ProducerRecord<byte[], byte[]> of(ConsumerRecord<byte[], byte[]> original, String reason) {
        Header[] originalHeaders = original.headers().toArray();
        // as written on the wire: UTF-8 key, value, and a few bytes of lengths per header
        long headerBytes = Arrays.stream(originalHeaders).mapToLong(h -> h.key().getBytes(StandardCharsets.UTF_8)
                .length + (h.value() == null ? 0 : h.value().length) + HEADER_OVERHEAD_BYTES).sum();
        boolean drop = headerBytes > MAX_HEADER_BYTES;
        RecordHeaders headers = drop ? new RecordHeaders() : new RecordHeaders(originalHeaders);
        if (drop) {
            headers.add(DROPPED_HEADER_BYTES_HEADER, utf8(Long.toString(headerBytes)));
        }
        String why = reason == null ? "refused" : reason;
        headers.add(REASON_HEADER, utf8(why.length() > MAX_REASON_CHARS ? why.substring(0, MAX_REASON_CHARS) + "..."
                : why));
        headers.add(TOPIC_HEADER, utf8(original.topic()));
        headers.add(PARTITION_HEADER, utf8(Integer.toString(original.partition())));
        headers.add(OFFSET_HEADER, utf8(Long.toString(original.offset())));
        byte[] value = original.value();
        if (value != null && value.length > MAX_VALUE_BYTES) {
            headers.add(ORIGINAL_BYTES_HEADER, utf8(Integer.toString(value.length)));
            value = Arrays.copyOf(value, MAX_VALUE_BYTES);
        }
        byte[] key = original.key();
        if (key != null && key.length > MAX_HEADER_BYTES) {
            key = Arrays.copyOf(key, MAX_HEADER_BYTES);
        }
        return new ProducerRecord<>(Topics.deadLetter(original.topic()), null, key, value, headers);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
