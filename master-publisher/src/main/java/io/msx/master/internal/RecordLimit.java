package io.msx.master.internal;

import java.util.Locale;

/**
 * The largest record value the master writes for a command: the target topics' {@code max.message.bytes} (the
 * master's {@code target.topic.max.message.bytes}), or its producer's {@code max.request.size} when that is smaller,
 * less {@link #OVERHEAD_MARGIN_BYTES}. Kafka measures both limits on the whole record batch, not on the value alone,
 * so the margin keeps room for the key (a job id or target name, at most a few hundred bytes), the record headers
 * (none today) and the batch and record framing (about 70 bytes for a batch of one record). A value within this limit
 * is never refused by the broker as too large, so a command that would be refused is rejected with its reason before
 * anything of it is written. Immutable.
 */
public final class RecordLimit {

    /** Kept free of the limit for key, headers and batch overhead. */
    public static final int OVERHEAD_MARGIN_BYTES = 1024;

    private final int maxValueBytes;

    private RecordLimit(int maxValueBytes) {
        if (maxValueBytes < 1) {
            throw new IllegalArgumentException("record limit leaves no room for a value: " + maxValueBytes);
        }
        this.maxValueBytes = maxValueBytes;
    }

    /**
     * @param topicMaxMessageBytes    {@code max.message.bytes} of the topics written to
     * @param producerMaxRequestSize  the producer's {@code max.request.size}
     */
    public static RecordLimit of(int topicMaxMessageBytes, int producerMaxRequestSize) {
        return new RecordLimit(Math.min(topicMaxMessageBytes, producerMaxRequestSize) - OVERHEAD_MARGIN_BYTES);
    }

    /** The largest value allowed, in bytes. */
    public int maxValueBytes() {
        return maxValueBytes;
    }

    /**
     * Why a record value is too large, or null when it fits (a tombstone always fits).
     *
     * @param what names the record for an operator, e.g. {@code instruction JOB_INSERT for T1}
     */
    public String check(String what, String topic, byte[] value) {
        if (value == null || value.length <= maxValueBytes) {
            return null;
        }
        return what + " would be " + bytes(value.length) + " bytes, over the " + bytes(maxValueBytes)
                + "-byte record limit of " + topic;
    }

    private static String bytes(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    @Override
    public String toString() {
        return bytes(maxValueBytes) + " bytes per record value";
    }
}
