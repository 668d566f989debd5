package io.msx.master.internal;

import io.msx.avro.Command;
import io.msx.avro.DeleteGroup;
import io.msx.avro.DeleteJob;
import io.msx.avro.UpdateGroup;
import io.msx.avro.Defect;
import io.msx.avro.DefectTarget;
import io.msx.avro.Resync;
import io.msx.avro.ResyncTargets;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobDelete;
import io.msx.avro.JobInsert;
import io.msx.avro.JobStart;
import io.msx.avro.JobStop;
import io.msx.avro.JobUpdate;
import io.msx.avro.StartJob;
import io.msx.avro.StopJob;
import io.msx.avro.UpsertJob;
import io.msx.avro.UpsertMode;
import io.msx.target.Jobs;
import io.msx.avro.CommandResult;
import io.msx.avro.CommandStatus;
import io.msx.avro.EnlistTarget;
import io.msx.avro.ForcePoll;
import io.msx.avro.Instruction;
import io.msx.avro.PollNow;
import io.msx.avro.PostedInstruction;
import io.msx.avro.SetPollInterval;
import io.msx.avro.SetPollingInterval;
import io.msx.avro.SyncClocks;
import io.msx.avro.SyncTime;
import io.msx.avro.TargetRegistration;
import io.msx.schemas.Topics;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;

/**
 * Decides what a command does: which instructions go to which targets, or why it is rejected. Pure logic over the
 * {@link TargetRegistry}; the command loop writes the decision to Kafka in one transaction. Called from one thread.
 */
public final class CommandProcessor {

    static final int MIN_POLL_SECONDS = 10;
    static final int MAX_POLL_SECONDS = (int) Duration.ofHours(8).toSeconds();

    private final TargetRegistry registry;
    private final JobRegistry jobs;
    private final Clock clock;

    public CommandProcessor(TargetRegistry registry, JobRegistry jobs, Clock clock) {
        this.registry = registry;
        this.jobs = jobs;
        this.clock = clock;
    }

    /**
     * What a command decided.
     *
     * @param result the answer for msx.command-results
     * @param instructions instructions to post, each to its target's topic
     * @param newTargets targets whose topics must exist before the instructions are posted
     * @param jobsPut job definitions to write to msx.jobs
     * @param jobsDeleted job ids to tombstone in msx.jobs
     * @param targetsPut registrations to write to msx.targets
     * @param targetsRemoved registrations to tombstone in msx.targets
     */
    public record Decision(CommandResult result, List<Instruction> instructions, List<String> newTargets,
                           List<JobDefinition> jobsPut, List<String> jobsDeleted,
                           List<TargetRegistration> targetsPut, List<String> targetsRemoved) {

        Decision(CommandResult result, List<Instruction> instructions, List<String> newTargets) {
            this(result, instructions, newTargets, List.of(), List.of(), List.of(), List.of());
        }

        Decision(CommandResult result, List<Instruction> instructions, List<String> newTargets,
                 List<JobDefinition> jobsPut, List<String> jobsDeleted, List<TargetRegistration> targetsPut) {
            this(result, instructions, newTargets, jobsPut, jobsDeleted, targetsPut, List.of());
        }
    }

