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
 * fails the task: under {@code exactly_once_v2} the transaction cannot commit without it (skipping was measured to
 * leave the producer in an error state, and the task failing anyway). Before that, the refusal is logged with topic,
 * key and reason, counted in {@code msx.master.records.refused}, and the topic's settings are forgotten: the command
 * is read again, checked against the topic's actual {@code max.message.bytes}, and rejected with the reason. The
 * master checks every record against those settings before it writes, so this happens only when a topic was changed
 * behind its back since it last read them.
 */
public final class RefusedRecordHandler implements ProductionExceptionHandler {

    /** Streams config key carrying the {@link MasterMetrics} instance. */
    public static final String METRICS_CONFIG = "msx.master.metrics";
    /** Streams config key carrying the {@link io.msx.master.internal.TopicAdmin}. */
    public static final String ADMIN_CONFIG = "msx.master.topic.admin";
    private static final Logger log = LoggerFactory.getLogger(RefusedRecordHandler.class);

    private MasterMetrics metrics;
    private io.msx.master.internal.TopicAdmin admin;

    @Override
    public void configure(Map<String, ?> configs) {
        Object m = configs.get(METRICS_CONFIG);
        metrics = m instanceof MasterMetrics mm ? mm : null;
        Object a = configs.get(ADMIN_CONFIG);
        admin = a instanceof io.msx.master.internal.TopicAdmin ta ? ta : null;
    }

    @Override
    public ProductionExceptionHandlerResponse handle(ErrorHandlerContext context, ProducerRecord<byte[], byte[]> record,
                                                     Exception exception) {
        if (exception instanceof RetriableException) {
            return ProductionExceptionHandlerResponse.RETRY;
        }
        log.error("Kafka refused a record for {} (key {}, {} bytes); the command is read again and checked against the "
                + "topic's settings: {}", record.topic(),
                record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8),
                record.value() == null ? 0 : record.value().length, exception.toString());
        if (metrics != null) {
            metrics.recordRefused();
        }
        if (admin != null) {
            admin.forgetSettings(record.topic());
        }
        return ProductionExceptionHandlerResponse.FAIL;
    }
}
