package io.msx.agent.internal;

import io.msx.avro.JobDefinition;
import io.msx.avro.JobSchedule;
import io.msx.avro.JobStep;
import io.msx.local.ManualClock;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class JobSchedulerTest {

    private static JobDefinition job(String id, boolean enabled, JobSchedule... schedules) {
        return JobDefinition.newBuilder().setJobId(id).setName(id).setEnabled(enabled)
                .setSteps(List.of(JobStep.newBuilder().setStepId(1).setName("s").setCommand(List.of("true")).build()))
                .setSchedules(List.of(schedules)).build();
    }

    @Test
    void shouldFireInTheJobsZoneAcrossADstChangeAsAFakeClockMoves() {
        ManualClock clock = new ManualClock(Instant.parse("2026-03-28T00:00:00Z"));
        JobInventory jobs = new JobInventory();
        jobs.put(job("morning", true, JobSchedule.newBuilder().setName("nine").setCron("0 9 * * *")
                .setTimeZone("Europe/Berlin").build()));
        jobs.put(job("off", false, JobSchedule.newBuilder().setName("always").setCron("* * * * *").build()));
        JobScheduler scheduler = new JobScheduler(jobs, clock, (j, s) -> { });

        List<Instant> fired = new ArrayList<>();
        for (int hour = 0; hour < 72; hour++) {
            clock.advance(Duration.ofHours(1));
            scheduler.due(clock.instant()).forEach(f -> fired.add(f.at()));
        }

        assertThat(fired).containsExactly(
                Instant.parse("2026-03-28T08:00:00Z"),  // 09:00 CET
                Instant.parse("2026-03-29T07:00:00Z"),  // 09:00 CEST, the day clocks went forward
                Instant.parse("2026-03-30T07:00:00Z"));
    }

    @Test
    void shouldNotCatchUpFiringsMissedBeforeItStarted() {
        ManualClock clock = new ManualClock(Instant.parse("2026-11-25T10:00:30Z"));
        JobInventory jobs = new JobInventory();
        jobs.put(job("each-minute", true, JobSchedule.newBuilder().setName("m").setCron("* * * * *").build()));
        JobScheduler scheduler = new JobScheduler(jobs, clock, (j, s) -> { });

        assertThat(scheduler.due(clock.instant())).isEmpty();
        clock.advance(Duration.ofSeconds(30));
        assertThat(scheduler.due(clock.instant())).singleElement()
                .satisfies(f -> assertThat(f.at()).isEqualTo(Instant.parse("2026-11-25T10:01:00Z")));
        assertThat(scheduler.due(clock.instant())).as("fired once only").isEmpty();
    }
}