    public Decision process(Command command) {
        Object body = command.getBody();
        try {
            if (body instanceof ForcePoll poll) {
                return fanOut(command, poll.getTargets(), t -> PollNow.newBuilder().build());
            }
            if (body instanceof SetPollingInterval set) {
                int seconds = set.getIntervalSeconds();
                if (seconds < MIN_POLL_SECONDS || seconds > MAX_POLL_SECONDS) {
                    return reject(command, "polling interval " + seconds + " s is outside 10 s to 8 h (28800 s)");
                }
                return fanOut(command, set.getTargets(),
                        t -> SetPollInterval.newBuilder().setIntervalSeconds(seconds).build());
            }
            if (body instanceof SyncClocks sync) {
                Instant now = now();
                return fanOut(command, sync.getTargets(),
                        t -> SyncTime.newBuilder().setMasterTime(now).build());
            }
            if (body instanceof UpsertJob upsert) {
                return upsertJob(command, upsert);
            }
            if (body instanceof DeleteJob delete) {
                JobDefinition job = jobs.get(delete.getJobId()).orElse(null);
                if (job == null) {
                    return reject(command, "unknown job '" + delete.getJobId() + "'");
                }
                Decision posted = post(command, effectiveTargets(job), t -> JobDelete.newBuilder()
                        .setJobId(job.getJobId()).build(), job.getJobId());
                if (posted.result().getStatus() != CommandStatus.ACCEPTED) {
                    return posted;
                }
                jobs.remove(job.getJobId());
                return new Decision(posted.result(), posted.instructions(), List.of(), List.of(),
                        List.of(job.getJobId()), List.of());
            }
            if (body instanceof StartJob start) {
                JobDefinition job = jobs.get(start.getJobId()).orElse(null);
                if (job == null) {
                    return reject(command, "unknown job '" + start.getJobId() + "'");
                }
                List<String> assigned = effectiveTargets(job);
                List<String> targets = start.getTargets().isEmpty() ? assigned : start.getTargets();
                List<String> foreign = targets.stream().filter(t -> !assigned.contains(t)).toList();
                if (!foreign.isEmpty()) {
                    return reject(command, "job '" + job.getJobId() + "' is not assigned to " + foreign);
                }
                return post(command, targets, t -> JobStart.newBuilder().setJobId(job.getJobId())
                        .setStartStepId(start.getStartStepId()).build(), job.getJobId());
            }
            if (body instanceof StopJob stop) {
                JobDefinition job = jobs.get(stop.getJobId()).orElse(null);
                if (job == null) {
                    return reject(command, "unknown job '" + stop.getJobId() + "'");
                }
                List<String> targets = stop.getTargets().isEmpty() ? effectiveTargets(job) : stop.getTargets();
                return post(command, targets, t -> JobStop.newBuilder().setJobId(job.getJobId()).build(),
                        job.getJobId());
            }
            if (body instanceof UpdateGroup update) {
                return updateGroup(command, update);
            }
            if (body instanceof DeleteGroup delete) {
                return deleteGroup(command, delete);
            }
            if (body instanceof ResyncTargets resync) {
                return resync(command, resync.getTargets());
            }
            if (body instanceof DefectTarget defect) {
                return defect(command, defect);
            }
            if (body instanceof EnlistTarget enlist) {
                return enlist(command, enlist);
            }
        } catch (IllegalArgumentException e) {
            return reject(command, e.getMessage());
        }
        return reject(command, body.getClass().getSimpleName() + " is not supported by this master version yet");
    }

