package io.msx.agent.internal.job;

import io.msx.avro.JobSchedule;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SchedulesTest {

    private static JobSchedule cron(String expression, String zone) {
        return JobSchedule.newBuilder().setName("s").setCron(expression).setTimeZone(zone).build();
    }

    /** Every firing in [from, to), walking as the agent's scheduler does. */
    private static List<ZonedDateTime> firings(JobSchedule schedule, Instant from, Instant to) {
        List<ZonedDateTime> out = new ArrayList<>();
        Instant at = from;
        while (true) {
            Optional<Instant> next = Schedules.nextAfter(schedule, at);
            if (next.isEmpty() || !next.get().isBefore(to)) {
                return out;
            }
            out.add(next.get().atZone(ZoneId.of(schedule.getTimeZone())));
            at = next.get();
        }
    }

    @Test
    void shouldFireAtLocalWallClockTimeAcrossTheSpringForwardChange() {
        // 2026-03-29: Berlin clocks jump from 02:00 to 03:00 CEST.
        List<ZonedDateTime> fired = firings(cron("0 9 * * *", "Europe/Berlin"),
                Instant.parse("2026-03-27T12:00:00Z"), Instant.parse("2026-03-31T12:00:00Z"));

        assertThat(fired).extracting(z -> z.toLocalTime().toString()).containsOnly("09:00");
        assertThat(fired).extracting(ZonedDateTime::toInstant).containsExactly(
                Instant.parse("2026-03-28T08:00:00Z"), // CET, UTC+1
                Instant.parse("2026-03-29T07:00:00Z"), // CEST, UTC+2
                Instant.parse("2026-03-30T07:00:00Z"),
                Instant.parse("2026-03-31T07:00:00Z"));
    }

    @Test
    void shouldSkipATimeThatDoesNotExistOnSpringForwardDay() {
        // 02:30 does not exist in Berlin on 2026-03-29: that day has no firing, the next day has its own.
        List<ZonedDateTime> fired = firings(cron("30 2 * * *", "Europe/Berlin"),
                Instant.parse("2026-03-28T12:00:00Z"), Instant.parse("2026-03-30T12:00:00Z"));
        assertThat(fired).extracting(ZonedDateTime::toInstant)
                .containsExactly(Instant.parse("2026-03-30T00:30:00Z"));
    }

    @Test
    void shouldNotFireTwiceInTheRepeatedHourWhenClocksFallBack() {
        // 2026-10-25: Berlin clocks go back from 03:00 CEST to 02:00 CET; 02:30 happens twice in wall-clock time.
        List<ZonedDateTime> fired = firings(cron("30 2 * * *", "Europe/Berlin"),
                Instant.parse("2026-10-24T12:00:00Z"), Instant.parse("2026-10-26T12:00:00Z"));
        assertThat(fired).filteredOn(z -> z.toLocalDate().toString().equals("2026-10-25")).hasSize(1);
        assertThat(fired).hasSize(2);
    }

    @Test
    void shouldFireAOneTimeScheduleOnceAndNeverWhenDisabled() {
        Instant at = Instant.parse("2026-11-25T10:00:00Z");
        JobSchedule once = JobSchedule.newBuilder().setName("once").setRunOnceAt(at).build();
        assertThat(Schedules.nextAfter(once, at.minusSeconds(1))).hasValue(at);
        assertThat(Schedules.nextAfter(once, at)).isEmpty();
        JobSchedule disabled = JobSchedule.newBuilder(cron("* * * * *", "UTC")).setEnabled(false).build();
        assertThat(Schedules.nextAfter(disabled, at)).isEmpty();
    }

    @Test
    void shouldNameWhatIsWrongWithASchedule() {
        assertThatThrownBy(() -> Schedules.validate(cron("61 * * * *", "UTC")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("invalid cron '61 * * * *'");
        assertThatThrownBy(() -> Schedules.validate(cron("0 9 * * *", "Mars/Olympus")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("invalid time zone");
        assertThatThrownBy(() -> Schedules.validate(JobSchedule.newBuilder().setName("none").build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exactly one of cron and runOnceAt");
    }
}
