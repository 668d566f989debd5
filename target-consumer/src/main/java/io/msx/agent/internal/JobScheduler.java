package io.msx.agent.internal;

import io.msx.avro.JobDefinition;
import io.msx.avro.JobSchedule;
import io.msx.agent.internal.job.Schedules;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Fires job schedules on its own named thread: every tick it finds the schedules whose next firing after the previous
 * tick is due, and hands each to {@code fire}. Firings missed while the agent was down are not caught up (as SQL
 * Server Agent does not). Time comes from the injected clock; {@link #due(Instant)} is the whole decision, so tests
 * move a fake clock and call it.
 */
public final class JobScheduler implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(JobScheduler.class);
    private static final Duration MAX_TICK = Duration.ofSeconds(1);

    /** One due firing. */
    public record Firing(JobDefinition job, JobSchedule schedule, Instant at) {
    }

    private final JobInventory jobs;
    private final Clock clock;
    private final BiConsumer<JobDefinition, JobSchedule> fire;
    private final CountDownLatch stopping = new CountDownLatch(1);
    private Instant checkedUpTo;

    public JobScheduler(JobInventory jobs, Clock clock, BiConsumer<JobDefinition, JobSchedule> fire) {
        this.jobs = jobs;
        this.clock = clock;
        this.fire = fire;
        this.checkedUpTo = clock.instant();
    }

    /** Firings in (previous check, now], oldest first; moves the check forward to {@code now}. */
    public synchronized List<Firing> due(Instant now) {
        List<Firing> due = new ArrayList<>();
        for (JobDefinition job : jobs.all()) {
            if (!job.getEnabled()) {
                continue;
            }
            for (JobSchedule schedule : job.getSchedules()) {
                Optional<Instant> next = Schedules.nextAfter(schedule, checkedUpTo);
                if (next.isPresent() && !next.get().isAfter(now)) {
                    due.add(new Firing(job, schedule, next.get()));
                }
            }
        }
        if (now.isAfter(checkedUpTo)) {
            checkedUpTo = now;
        }
        due.sort(java.util.Comparator.comparing(Firing::at));
        return due;
    }

    @Override
    public void run() {
        while (stopping.getCount() > 0) {
            for (Firing firing : due(clock.instant())) {
                try {
                    fire.accept(firing.job(), firing.schedule());
                } catch (RuntimeException e) {
                    log.warn("Schedule {} of job {} could not fire: {}", firing.schedule().getName(),
                            firing.job().getJobId(), e.toString());
                }
            }
            try {
                stopping.await(MAX_TICK.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    public void stop() {
        stopping.countDown();
    }
}