    private Decision upsertJob(Command command, UpsertJob upsert) {
        JobDefinition requested = upsert.getJob();
        JobDefinition existing = jobs.get(requested.getJobId()).orElse(null);
        if (existing != null && upsert.getMode() == UpsertMode.CREATE) {
            return reject(command, "duplicate job '" + requested.getJobId() + "' (use update)");
        }
        if (existing == null && upsert.getMode() == UpsertMode.UPDATE) {
            return reject(command, "unknown job '" + requested.getJobId() + "'");
        }
        List<String> emptyGroups = requested.getGroups().stream().filter(g -> registry.members(g).isEmpty()).toList();
        if (!emptyGroups.isEmpty()) {
            return reject(command, "unknown group" + (emptyGroups.size() == 1 ? " '" + emptyGroups.get(0) + "'"
                    : "s " + emptyGroups) + " (a group exists while it has members)");
        }
        if (requested.getTargets().isEmpty() && requested.getGroups().isEmpty()) {
            return reject(command, "job '" + requested.getJobId() + "' names no targets or groups");
        }
        try {
            Jobs.validate(requested);
        } catch (IllegalArgumentException e) {
            return reject(command, e.getMessage());
        }
        List<String> unknown = requested.getTargets().stream().filter(t -> !registry.contains(t)).toList();
        if (!unknown.isEmpty()) {
            return reject(command, "unknown target" + (unknown.size() == 1 ? " '" + unknown.get(0) + "'"
                    : "s " + unknown));
        }
        JobDefinition job = JobDefinition.newBuilder(requested)
                .setVersion(existing == null ? 1 : existing.getVersion() + 1).build();
        List<String> before = existing == null ? List.of() : effectiveTargets(existing);
        List<String> after = effectiveTargets(job);
        Instant now = now();
        List<Instruction> instructions = new ArrayList<>();
        List<PostedInstruction> posted = new ArrayList<>();
        for (String target : after) {
            boolean held = before.contains(target);
            add(command, target, held ? JobUpdate.newBuilder().setJob(job).build()
                    : JobInsert.newBuilder().setJob(job).build(), now,
                    instructions, posted);
        }
        for (String target : before) {
            if (!after.contains(target)) {
                add(command, target, JobDelete.newBuilder().setJobId(job.getJobId()).build(), now,
                        instructions, posted);
            }
        }
        jobs.put(job);
        return new Decision(result(command, CommandStatus.ACCEPTED, null, posted), instructions, List.of(),
                List.of(job), List.of(), List.of());
    }

    /**
     * Pre-registers a target (its topic is created before anything is posted) with its groups; the jobs of groups it
     * joins are posted to it at once.
     */
    private Decision enlist(Command command, EnlistTarget enlist) {
        String target = Topics.requireValidTargetName(enlist.getTarget());
        enlist.getGroups().forEach(Topics::requireValidTargetName);
        Map<String, List<String>> before = new java.util.HashMap<>();
        jobs.all().forEach(j -> before.put(j.getJobId(), effectiveTargets(j)));
        java.util.SortedSet<String> groups = new java.util.TreeSet<>(registry.groups(target));
        groups.addAll(enlist.getGroups());
        registry.preRegister(target, enlist.getLocation(), List.copyOf(groups));
        Instant now = now();
        List<Instruction> instructions = new ArrayList<>();
        List<PostedInstruction> posted = new ArrayList<>();
        for (JobDefinition job : jobs.all()) {
            if (effectiveTargets(job).contains(target) && !before.get(job.getJobId()).contains(target)) {
                add(command, target, JobInsert.newBuilder().setJob(job).build(), now, instructions,
                        posted);
            }
        }
        return new Decision(result(command, CommandStatus.ACCEPTED, null, posted), instructions, List.of(target),
                List.of(), List.of(), List.of(registration(target)));
    }

    /** Where a job runs: its named targets and the current members of its groups, sorted, once each. */
    List<String> effectiveTargets(JobDefinition job) {
        java.util.SortedSet<String> targets = new java.util.TreeSet<>(job.getTargets());
        job.getGroups().forEach(g -> targets.addAll(registry.members(g)));
        return List.copyOf(targets);
    }

