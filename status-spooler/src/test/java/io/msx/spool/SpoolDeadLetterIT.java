package io.msx.spool;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue: one status event too large for Kafka blocked every event after it forever. Against a real broker with
 * default limits (max.request.size and max.message.bytes of 1 MiB), a 2 MiB event between small ones ends in the
 * spool's local dead-letter store, and every small event is delivered once, in order.
 */
@ExtendWith(LocalStackExtension.class)
class SpoolDeadLetterIT {

    private static final int MIB = 1024 * 1024;

    @TempDir
    Path dir;

    @Test
    void shouldDeadLetterAnEventTooLargeForKafkaAndDeliverEveryEventAfterItOnceInOrder(LocalStack stack)
            throws Exception {
        String topic = LocalStack.uniqueTopicPrefix() + "status";
        SpoolTopic.create(stack.adminClientProperties(), topic);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        StatusSpool spool = StatusSpool.open("T1", new StatusSpoolConfig(Map.of(
                StatusSpoolConfig.SPOOL_DIR_CONFIG, dir.toString(),
                StatusSpoolConfig.SPOOL_DELIVERY_TIMEOUT_MS_CONFIG, 5000)),
                stack.adminClientProperties(), topic, Clock.systemUTC(), meters);
        List<String> expected = new ArrayList<>();
        long bigSeq;
        try {
            IntStream.range(0, 10).forEach(i -> spool.append("T1", seq -> SpoolTopic.value("before-" + i, seq)));
            bigSeq = spool.append("T1", seq -> new byte[2 * MIB]);
            IntStream.range(0, 10).forEach(i -> spool.append("T1", seq -> SpoolTopic.value("after-" + i, seq)));
            IntStream.range(0, 10).forEach(i -> expected.add("before-" + i));
            IntStream.range(0, 10).forEach(i -> expected.add("after-" + i));

            await().atMost(Duration.ofSeconds(15)).alias("spool drained past the large event")
                    .until(() -> spool.stats().depth() == 0);
            assertThat(spool.stats().deadLettered()).isEqualTo(1);
            assertThat(spool.deadLetters(10)).singleElement().satisfies(dead -> {
                assertThat(dead.seq()).isEqualTo(bigSeq);
                assertThat(dead.valueSize()).isEqualTo(2 * MIB);
                assertThat(dead.truncated()).isTrue();
                assertThat(dead.reason()).contains("RecordTooLargeException");
            });
            assertThat(meters.get("msx.spool.dead.lettered").counter().count()).isEqualTo(1);
            assertThat(spool.failure()).isEmpty();
        } finally {
            spool.close(Duration.ofSeconds(5));
        }

        List<SpoolTopic.Delivered> delivered = SpoolTopic.readAll(stack.adminClientProperties(), topic, expected.size());
        assertThat(delivered).as("each delivered once, in order").extracting(SpoolTopic.Delivered::id)
                .containsExactlyElementsOf(expected);
        assertThat(delivered).extracting(SpoolTopic.Delivered::seq).doesNotContain(bigSeq).isSorted();
    }
}
