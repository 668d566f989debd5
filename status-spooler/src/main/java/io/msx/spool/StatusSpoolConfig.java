package io.msx.spool;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/** Configuration of a {@link StatusSpool}; every key defined once in {@link #CONFIG_DEF}. */
public final class StatusSpoolConfig extends AbstractConfig {

    public static final String SPOOL_DIR_CONFIG = "spool.dir";
    public static final String SPOOL_MAX_BYTES_CONFIG = "spool.max.bytes";
    public static final String SPOOL_RESERVED_BYTES_CONFIG = "spool.reserved.bytes";
    public static final String SPOOL_APPEND_QUEUE_SIZE_CONFIG = "spool.append.queue.size";
    public static final String SPOOL_RELAY_BATCH_SIZE_CONFIG = "spool.relay.batch.size";
    public static final String SPOOL_DELIVERY_TIMEOUT_MS_CONFIG = "spool.delivery.timeout.ms";
    public static final String SPOOL_RETRY_BACKOFF_MAX_MS_CONFIG = "spool.retry.backoff.max.ms";
    public static final String SPOOL_STATE_COLUMN_FAMILIES_CONFIG = "spool.state.column.families";
    public static final String SPOOL_DEAD_LETTER_MAX_BYTES_CONFIG = "spool.dead.letter.max.bytes";
    public static final String SPOOL_DEAD_LETTER_VALUE_MAX_BYTES_CONFIG = "spool.dead.letter.value.max.bytes";

    public static final ConfigDef CONFIG_DEF = new ConfigDef()
            .define(SPOOL_DIR_CONFIG, ConfigDef.Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(),
                    ConfigDef.Importance.HIGH, "Directory of the spool's RocksDB store; one process at a time.")
            .define(SPOOL_MAX_BYTES_CONFIG, ConfigDef.Type.LONG, 256L * 1024 * 1024, ConfigDef.Range.atLeast(1024),
                    ConfigDef.Importance.HIGH, "Bytes of spooled events (keys and values) at most; appends beyond "
                            + "fail with SpoolFullException.")
            .define(SPOOL_RESERVED_BYTES_CONFIG, ConfigDef.Type.LONG, 4L * 1024 * 1024, ConfigDef.Range.atLeast(0),
                    ConfigDef.Importance.MEDIUM, "Part of spool.max.bytes (at most half of it) kept for RESERVED "
                            + "appends: outcomes of runs already started and the check-ins that report the spool "
                            + "full. NORMAL appends are refused once the spool holds spool.max.bytes minus this.")
            .define(SPOOL_APPEND_QUEUE_SIZE_CONFIG, ConfigDef.Type.INT, 10_000, ConfigDef.Range.between(1, 1_000_000),
                    ConfigDef.Importance.LOW, "Appends waiting for the writer thread at most; more block the caller.")
            .define(SPOOL_RELAY_BATCH_SIZE_CONFIG, ConfigDef.Type.INT, 1000, ConfigDef.Range.between(1, 100_000),
                    ConfigDef.Importance.LOW, "Events the relay sends before it waits for Kafka's acknowledgements.")
            .define(SPOOL_DELIVERY_TIMEOUT_MS_CONFIG, ConfigDef.Type.INT, 30_000, ConfigDef.Range.atLeast(1000),
                    ConfigDef.Importance.MEDIUM, "How long one send attempt may take before the relay backs off and "
                            + "retries it (the events stay spooled).")
            .define(SPOOL_RETRY_BACKOFF_MAX_MS_CONFIG, ConfigDef.Type.INT, 5_000, ConfigDef.Range.atLeast(10),
                    ConfigDef.Importance.LOW, "Longest pause between failed send attempts (doubling from 100 ms, or "
                            + "from this when smaller, with up to 20% jitter: io.msx.RetryPolicy).")
            .define(SPOOL_STATE_COLUMN_FAMILIES_CONFIG, ConfigDef.Type.LIST, "", ConfigDef.Importance.LOW,
                    "Column families the owner keeps its own state in, written atomically with events. "
                            + "default, events and dead are the spool's own.")
            .define(SPOOL_DEAD_LETTER_MAX_BYTES_CONFIG, ConfigDef.Type.LONG, 16L * 1024 * 1024,
                    ConfigDef.Range.atLeast(1024), ConfigDef.Importance.LOW, "Bytes of the local dead-letter store "
                            + "(events Kafka refused for good) at most; beyond that its oldest entries are evicted, "
                            + "counted in msx.spool.dead.letters.evicted and logged. The newest is always kept.")
            .define(SPOOL_DEAD_LETTER_VALUE_MAX_BYTES_CONFIG, ConfigDef.Type.INT, 64 * 1024,
                    ConfigDef.Range.between(0, 1024 * 1024), ConfigDef.Importance.LOW, "Bytes of a dead-lettered "
                            + "event's value kept in the dead-letter store at most (a prefix; its original size is "
                            + "kept too).");

    public StatusSpoolConfig(Map<String, ?> values) {
        super(CONFIG_DEF, values, false);
    }

    public Path dir() {
        return Path.of(getString(SPOOL_DIR_CONFIG));
    }

    public long maxBytes() {
        return getLong(SPOOL_MAX_BYTES_CONFIG);
    }

    /** The reserve in force: {@code spool.reserved.bytes}, at most half of {@code spool.max.bytes}. */
    public long reservedBytes() {
        return Math.min(getLong(SPOOL_RESERVED_BYTES_CONFIG), maxBytes() / 2);
    }

    public int appendQueueSize() {
        return getInt(SPOOL_APPEND_QUEUE_SIZE_CONFIG);
    }

    public int relayBatchSize() {
        return getInt(SPOOL_RELAY_BATCH_SIZE_CONFIG);
    }

    public Duration deliveryTimeout() {
        return Duration.ofMillis(getInt(SPOOL_DELIVERY_TIMEOUT_MS_CONFIG));
    }

    public java.util.List<String> stateColumnFamilies() {
        return getList(SPOOL_STATE_COLUMN_FAMILIES_CONFIG);
    }

    public long deadLetterMaxBytes() {
        return getLong(SPOOL_DEAD_LETTER_MAX_BYTES_CONFIG);
    }

    public int deadLetterValueMaxBytes() {
        return getInt(SPOOL_DEAD_LETTER_VALUE_MAX_BYTES_CONFIG);
    }

    /** The relay's back-off: doubling from 100 ms (or the maximum, when smaller) up to the maximum. */
    public io.msx.RetryPolicy retryPolicy() {
        Duration max = retryBackoffMax();
        Duration initial = Duration.ofMillis(100);
        return new io.msx.RetryPolicy(initial.compareTo(max) > 0 ? max : initial, max);
    }

    public Duration retryBackoffMax() {
        return Duration.ofMillis(getInt(SPOOL_RETRY_BACKOFF_MAX_MS_CONFIG));
    }
}
