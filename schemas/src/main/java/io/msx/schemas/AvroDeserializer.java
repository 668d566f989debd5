package io.msx.schemas;

import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Kafka {@link Deserializer} reading {@code T} from the Confluent wire format. Bad bytes raise Kafka's
 * {@link SerializationException} (the consumer then reports partition and offset in a
 * {@code RecordDeserializationException}) with the {@link WireFormatException} as cause. Consumer loops that must
 * dead-letter bad records read bytes and call {@link AvroCodec#decode(String, int, long, byte[])} themselves.
 */
public final class AvroDeserializer<T extends SpecificRecord> implements Deserializer<T> {

    private final AvroCodec<T> codec;

    public AvroDeserializer(AvroCodec<T> codec) {
        this.codec = codec;
    }

    @Override
    public T deserialize(String topic, byte[] data) {
        try {
            return codec.decode(topic, data);
        } catch (WireFormatException e) {
            throw new SerializationException(e.getMessage(), e);
        }
    }
}
