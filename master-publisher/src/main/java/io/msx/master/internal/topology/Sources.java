package io.msx.master.internal.topology;

import io.msx.schemas.DeadLetters;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

import java.util.Optional;

/** Where the record a processor is handling came from, and its dead letter. */
final class Sources {

    private Sources() {
    }

    static String topic(ProcessorContext<?, ?> context) {
        return context.recordMetadata().map(RecordMetadata::topic).orElse("?");
    }

    static int partition(ProcessorContext<?, ?> context) {
        return context.recordMetadata().map(RecordMetadata::partition).orElse(-1);
    }

    static long offset(ProcessorContext<?, ?> context) {
        return context.recordMetadata().map(RecordMetadata::offset).orElse(-1L);
    }

    /** {@code topic-partition@offset}, for logs. */
    static String where(ProcessorContext<?, ?> context) {
        return topic(context) + "-" + partition(context) + "@" + offset(context);
    }

    /** The dead letter of the record being handled ({@link DeadLetters}: bounded, with the reason in headers). */
    static Record<byte[], Outgoing> deadLetter(ProcessorContext<?, ?> context, Record<byte[], byte[]> record,
                                               String reason) {
        ConsumerRecord<byte[], byte[]> original = new ConsumerRecord<>(topic(context), partition(context),
                offset(context), record.timestamp(), TimestampType.CREATE_TIME, -1, -1, record.key(),
                record.value(), record.headers(), Optional.empty());
        ProducerRecord<byte[], byte[]> letter = DeadLetters.of(original, reason);
        return new Record<>(letter.key(), new Outgoing(letter.topic(), letter.value()), record.timestamp(),
                letter.headers());
    }
}
