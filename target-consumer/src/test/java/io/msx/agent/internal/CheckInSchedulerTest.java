package io.msx.agent.internal;

import io.msx.avro.status.CheckInTrigger;
import io.msx.local.ManualClock;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Check-ins follow the injected clock: a fake clock moved by the test decides when one is due. */
class CheckInSchedulerTest {

    private final ManualClock clock = new ManualClock(Instant.parse("2026-11-29T00:00:00Z"));
    private final AgentState state = new AgentState(Duration.ofSeconds(60));

    @Test
    void shouldBeDueOnceEveryIntervalOfTheInjectedClock() {
        CheckInScheduler scheduler = new CheckInScheduler("test-poller", state, clock, trigger -> { });

        assertThat(scheduler.due(clock.instant())).isFalse();
        clock.advance(Duration.ofSeconds(59));
        assertThat(scheduler.due(clock.instant())).as("one second early").isFalse();
        clock.advance(Duration.ofSeconds(1));
        assertThat(scheduler.due(clock.instant())).isTrue();
        assertThat(scheduler.due(clock.instant())).as("once per interval").isFalse();
        assertThat(scheduler.nextAt()).isEqualTo(clock.instant().plusSeconds(60));
    }

    @Test
    void shouldUseANewIntervalFromTheMomentItIsSet() {
        CheckInScheduler scheduler = new CheckInScheduler("test-poller", state, clock, trigger -> { });
        clock.advance(Duration.ofSeconds(50));

        scheduler.reschedule(Duration.ofSeconds(10));

        assertThat(state.pollInterval()).isEqualTo(Duration.ofSeconds(10));
        clock.advance(Duration.ofSeconds(9));
        assertThat(scheduler.due(clock.instant())).isFalse();
        clock.advance(Duration.ofSeconds(1));
        assertThat(scheduler.due(clock.instant())).isTrue();
    }

    @Test
    void shouldSendScheduledCheckInsOnItsThreadAsTheClockMovesAndSurviveAFailedOne() {
        List<CheckInTrigger> sent = new CopyOnWriteArrayList<>();
        CheckInScheduler scheduler = new CheckInScheduler("test-poller", state, clock, trigger -> {
            sent.add(trigger);
            if (sent.size() == 1) {
                throw new IllegalStateException("spool closed");
            }
        });
        scheduler.start(error -> { });
        try {
            clock.advance(Duration.ofSeconds(60));
            await().atMost(Duration.ofSeconds(10)).until(() -> sent.size() == 1);
            clock.advance(Duration.ofSeconds(60));
            await().atMost(Duration.ofSeconds(10)).alias("the thread goes on after a failed check-in")
                    .until(() -> sent.size() == 2);
            assertThat(sent).containsOnly(CheckInTrigger.SCHEDULED);
        } finally {
            scheduler.close();
        }
    }
}