    /** Adds and removes group members; jobs of the group follow: new members get them, leavers lose them. */
    private Decision updateGroup(Command command, UpdateGroup update) {
        String group = update.getGroup();
        Topics.requireValidTargetName(group);
        List<String> named = new ArrayList<>(update.getAddTargets());
        named.addAll(update.getRemoveTargets());
        List<String> unknown = named.stream().filter(t -> !registry.contains(t)).distinct().toList();
        if (!unknown.isEmpty()) {
            return reject(command, "unknown target" + (unknown.size() == 1 ? " '" + unknown.get(0) + "'"
                    : "s " + unknown));
        }
        Map<String, List<String>> before = new java.util.HashMap<>();
        jobs.all().forEach(j -> before.put(j.getJobId(), effectiveTargets(j)));
        List<TargetRegistration> changed = new ArrayList<>();
        for (String target : named.stream().distinct().toList()) {
            java.util.SortedSet<String> groups = new java.util.TreeSet<>(registry.groups(target));
            if (update.getAddTargets().contains(target)) {
                groups.add(group);
            }
            if (update.getRemoveTargets().contains(target)) {
                groups.remove(group);
            }
            registry.groups(target, List.copyOf(groups));
            changed.add(registration(target));
        }
        Instant now = now();
        List<Instruction> instructions = new ArrayList<>();
        List<PostedInstruction> posted = new ArrayList<>();
        for (JobDefinition job : jobs.all()) {
            List<String> after = effectiveTargets(job);
            List<String> was = before.get(job.getJobId());
            for (String target : after) {
                if (!was.contains(target)) {
                    add(command, target, JobInsert.newBuilder().setJob(job).build(), now, instructions,
                            posted);
                }
            }
            for (String target : was) {
                if (!after.contains(target)) {
                    add(command, target, JobDelete.newBuilder().setJobId(job.getJobId()).build(), now,
                            instructions, posted);
                }
            }
        }
        return new Decision(result(command, CommandStatus.ACCEPTED, null, posted), instructions, List.of(),
                List.of(), List.of(), changed);
    }

    private Decision deleteGroup(Command command, DeleteGroup delete) {
        String group = delete.getGroup();
        List<String> users = jobs.all().stream().filter(j -> j.getGroups().contains(group))
                .map(JobDefinition::getJobId).toList();
        if (!users.isEmpty()) {
            return reject(command, "group '" + group + "' is used by job" + (users.size() == 1 ? " '" + users.get(0)
                    + "'" : "s " + users) + "; change those jobs first");
        }
        List<String> members = registry.members(group);
        if (members.isEmpty()) {
            return reject(command, "unknown group '" + group + "'");
        }
        List<TargetRegistration> changed = new ArrayList<>();
        for (String target : members) {
            List<String> groups = new ArrayList<>(registry.groups(target));
            groups.remove(group);
            registry.groups(target, groups);
            changed.add(registration(target));
        }
        return new Decision(result(command, CommandStatus.ACCEPTED, null, List.of()), List.of(), List.of(),
                List.of(), List.of(), changed);
    }

    private TargetRegistration registration(String target) {
        return TargetRegistration.newBuilder().setTarget(target).setLocation(registry.location(target))
                .setGroups(registry.groups(target)).setRegisteredAt(now()).build();
    }

    /** Each target drops its jobs and receives every job assigned to it again, in one transaction. */
    private Decision resync(Command command, List<String> requested) {
        List<String> targets = requested.isEmpty() ? registry.names() : requested;
        List<String> unknown = targets.stream().filter(t -> !registry.contains(t)).toList();
        if (targets.isEmpty() || !unknown.isEmpty()) {
            return reject(command, targets.isEmpty() ? "no targets are enlisted" : "unknown target"
                    + (unknown.size() == 1 ? " '" + unknown.get(0) + "'" : "s " + unknown));
        }
        Instant now = now();
        List<Instruction> instructions = new ArrayList<>();
        List<PostedInstruction> posted = new ArrayList<>();
        for (String target : targets) {
            List<JobDefinition> assigned = jobs.all().stream().filter(j -> effectiveTargets(j).contains(target))
                    .toList();
            add(command, target, Resync.newBuilder().setExpectedJobs(assigned.size()).build(), now,
                    instructions, posted);
            for (JobDefinition job : assigned) {
                add(command, target, JobInsert.newBuilder().setJob(job).build(), now, instructions,
                        posted);
            }
        }
        return new Decision(result(command, CommandStatus.ACCEPTED, null, posted), instructions, List.of());
    }

