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
import io.msx.agent.TargetAgentConfig;
import io.msx.agent.internal.job.JobRun;
import io.msx.schemas.JobRules;
import io.msx.schemas.MessageFamily;
import io.msx.spool.StateChange;
import io.msx.spool.StatusOutbox.Priority;
import io.msx.security.SignatureHeaders;
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
 * Applies decoded instructions, dispatching on their type, into an {@link ApplyBatch}: each instruction's effect on
 * the agent's state, its offset and its acknowledgement go into the batch's ONE durable write; only once it is durable
 * do the in-memory effects happen (inventory, schedules, runs starting). So after a crash at any point an instruction
 * is either fully applied and acknowledged or not at all, and the agent resumes after the last applied offset. An
 * instruction that cannot be applied is acknowledged with the error and never blocks the ones after it.
 *
 * <p>STOP and DEFECT are barriers: applied alone, after everything before them is durable, because they act on runs
 * (STOP cancels the run and waits for its processes to end BEFORE it is acknowledged). Used by the loop's thread.
 */
public final class InstructionApplier implements InstructionLoop.Handler {

    private static final Logger log = LoggerFactory.getLogger(InstructionApplier.class);
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(10);
    /** Longest a STOP waits for the run's processes to be gone before it is acknowledged FAILED. */
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

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
    /** Offset of the last STOP whose cancel happened: applied again (its write failed), it is still APPLIED. */
    private long stoppedAt = -1;
    private InstructionGuard guard;
    private java.util.function.Supplier<io.msx.spool.StatusOutbox.Append> onReinstall = () -> {
        throw new IllegalStateException("no Enlist to send for a new installation");
    };

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
        this.guard = InstructionGuard.open(target);
    }

    /** What an instruction must show before it is applied (signature, sequence, age); open until set. */
    public void guard(InstructionGuard guard) {
        this.guard = guard;
    }

    @Override
    public ApplyBatch newBatch() {
        return new ApplyBatch(jobs);
    }

    @Override
    public boolean isBarrier(SpecificRecord instruction) {
        return instruction instanceof JobStop || instruction instanceof Defect;
    }

    @Override
    public void apply(SpecificRecord instruction, long offset, SignatureHeaders.Signed signed, byte[] value,
                      ApplyBatch batch) {
        InstructionHeader header = MessageFamily.INSTRUCTION.header(instruction);
        UUID id = header.getInstructionId();
        String insecure = guard.refusal(header, signed, value, Math.max(batch.instructionSeq(),
                state.instructionSeq()));
        if (insecure != null) {
            refuse(batch, id, offset, insecure);
            return;
        }
        if (guard.enforced()) {
            // a signed instruction is used up once read, applied or not: it never counts again
            batch.instructionSeq(signed.sequence());
        }
        if (!target.equals(header.getTarget())) {
            refuse(batch, id, offset, "instruction addressed to target '" + header.getTarget() + "', this is '"
                    + target + "'");
            return;
        }
        if (instruction instanceof PollNow poll) {
            done(batch, id, offset, List.of());
            batch.effect(() -> {
                // Drain first, so the check-in reports what is left after trying (SQL Server Agent uploads its
                // spooled status on a poll too).
                if (poll.getDrainSpool() && !reporter.spool().flush(DRAIN_TIMEOUT)) {
                    log.warn("Force poll {}: spool not drained within {}", id, DRAIN_TIMEOUT);
                }
                reporter.checkIn(CheckInTrigger.FORCED, id, zone, agentVersion);
            });
        } else if (instruction instanceof SetPollInterval set) {
            long millis = Duration.ofSeconds(set.getIntervalSeconds()).toMillis();
            if (millis < TargetAgentConfig.MIN_POLL_INTERVAL_MS || millis > TargetAgentConfig.MAX_POLL_INTERVAL_MS) {
                refuse(batch, id, offset, "polling interval " + set.getIntervalSeconds()
                        + " s is outside 10 s to 8 h");
                return;
            }
            Duration interval = Duration.ofMillis(millis);
            done(batch, id, offset, List.of(AgentMeta.pollInterval(interval)));
            batch.effect(() -> {
                scheduler.reschedule(interval);
                log.info("Polling interval set to {} s by instruction {}", set.getIntervalSeconds(), id);
            });
        } else if (instruction instanceof SyncTime sync) {
            done(batch, id, offset, List.of());
            Instant local = reporter.now();
            batch.append(reporter.append(h -> ClockReport.newBuilder().setHeader(h).setInstructionId(id)
                    .setMasterTime(sync.getMasterTime()).setLocalTime(local).setTimeZone(zone.getId()).build(),
                    List.of(), Priority.NORMAL));
        } else if (instruction instanceof JobInsert insert) {
            upsert(batch, id, offset, insert.getJob());
        } else if (instruction instanceof JobUpdate update) {
            if (batch.job(update.getJob().getJobId()) == null) {
                refuse(batch, id, offset, "unknown job '" + update.getJob().getJobId() + "'");
                return;
            }
            upsert(batch, id, offset, update.getJob());
        } else if (instruction instanceof JobDelete delete) {
            String jobId = delete.getJobId();
            if (batch.job(jobId) == null) {
                refuse(batch, id, offset, "unknown job '" + jobId + "'");
                return;
            }
            done(batch, id, offset, List.of(AgentStore.deleteJob(jobId)));
            batch.unstage(jobId);
            batch.effect(() -> {
                jobs.remove(jobId);
                executor.cancel(jobId);
            });
        } else if (instruction instanceof JobStart start) {
            start(batch, id, offset, start);
        } else if (instruction instanceof JobStop stop) {
            stop(batch, id, offset, stop.getJobId());
        } else if (instruction instanceof Resync) {
            List<JobDefinition> held = batch.jobs();
            List<StateChange> changes = new ArrayList<>();
            held.forEach(j -> changes.add(AgentStore.deleteJob(j.getJobId())));
            changes.add(AgentMeta.resyncDone());
            done(batch, id, offset, changes);
            held.forEach(j -> batch.unstage(j.getJobId()));
            batch.effect(() -> {
                held.forEach(j -> jobs.remove(j.getJobId()));
                boolean asked = state.resyncReason() != null;
                state.resyncReason(null);
                log.info("Resync: {} local job(s) dropped; the assigned set follows", held.size());
                if (asked) {
                    // tell the master now that it need not resync again (not an interval later)
                    reporter.checkIn(CheckInTrigger.SCHEDULED, null, zone, agentVersion);
                }
            });
        } else if (instruction instanceof Defect defect) {
            List<JobDefinition> held = batch.jobs();
            List<StateChange> changes = new ArrayList<>();
            held.forEach(j -> changes.add(AgentStore.deleteJob(j.getJobId())));
            changes.add(AgentMeta.defected(defect.getReason()));
            done(batch, id, offset, changes);
            batch.append(reporter.append(h -> DefectNotice.newBuilder().setHeader(h).setReason(defect.getReason())
                    .setJobsReleased(held.size()).build(), List.of(), Priority.RESERVED));
            held.forEach(j -> batch.unstage(j.getJobId()));
            batch.stop();
            batch.effect(() -> {
                held.forEach(j -> {
                    jobs.remove(j.getJobId());
                    executor.cancel(j.getJobId());
                });
                log.info("Defected from the master ({}); {} job(s) released", defect.getReason(), held.size());
                onDefect.run();
            });
        } else {
            // a type of the instruction family this code does not handle yet
            refuse(batch, id, offset, MessageFamily.typeName(instruction) + " is not supported by this agent version ("
                    + agentVersion + ")");
        }
    }

    private void upsert(ApplyBatch batch, UUID id, long offset, JobDefinition job) {
        try {
            JobRules.validate(job); // the master checked it too; a record on this topic need not come from it
            // this target's own rules (reserved variables, data directory, allow-list): checked again at run time,
            // as the configuration may change meanwhile
            executor.isolation().check(job);
        } catch (IllegalArgumentException e) {
            refuse(batch, id, offset, e.getMessage());
            return;
        }
        done(batch, id, offset, store.putJob(job));
        batch.stage(job);
        batch.effect(() -> jobs.put(job));
    }

    private void start(ApplyBatch batch, UUID id, long offset, JobStart start) {
        JobDefinition job = batch.job(start.getJobId());
        if (job == null) {
            refuse(batch, id, offset, "unknown job '" + start.getJobId() + "'");
            return;
        }
        String trigger = id.toString();
        if (reporter.spool().stats().full() && reporter.refusalFromReserve()) {
            // new work is refused while the outbox is full; the acknowledgement and the SKIPPED report say why, from
            // the reserve (they are small and rare: starts need instructions, which need the broker)
            done(batch, id, offset, List.of(), Priority.RESERVED);
            batch.append(reporter.skipped(job, trigger, reporter.outboxFull(), Priority.RESERVED));
            return;
        }
        UUID runId = UUID.randomUUID();
        JobRun run = executor.reserve(runId, job, trigger, start.getStartStepId());
        if (run == null) {
            JobRun current = executor.current(job.getJobId());
            done(batch, id, offset, List.of());
            batch.append(reporter.skipped(job, trigger, StatusReporter.alreadyRunning(current == null ? null
                    : current.runId()), Priority.NORMAL));
            return;
        }
        batch.rollback(() -> executor.release(run));
        done(batch, id, offset, store.putRun(AgentStore.run(runId, job.getJobId(), AgentStore.PENDING, trigger,
                start.getStartStepId())));
        batch.effect(() -> executor.start(run));
    }

    private void stop(ApplyBatch batch, UUID id, long offset, String jobId) {
        if (executor.current(jobId) == null) {
            if (offset == stoppedAt) {
                // applied again after its write failed: the cancel happened, the acknowledgement says so
                done(batch, id, offset, List.of());
                return;
            }
            refuse(batch, id, offset, "job '" + jobId + "' is not running");
            return;
        }
        stoppedAt = offset;
        // cancel BEFORE acknowledging: an acknowledged STOP has happened
        if (!executor.cancelAndAwait(jobId, STOP_TIMEOUT)) {
            refuse(batch, id, offset, "job '" + jobId + "' was canceled but its processes did not end within "
                    + STOP_TIMEOUT);
            return;
        }
        done(batch, id, offset, List.of());
    }

    @Override
    public void undecodable(long offset, InstructionHeader header, String reason, ApplyBatch batch) {
        notAnInstruction(batch, offset, header, "undecodable instruction: " + reason);
    }

    @Override
    public void unsupported(long offset, InstructionHeader header, String reason, ApplyBatch batch) {
        notAnInstruction(batch, offset, header, reason + ": not supported by this agent version ("
                + agentVersion + ")");
    }

    /** Acknowledged FAILED (by its header's id when readable) and counted; the loop dead-lettered it already. */
    private void notAnInstruction(ApplyBatch batch, long offset, InstructionHeader header, String error) {
        long total = state.undecodable() + batch.undecodable();
        log.warn("Record at offset {} is not an instruction this agent can apply ({} so far): {}", offset, total,
                error);
        UUID id = header == null ? StatusReporter.UNDECODABLE : header.getInstructionId();
        batch.offset(offset);
        batch.append(reporter.ack(id, offset, error, List.of(AgentMeta.undecodable(total)), Priority.NORMAL));
        batch.effect(() -> state.undecodable(Math.max(state.undecodable(), total)));
    }

    @Override
    public void failed(SpecificRecord instruction, long offset, RuntimeException error, ApplyBatch batch) {
        UUID id = MessageFamily.INSTRUCTION.<InstructionHeader>header(instruction).getInstructionId();
        log.error("Instruction {} at offset {} failed unexpectedly; acknowledging it as FAILED", id, offset, error);
        batch.offset(offset);
        batch.append(reporter.ack(id, offset, "cannot apply " + MessageFamily.typeName(instruction) + ": " + error,
                List.of(), Priority.NORMAL));
    }

    @Override
    public void commit(ApplyBatch batch) {
        if (batch.isEmpty()) {
            return;
        }
        // the batch's last offset is recorded once, in the same write as every acknowledgement of the batch
        List<io.msx.spool.StatusOutbox.Append> appends = new ArrayList<>(batch.appends());
        io.msx.spool.StatusOutbox.Append last = appends.remove(appends.size() - 1);
        List<StateChange> lastChanges = new ArrayList<>(last.changes());
        lastChanges.add(AgentStore.appliedOffset(batch.lastOffset()));
        if (batch.instructionSeq() > 0) {
            lastChanges.add(AgentMeta.instructionSeq(batch.instructionSeq()));
        }
        appends.add(new io.msx.spool.StatusOutbox.Append(last.key(), last.valueForSeq(), lastChanges,
                last.priority()));
        try {
            reporter.reportAll(appends);
        } catch (RuntimeException e) {
            batch.rollbacks().forEach(Runnable::run);
            batch.settled(true); // rolled back: nothing left to give back
            throw e;
        }
        batch.settled(true);
        state.lastAppliedOffset(batch.lastOffset());
        if (batch.instructionSeq() > state.instructionSeq()) {
            state.instructionSeq(batch.instructionSeq());
        }
        for (Runnable effect : batch.effects()) {
            try {
                effect.run();
            } catch (RuntimeException e) {
                // acknowledged and durable: what failed is a report after it (e.g. a forced check-in), not the apply
                log.error("An instruction up to offset {} was applied and acknowledged, but a step after it failed: "
                        + "{}", batch.lastOffset(), e.toString());
            }
        }
    }

    @Override
    public void lost(long nextOffset, long logStartOffset, String why) {
        long lost = Math.max(0, logStartOffset - nextOffset);
        long total = state.instructionsLost() + lost;
        String reason = why != null ? why : lost + " instruction(s) at offsets " + nextOffset + ".."
                + (logStartOffset - 1) + " expired from the topic (retention) before this target read them";
        reporter.spool().writeState(List.of(AgentMeta.instructionsLost(total), AgentMeta.resyncRequested(reason),
                AgentStore.appliedOffset(logStartOffset - 1)));
        state.instructionsLost(total);
        state.resyncReason(reason);
        state.lastAppliedOffset(logStartOffset - 1);
        log.warn("{}: asking the master for a resync", reason);
    }

    @Override
    public void passed(long offset) {
        reporter.spool().writeState(List.of(AgentStore.appliedOffset(offset)));
        state.lastAppliedOffset(offset);
    }

    @Override
    public void restored(long next, long committed) {
        String reason = AgentMeta.restoredReason(next - 1, committed - 1);
        String old = state.epoch();
        String epoch = UUID.randomUUID().toString();
        state.epoch(epoch); // the Enlist below is built with it
        try {
            // the new epoch, its Enlist and the position in ONE write: a failed write changes nothing (retried)
            io.msx.spool.StatusOutbox.Append enlist = onReinstall.get();
            reporter.reportAll(List.of(new io.msx.spool.StatusOutbox.Append(enlist.key(), enlist.valueForSeq(),
                    List.of(AgentMeta.epoch(epoch), AgentMeta.resyncRequested(reason),
                            AgentStore.appliedOffset(committed - 1)), Priority.RESERVED)));
        } catch (RuntimeException e) {
            state.epoch(old);
            throw e;
        }
        log.warn("New installation epoch {} ({}): asking for a resync", epoch, reason);
        state.resyncReason(reason);
        state.lastAppliedOffset(committed - 1);
    }

    /** Builds this agent's Enlist (with the epoch in force when called), for a switch to a new installation. */
    public void onReinstall(java.util.function.Supplier<io.msx.spool.StatusOutbox.Append> enlist) {
        this.onReinstall = enlist;
    }

    @Override
    public void positioned(boolean fresh, long next) {
        if (fresh) {
            // instructions before this position are the old installation's: the resync replaces them
            reporter.spool().writeState(List.of(AgentStore.appliedOffset(next - 1)));
            state.lastAppliedOffset(next - 1);
        }
        state.positioned(true);
        if (state.resyncReason() != null) {
            // ask now rather than at the next polling interval; the answer is posted after this position
            reporter.checkIn(CheckInTrigger.STARTUP, null, zone, agentVersion);
        }
    }

    private void done(ApplyBatch batch, UUID id, long offset, List<StateChange> changes) {
        done(batch, id, offset, changes, Priority.NORMAL);
    }

    private void done(ApplyBatch batch, UUID id, long offset, List<StateChange> changes, Priority priority) {
        batch.offset(offset);
        batch.append(reporter.ack(id, offset, null, changes, priority));
    }

    private void refuse(ApplyBatch batch, UUID id, long offset, String error) {
        log.warn("Instruction {} at offset {} not applied: {}", id, offset, error);
        batch.offset(offset);
        batch.append(reporter.ack(id, offset, error, List.of(), Priority.NORMAL));
    }
}
