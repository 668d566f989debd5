package io.msx.schemas;

import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka {@link Serializer} writing {@code T} in the Confluent wire format through an {@link AvroCodec}.
 * Construct it with a codec; the no-argument Kafka configuration path is not supported because the record type
 * must be known.
 */
public final class AvroSerializer<T extends SpecificRecord> implements Serializer<T> {

    private final AvroCodec<T> codec;

    public AvroSerializer(AvroCodec<T> codec) {
        this.codec = codec;
    }

    @Override
    public byte[] serialize(String topic, T data) {
        return data == null ? null : codec.encode(data);
    }
}
