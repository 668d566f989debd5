package io.msx.schemas;

import io.msx.MsxException;

/**
 * Bytes that are not a valid Confluent wire-format Avro record for the expected type: wrong magic byte, truncated,
 * unknown schema id, or an Avro body that does not decode. Names where the bytes came from
 * ({@code topic-partition@offset}) so they can be found and dead-lettered. Not retriable.
 */
public class WireFormatException extends MsxException {

    private final String topic;
    private final int partition;
    private final long offset;

    public WireFormatException(String reason, String topic, int partition, long offset, Throwable cause) {
        super(describe(topic, partition, offset) + ": " + reason, cause);
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
    }

    public String topic() {
        return topic;
    }

    /** Partition, or -1 when decoded outside a consumer. */
    public int partition() {
        return partition;
    }

    /** Offset, or -1 when decoded outside a consumer. */
    public long offset() {
        return offset;
    }

    /** The reason without the location prefix, for dead-letter headers. */
    public String reason() {
        String message = getMessage();
        int colon = message.indexOf(": ");
        return colon < 0 ? message : message.substring(colon + 2);
    }

    static String describe(String topic, int partition, long offset) {
        if (partition < 0) {
            return "record on topic " + topic;
        }
        return "record " + topic + "-" + partition + "@" + offset;
    }
}
