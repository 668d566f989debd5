package io.msx.master.internal;

import io.msx.schemas.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

import java.nio.charset.StandardCharsets;

/**
 * Builds dead-letter records: the original key and value bytes, unchanged, with headers saying where they came from
 * and why they were refused.
 */
public final class DeadLetters {

    public static final String REASON_HEADER = "msx.dlq.reason";
    public static final String TOPIC_HEADER = "msx.dlq.topic";
    public static final String PARTITION_HEADER = "msx.dlq.partition";
    public static final String OFFSET_HEADER = "msx.dlq.offset";

    private DeadLetters() {
    }

    public static ProducerRecord<byte[], byte[]> of(ConsumerRecord<byte[], byte[]> original, String reason) {
        RecordHeaders headers = new RecordHeaders(original.headers().toArray());
        headers.add(REASON_HEADER, utf8(reason));
        headers.add(TOPIC_HEADER, utf8(original.topic()));
        headers.add(PARTITION_HEADER, utf8(Integer.toString(original.partition())));
        headers.add(OFFSET_HEADER, utf8(Long.toString(original.offset())));
        return new ProducerRecord<>(Topics.deadLetter(original.topic()), null, original.key(), original.value(),
                headers);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
