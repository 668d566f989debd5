package io.msx.agent.internal.job;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import io.msx.avro.JobSchedule;
import io.msx.schemas.JobRules;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.Optional;

/**
 * When a schedule fires: Unix cron expressions (5 fields) read in the schedule's IANA time zone by cron-utils, or a
 * one-time instant. Firing times are computed on zoned wall-clock time, so a 02:30 schedule does not fire on the
 * spring-forward day when 02:30 does not exist, and fires once on the fall-back day.
 */
public final class Schedules {

    private static final CronParser PARSER = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));

    private Schedules() {
    }

    /**
     * The schedule rules of {@link JobRules#validateSchedule}.
     *
     * @throws IllegalArgumentException naming the schedule and what is wrong with it
     */
    public static void validate(JobSchedule schedule) {
        JobRules.validateSchedule(schedule);
    }

    /** The first firing strictly after {@code after}, or empty when it never fires again (or is disabled). */
    public static Optional<Instant> nextAfter(JobSchedule schedule, Instant after) {
        if (!schedule.getEnabled()) {
            return Optional.empty();
        }
        if (schedule.getRunOnceAt() != null) {
            return schedule.getRunOnceAt().isAfter(after) ? Optional.of(schedule.getRunOnceAt()) : Optional.empty();
        }
        ZonedDateTime from = after.atZone(ZoneId.of(schedule.getTimeZone()));
        return ExecutionTime.forCron(PARSER.parse(schedule.getCron())).nextExecution(from)
                .map(ZonedDateTime::toInstant);
    }
}
