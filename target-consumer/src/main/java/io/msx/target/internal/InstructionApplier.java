package io.msx.target.internal;

import io.msx.avro.ClockReport;
import io.msx.avro.CheckInTrigger;
import io.msx.avro.Instruction;
import io.msx.avro.PollNow;
import io.msx.avro.SetPollInterval;
import io.msx.avro.SyncTime;
import io.msx.target.TargetAgentConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.ZoneId;
import java.util.UUID;

/**
 * Applies one decoded instruction and acknowledges it. An instruction it cannot apply is acknowledged with the error
 * and never blocks the ones after it.
 */
public final class InstructionApplier {

    private static final Logger log = LoggerFactory.getLogger(InstructionApplier.class);
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(10);

    private final String target;
    private final StatusReporter reporter;
    private final CheckInScheduler scheduler;
    private final AgentState state;
    private final ZoneId zone;
    private final String agentVersion;

    public InstructionApplier(String target, StatusReporter reporter, CheckInScheduler scheduler, AgentState state,
                              ZoneId zone, String agentVersion) {
        this.target = target;
        this.reporter = reporter;
        this.scheduler = scheduler;
        this.state = state;
        this.zone = zone;
        this.agentVersion = agentVersion;
    }

    public void apply(Instruction instruction, long offset) {
        UUID id = instruction.getInstructionId();
        if (!target.equals(instruction.getTarget())) {
            refuse(id, offset, "instruction addressed to target '" + instruction.getTarget() + "', this is '"
                    + target + "'");
            return;
        }
        Object body = instruction.getBody();
        if (body instanceof PollNow poll) {
            done(id, offset);
            // Drain first, so the check-in reports what is left after trying (SQL Server Agent uploads its spooled
            // status on a poll too).
            if (poll.getDrainSpool() && !reporter.outbox().flush(DRAIN_TIMEOUT)) {
                log.warn("Force poll {}: outbox not drained within {}", id, DRAIN_TIMEOUT);
            }
            reporter.checkIn(CheckInTrigger.FORCED, id, zone, agentVersion);
        } else if (body instanceof SetPollInterval set) {
            long millis = Duration.ofSeconds(set.getIntervalSeconds()).toMillis();
            if (millis < TargetAgentConfig.MIN_POLL_INTERVAL_MS || millis > TargetAgentConfig.MAX_POLL_INTERVAL_MS) {
                refuse(id, offset, "polling interval " + set.getIntervalSeconds() + " s is outside 10 s to 8 h");
                return;
            }
            scheduler.reschedule(Duration.ofMillis(millis));
            log.info("Polling interval set to {} s by instruction {}", set.getIntervalSeconds(), id);
            done(id, offset);
        } else if (body instanceof SyncTime sync) {
            done(id, offset);
            reporter.report(ClockReport.newBuilder().setInstructionId(id).setMasterTime(sync.getMasterTime())
                    .setLocalTime(reporter.now()).setTimeZone(zone.getId()).build());
        } else {
            // Job instructions, DEFECT and RESYNC come with the job runner (issue 4); until then the master
            // sees exactly why they did not take effect.
            refuse(id, offset, body.getClass().getSimpleName() + " is not supported by this agent version ("
                    + agentVersion + ")");
        }
    }

    /** Acknowledges bytes that are not an instruction at all. */
    public void undecodable(long offset, String reason) {
        refuse(StatusReporter.UNDECODABLE, offset, "undecodable instruction: " + reason);
    }

    private void done(UUID id, long offset) {
        reporter.ack(id, offset, null);
        state.lastAppliedOffset(offset);
    }

    private void refuse(UUID id, long offset, String error) {
        log.warn("Instruction {} at offset {} not applied: {}", id, offset, error);
        reporter.ack(id, offset, error);
        state.lastAppliedOffset(offset);
    }
}
