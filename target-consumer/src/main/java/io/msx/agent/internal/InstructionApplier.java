package io.msx.agent.internal;

import io.msx.avro.InstructionHeader;
import io.msx.avro.JobDefinition;
import io.msx.avro.instruction.Defect;
import io.msx.avro.instruction.JobDelete;
import io.msx.avro.instruction.JobInsert;
import io.msx.avro.instruction.JobStart;
import io.msx.avro.instruction.JobStop;
import io.msx.avro.instruction.JobUpdate;
import io.msx.avro.instruction.PollNow;
import io.msx.avro.instruction.Resync;
import io.msx.avro.instruction.SetPollInterval;
import io.msx.avro.instruction.SyncTime;
import io.msx.avro.status.CheckInTrigger;
import io.msx.avro.status.ClockReport;
import io.msx.avro.status.DefectNotice;
import io.msx.schemas.JobRules;
import io.msx.schemas.MessageFamily;
import io.msx.spool.StateChange;
import io.msx.agent.TargetAgentConfig;
import io.msx.agent.internal.job.JobRun;
import org.apache.avro.specific.SpecificRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Applies one decoded instruction, dispatching on its type. Its effect on the agent's state, its offset and its
 * acknowledgement are written in ONE batch (see {@link StatusReporter#ack}); only then does the in-memory effect
 * happen (inventory, schedules, a run starting). So after a crash at any point an instruction is either fully applied
 * and acknowledged or not at all, and the agent resumes after the last applied offset. An instruction that cannot be
 * applied is acknowledged with the error and never blocks the ones after it.
 */
public final class InstructionApplier implements InstructionLoop.Handler {

    private static final Logger log = LoggerFactory.getLogger(InstructionApplier.class);
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(10);

    private final String target;
    private final StatusReporter reporter;
    private final AgentStore store;
    private final CheckInScheduler scheduler;
    private final AgentState state;
    private final ZoneId zone;
    private final String agentVersion;
    private final JobInventory jobs;
    private final JobExecutor executor;
    private final Runnable onDefect;

    public InstructionApplier(String target, StatusReporter reporter, CheckInScheduler scheduler, AgentState state,
                              ZoneId zone, String agentVersion, JobInventory jobs, JobExecutor executor,
                              Runnable onDefect) {
        this.target = target;
        this.reporter = reporter;
        this.store = reporter.store();
        this.scheduler = scheduler;
        this.state = state;
        this.zone = zone;
        this.agentVersion = agentVersion;
        this.jobs = jobs;
        this.executor = executor;
        this.onDefect = onDefect;
    }

    @Override
    public void apply(SpecificRecord instruction, long offset) {
        InstructionHeader header = MessageFamily.INSTRUCTION.header(instruction);
        UUID id = header.getInstructionId();
        if (!target.equals(header.getTarget())) {
            refuse(id, offset, "instruction addressed to target '" + header.getTarget() + "', this is '"
                    + target + "'");
            return;
        }
        if (instruction instanceof PollNow poll) {
            done(id, offset, List.of());
            // Drain first, so the check-in reports what is left after trying (SQL Server Agent uploads its spooled
            // status on a poll too).
            if (poll.getDrainSpool() && !reporter.spool().flush(DRAIN_TIMEOUT)) {
                log.warn("Force poll {}: spool not drained within {}", id, DRAIN_TIMEOUT);
            }
            reporter.checkIn(CheckInTrigger.FORCED, id, zone, agentVersion);
        } else if (instruction instanceof SetPollInterval set) {
            long millis = Duration.ofSeconds(set.getIntervalSeconds()).toMillis();
            if (millis < TargetAgentConfig.MIN_POLL_INTERVAL_MS || millis > TargetAgentConfig.MAX_POLL_INTERVAL_MS) {
                refuse(id, offset, "polling interval " + set.getIntervalSeconds() + " s is outside 10 s to 8 h");
                return;
            }
            done(id, offset, List.of());
            scheduler.reschedule(Duration.ofMillis(millis));
            log.info("Polling interval set to {} s by instruction {}", set.getIntervalSeconds(), id);
        } else if (instruction instanceof SyncTime sync) {
            done(id, offset, List.of());
            Instant local = reporter.now();
            reporter.report(h -> ClockReport.newBuilder().setHeader(h).setInstructionId(id)
                    .setMasterTime(sync.getMasterTime()).setLocalTime(local).setTimeZone(zone.getId()).build());
        } else if (instruction instanceof JobInsert insert) {
            upsert(id, offset, insert.getJob());
        } else if (instruction instanceof JobUpdate update) {
            if (jobs.get(update.getJob().getJobId()) == null) {
                refuse(id, offset, "unknown job '" + update.getJob().getJobId() + "'");
                return;
            }
            upsert(id, offset, update.getJob());
        } else if (instruction instanceof JobDelete delete) {
            if (jobs.get(delete.getJobId()) == null) {
                refuse(id, offset, "unknown job '" + delete.getJobId() + "'");
                return;
            }
            done(id, offset, List.of(AgentStore.deleteJob(delete.getJobId())));
            jobs.remove(delete.getJobId());
            executor.cancel(delete.getJobId());
        } else if (instruction instanceof JobStart start) {
            start(id, offset, start);
        } else if (instruction instanceof JobStop stop) {
            if (executor.current(stop.getJobId()) == null) {
                refuse(id, offset, "job '" + stop.getJobId() + "' is not running");
                return;
            }
            done(id, offset, List.of());
            executor.cancel(stop.getJobId());
        } else if (instruction instanceof Resync) {
            List<StateChange> changes = new ArrayList<>();
            jobs.all().forEach(j -> changes.add(AgentStore.deleteJob(j.getJobId())));
            done(id, offset, changes);
            jobs.all().forEach(j -> jobs.remove(j.getJobId()));
            log.info("Resync: {} local job(s) dropped; the assigned set follows", changes.size());
        } else if (instruction instanceof Defect defect) {
            List<StateChange> changes = new ArrayList<>();
            List<JobDefinition> held = jobs.all();
            held.forEach(j -> changes.add(AgentStore.deleteJob(j.getJobId())));
            done(id, offset, changes);
            held.forEach(j -> {
                jobs.remove(j.getJobId());
                executor.cancel(j.getJobId());
            });
            reporter.report(h -> DefectNotice.newBuilder().setHeader(h).setReason(defect.getReason())
                    .setJobsReleased(held.size()).build());
            log.info("Defected from the master ({}); {} job(s) released", defect.getReason(), held.size());
            onDefect.run();
        } else {
            // a type of the instruction family this code does not handle yet
            refuse(id, offset, MessageFamily.typeName(instruction) + " is not supported by this agent version ("
                    + agentVersion + ")");
        }
    }

    private void upsert(UUID id, long offset, JobDefinition job) {
        try {
            JobRules.validate(job); // the master checked it too; a record on this topic need not come from it
        } catch (IllegalArgumentException e) {
            refuse(id, offset, e.getMessage());
            return;
        }
        done(id, offset, store.putJob(job));
        jobs.put(job);
    }

    private void start(UUID id, long offset, JobStart start) {
        JobDefinition job = jobs.get(start.getJobId());
        if (job == null) {
            refuse(id, offset, "unknown job '" + start.getJobId() + "'");
            return;
        }
        UUID runId = UUID.randomUUID();
        JobRun run = executor.reserve(runId, job, id.toString(), start.getStartStepId());
        if (run == null) {
            done(id, offset, List.of());
            JobRun current = executor.current(job.getJobId());
            reporter.skipped(job, id.toString(), current == null ? null : current.runId());
            return;
        }
        try {
            done(id, offset, store.putRun(AgentStore.run(runId, job.getJobId(), AgentStore.PENDING, id.toString(),
                    start.getStartStepId())));
        } catch (RuntimeException e) {
            executor.release(run);
            throw e;
        }
        executor.start(run);
    }

    @Override
    public void undecodable(long offset, InstructionHeader header, String reason) {
        refuse(idOf(header), offset, "undecodable instruction: " + reason);
    }

    @Override
    public void unsupported(long offset, InstructionHeader header, String reason) {
        refuse(idOf(header), offset, reason + ": not supported by this agent version (" + agentVersion + ")");
    }

    @Override
    public void failed(SpecificRecord instruction, long offset, RuntimeException error) {
        UUID id = MessageFamily.INSTRUCTION.<InstructionHeader>header(instruction).getInstructionId();
        if (isApplied(offset)) {
            log.error("Instruction {} at offset {} was applied and acknowledged, but then failed", id, offset,
                    error);
            return;
        }
        log.error("Instruction {} at offset {} failed unexpectedly; acknowledging it as FAILED", id, offset, error);
        reporter.ack(id, offset, "cannot apply " + MessageFamily.typeName(instruction) + ": " + error, List.of());
    }

    @Override
    public void tombstone(long offset) {
        reporter.passOver(offset);
        log.info("Tombstone at offset {}: nothing to apply, offset recorded as applied", offset);
    }

    @Override
    public boolean isApplied(long offset) {
        Long last = state.lastAppliedOffset();
        return last != null && last >= offset;
    }

    private static UUID idOf(InstructionHeader header) {
        return header == null ? StatusReporter.UNDECODABLE : header.getInstructionId();
    }

    private void done(UUID id, long offset, List<StateChange> changes) {
        reporter.ack(id, offset, null, changes);
    }

    private void refuse(UUID id, long offset, String error) {
        log.warn("Instruction {} at offset {} not applied: {}", id, offset, error);
        reporter.ack(id, offset, error, List.of());
    }
}
