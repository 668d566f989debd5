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
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The seed's promise against a real broker: while the broker is unreachable (its connections cut at a TCP proxy),
 * appends keep succeeding into the spool; when it is back, everything arrives, in order, each once after
 * (target, seq) deduplication.
 */
@ExtendWith(LocalStackExtension.class)
class SpoolOutageIT {

    @TempDir
    Path dir;

    @Test
    void shouldDeliverEveryEventInOrderAfterTheBrokerComesBack(LocalStack stack) throws Exception {
        String topic = LocalStack.uniqueTopicPrefix() + "status";
        SpoolTopic.create(stack.adminClientProperties(), topic);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        StatusSpool spool = StatusSpool.open("T1", new StatusSpoolConfig(Map.of(
                StatusSpoolConfig.SPOOL_DIR_CONFIG, dir.toString(),
                StatusSpoolConfig.SPOOL_DELIVERY_TIMEOUT_MS_CONFIG, 3000,
                StatusSpoolConfig.SPOOL_RETRY_BACKOFF_MAX_MS_CONFIG, 500)),
                stack.proxiedAdminClientProperties(), topic, Clock.systemUTC(), meters);
        try {
            IntStream.range(0, 100).forEach(i -> spool.append("T1", seq -> SpoolTopic.value("before-" + i, seq)));
            assertThat(spool.flush(Duration.ofSeconds(30))).as("delivered before the outage").isTrue();

            stack.proxy().cut();
            try {
                IntStream.range(0, 1000).forEach(i -> spool.append("T1", seq -> SpoolTopic.value("during-" + i, seq)));
                assertThat(spool.flush(Duration.ofSeconds(2))).as("nothing drains while cut").isFalse();
                assertThat(spool.stats().depth()).isEqualTo(1000);
                await().atMost(Duration.ofSeconds(30)).alias("send errors counted while the broker is away")
                        .until(() -> meters.get("msx.spool.send.errors").counter().count() > 0);
            } finally {
                stack.proxy().restore();
            }
            IntStream.range(0, 100).forEach(i -> spool.append("T1", seq -> SpoolTopic.value("after-" + i, seq)));
            await().atMost(Duration.ofSeconds(60)).alias("spool drained after the outage")
                    .until(() -> spool.stats().depth() == 0);
        } finally {
            spool.close(Duration.ofSeconds(10));
        }

        List<SpoolTopic.Delivered> delivered = SpoolTopic.readAll(stack.adminClientProperties(), topic, 1200);
        List<SpoolTopic.Delivered> view = SpoolTopic.deduplicated(delivered);
        List<String> expected = new java.util.ArrayList<>();
        IntStream.range(0, 100).forEach(i -> expected.add("before-" + i));
        IntStream.range(0, 1000).forEach(i -> expected.add("during-" + i));
        IntStream.range(0, 100).forEach(i -> expected.add("after-" + i));
        assertThat(view).extracting(SpoolTopic.Delivered::id).containsExactlyElementsOf(expected);
        assertThat(view).extracting(SpoolTopic.Delivered::seq).isSorted().doesNotHaveDuplicates();
        assertThat(delivered.size() - view.size()).as("replays dropped by seq").isGreaterThanOrEqualTo(0);
    }
}
