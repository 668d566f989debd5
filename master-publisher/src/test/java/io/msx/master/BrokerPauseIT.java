package io.msx.master;

import io.msx.local.KafkaProcessExtension;
import io.msx.local.KafkaProcessStack;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The broker (a child JVM) is frozen with SIGSTOP for 90 s during a burst of 70 commands: readiness turns 503 during
 * the pause and 200 after it, and every command is answered exactly once, each instruction once per target, with no
 * restart by hand.
 */
@ExtendWith(KafkaProcessExtension.class)
class BrokerPauseIT {

    private static final int TARGETS = 10;
    private static final int BURST = 70;
    private static final Duration PAUSE = Duration.ofSeconds(90);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    Path state;

    /** A master on the plaintext child broker; it signs its instructions all the same. */
    private Map<String, Object> master(KafkaProcessStack stack, FanOutLedger ledger) {
        Map<String, Object> config = Configs.master(stack, ledger.topics.prefix(), "pause");
        config.put(MasterConfig.STATE_DIR_CONFIG, state.toString());
        config.put(MasterConfig.UNREAD_REFRESH_MS_CONFIG, 1000);
        return config;
    }

    @Test
    void shouldAnswerEveryCommandOnceAfterTheBrokerWasFrozenFor90s(KafkaProcessStack stack) throws Exception {
        try (FanOutLedger ledger = new FanOutLedger(stack, TARGETS);
             MasterPublisher master = new MasterPublisher(new MasterConfig(master(stack, ledger)),
                     Clock.systemUTC())) {
            master.start();
            ledger.enlistAndAssign();
            await().atMost(Duration.ofSeconds(30)).alias("ready before the pause")
                    .until(() -> ready(master) == 200);

            ledger.startFanOuts(BURST / 2);
            stack.kafka().pause();
            long pausedAt = System.nanoTime();
            try {
                Thread burst = new Thread(() -> {
                    try {
                        ledger.startFanOuts(BURST - BURST / 2); // blocks until the broker answers again
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }, "burst-during-pause");
                burst.start();
                await().atMost(Duration.ofSeconds(30)).alias("not ready while the broker is frozen")
                        .until(() -> ready(master) == 503);
                Duration left = PAUSE.minusNanos(System.nanoTime() - pausedAt);
                assertThat(ready(master)).as("still not ready").isEqualTo(503);
                Thread.sleep(Math.max(0, left.toMillis())); // the pause itself is what this test is about
            } finally {
                stack.kafka().resume();
            }
            await().atMost(Duration.ofSeconds(120)).alias("ready again after the pause")
                    .until(() -> ready(master) == 200);
            ledger.assertExactlyOnce("broker frozen for " + PAUSE.toSeconds() + " s");
            assertThat(master.state()).isEqualTo(MasterPublisher.State.RUNNING);
        }
    }

    private static int ready(MasterPublisher master) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + master.httpPort()
                    + "/health/ready")).timeout(Duration.ofSeconds(5)).GET().build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (java.io.IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }
}