    /**
     * Removes a target from multiserver administration: a DEFECT instruction tells it to release its jobs, unless
     * forced (the target is gone), and the registration is tombstoned either way.
     */
    private Decision defect(Command command, DefectTarget defect) {
        String target = defect.getTarget();
        if (!registry.contains(target)) {
            return reject(command, "unknown target '" + target + "'");
        }
        List<Instruction> instructions = new ArrayList<>();
        List<PostedInstruction> posted = new ArrayList<>();
        if (!defect.getForce()) {
            add(command, target, Defect.newBuilder().setReason("defected by the master").build(), now(),
                    instructions, posted);
        }
        registry.remove(target);
        List<JobDefinition> changedJobs = new ArrayList<>();
        for (JobDefinition job : jobs.all()) {
            if (job.getTargets().contains(target)) {
                List<String> rest = job.getTargets().stream().filter(t -> !t.equals(target)).toList();
                JobDefinition updated = JobDefinition.newBuilder(job).setTargets(rest).build();
                jobs.put(updated);
                changedJobs.add(updated);
            }
        }
        return new Decision(result(command, CommandStatus.ACCEPTED, null, posted), instructions, List.of(),
                changedJobs, List.of(), List.of(), List.of(target));
    }

    /** Posts one instruction per target to targets that must all be enlisted. */
    private Decision post(Command command, List<String> targets, Function<String, Object> bodyFor, String jobId) {
        if (targets.isEmpty()) {
            return reject(command, "job '" + jobId + "' has no targets to post to");
        }
        return fanOut(command, targets, bodyFor);
    }

    private void add(Command command, String target, Object body, Instant now,
                     List<Instruction> instructions, List<PostedInstruction> posted) {
        UUID id = UUID.randomUUID();
        instructions.add(Instruction.newBuilder().setInstructionId(id).setTarget(target)
                .setCommandId(command.getCommandId()).setPostedAt(now).setBody(body).build());
        posted.add(PostedInstruction.newBuilder().setTarget(target).setInstructionId(id)
                .setOperation(Instructions.operationOf(body)).build());
    }

    /** A rejection for a command that could not even be read, when its id could. */
    public CommandResult rejectUnreadable(UUID commandId, String reason) {
        return CommandResult.newBuilder().setCommandId(commandId).setProcessedAt(now())
                .setStatus(CommandStatus.REJECTED).setReason(reason).setInstructions(List.of()).build();
    }

    private Decision fanOut(Command command, List<String> requested, Function<String, Object> bodyFor) {
        List<String> targets = requested.isEmpty() ? registry.names() : requested.stream().distinct().toList();
        if (targets.isEmpty()) {
            return reject(command, "no targets are enlisted");
        }
        List<String> unknown = targets.stream().filter(t -> !registry.contains(t)).toList();
        if (!unknown.isEmpty()) {
            List<String> enlisted = registry.names();
            return reject(command, (unknown.size() == 1 ? "unknown target '" + unknown.get(0) + "'"
                    : "unknown targets " + unknown) + (enlisted.isEmpty() ? " (no targets are enlisted)"
                    : " (enlisted: " + String.join(", ", enlisted) + ")"));
        }
        Instant now = now();
        List<Instruction> instructions = new ArrayList<>();
        List<PostedInstruction> posted = new ArrayList<>();
        for (String target : targets) {
            add(command, target, bodyFor.apply(target), now, instructions, posted);
        }
        return new Decision(result(command, CommandStatus.ACCEPTED, null, posted), instructions, List.of());
    }

    private Decision reject(Command command, String reason) {
        return new Decision(result(command, CommandStatus.REJECTED, reason, List.of()), List.of(), List.of());
    }

    private CommandResult result(Command command, CommandStatus status, String reason, List<PostedInstruction> posted) {
        return CommandResult.newBuilder().setCommandId(command.getCommandId()).setProcessedAt(now())
                .setStatus(status).setReason(reason).setInstructions(posted).build();
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }
}
