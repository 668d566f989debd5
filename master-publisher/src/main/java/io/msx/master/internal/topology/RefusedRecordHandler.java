package io.msx.master.internal.topology;

import io.msx.master.internal.MasterMetrics;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * What the master does when Kafka refuses a record it writes. A transient error is retried. A record refused for good
 * (too large for a topic created elsewhere with a smaller {@code max.message.bytes}, an invalid record) is skipped
 * with an ERROR naming topic, key and reason, and counted in {@code msx.master.records.refused}: failing instead would
 * fail the task on the same command after every restart, and stop the master. The master's own record limit
 * ({@code target.topic.max.message.bytes}) rejects commands whose records would be too large before anything is
 * written, so this happens only when a topic's settings were changed behind the master's back.
 */
public final class RefusedRecordHandler implements ProductionExceptionHandler {

    /** Streams config key carrying the {@link MasterMetrics} instance. */
    public static final String METRICS_CONFIG = "msx.master.metrics";
    private static final Logger log = LoggerFactory.getLogger(RefusedRecordHandler.class);

    private MasterMetrics metrics;

    @Override
    public void configure(Map<String, ?> configs) {
        Object m = configs.get(METRICS_CONFIG);
        metrics = m instanceof MasterMetrics mm ? mm : null;
    }

    @Override
    public ProductionExceptionHandlerResponse handle(ErrorHandlerContext context, ProducerRecord<byte[], byte[]> record,
                                                     Exception exception) {
        if (exception instanceof RetriableException) {
            return ProductionExceptionHandlerResponse.RETRY;
        }
        log.error("Kafka refused a record for {} (key {}, {} bytes), skipped: {}", record.topic(),
                record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8),
                record.value() == null ? 0 : record.value().length, exception.toString());
        if (metrics != null) {
            metrics.recordRefused();
        }
        return ProductionExceptionHandlerResponse.CONTINUE;
    }
}
