package io.msx.schemas;

import org.apache.avro.SystemLimitException;

import java.lang.reflect.Method;

/**
 * Bounds on decoding untrusted bytes: the largest record value read at all (checked before decoding), and Avro's own
 * limits on one string, one bytes value and the items of one array or map (its {@code org.apache.avro.limits.*}
 * system properties, which Avro reads JVM-wide). With them, a record claiming an array of 2^31 items is refused
 * before anything is allocated for it.
 *
 * @param maxRecordBytes     largest value decoded; larger ones are refused unread
 * @param maxStringBytes     largest string in a record
 * @param maxBytesLength     largest bytes field in a record
 * @param maxCollectionItems most items in one array or map
 */
public record DecodeLimits(int maxRecordBytes, int maxStringBytes, int maxBytesLength, int maxCollectionItems) {

    /** Kafka's default {@code max.message.bytes} (1 MiB plus the batch overhead). */
    public static final int DEFAULT_MAX_RECORD_BYTES = 1_048_588;
    public static final int DEFAULT_MAX_STRING_BYTES = 1_048_576;
    public static final int DEFAULT_MAX_BYTES_LENGTH = 1_048_576;
    public static final int DEFAULT_MAX_COLLECTION_ITEMS = 100_000;

    public static final DecodeLimits DEFAULTS = new DecodeLimits(DEFAULT_MAX_RECORD_BYTES, DEFAULT_MAX_STRING_BYTES,
            DEFAULT_MAX_BYTES_LENGTH, DEFAULT_MAX_COLLECTION_ITEMS);

    public DecodeLimits {
        positive(maxRecordBytes, "maxRecordBytes");
        positive(maxStringBytes, "maxStringBytes");
        positive(maxBytesLength, "maxBytesLength");
        positive(maxCollectionItems, "maxCollectionItems");
    }

    /**
     * Makes these Avro's limits in this JVM. Avro reads its system properties once, when its limit class loads; a
     * later change is applied by asking it to read them again.
     *
     * @throws IllegalStateException when Avro does not take them (a different Avro version)
     */
    public synchronized void applyToAvro() {
        System.setProperty(SystemLimitException.MAX_STRING_LENGTH_PROPERTY, Integer.toString(maxStringBytes));
        System.setProperty(SystemLimitException.MAX_BYTES_LENGTH_PROPERTY, Integer.toString(maxBytesLength));
        System.setProperty(SystemLimitException.MAX_COLLECTION_LENGTH_PROPERTY,
                Integer.toString(maxCollectionItems));
        if (!inForce()) {
            try {
                Method reset = SystemLimitException.class.getDeclaredMethod("resetLimits");
                reset.setAccessible(true);
                reset.invoke(null);
            } catch (ReflectiveOperationException | RuntimeException e) {
                throw new IllegalStateException("cannot apply Avro decoding limits: " + e, e);
            }
        }
        if (!inForce()) {
            throw new IllegalStateException("Avro did not take the decoding limits " + this);
        }
    }

    /** True when Avro enforces exactly these limits now. */
    public boolean inForce() {
        return exactly(() -> SystemLimitException.checkMaxStringLength(maxStringBytes),
                () -> SystemLimitException.checkMaxStringLength(maxStringBytes + 1L))
                && exactly(() -> SystemLimitException.checkMaxBytesLength(maxBytesLength),
                () -> SystemLimitException.checkMaxBytesLength(maxBytesLength + 1L))
                && exactly(() -> SystemLimitException.checkMaxCollectionLength(maxCollectionItems),
                () -> SystemLimitException.checkMaxCollectionLength(maxCollectionItems + 1L));
    }

    private static boolean exactly(Runnable atLimit, Runnable overLimit) {
        try {
            atLimit.run();
        } catch (SystemLimitException e) {
            return false;
        }
        try {
            overLimit.run();
            return false;
        } catch (SystemLimitException e) {
            return true;
        }
    }

    private static void positive(int value, String name) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be at least 1: " + value);
        }
    }
}
