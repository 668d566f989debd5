package io.msx.master.internal;

import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.avro.CommandStatus;
import io.msx.avro.InstructionHeader;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.PostedInstruction;
import io.msx.avro.TargetRegistration;
import io.msx.avro.command.DefectTarget;
import io.msx.avro.command.DeleteGroup;
import io.msx.avro.command.DeleteJob;
import io.msx.avro.command.EnlistTarget;
import io.msx.avro.command.ForcePoll;
import io.msx.avro.command.ResyncTargets;
import io.msx.avro.command.SetPollingInterval;
import io.msx.avro.command.StartJob;
import io.msx.avro.command.StopJob;
import io.msx.avro.command.SyncClocks;
import io.msx.avro.command.UpdateGroup;
import io.msx.avro.command.UpsertJob;
import io.msx.avro.command.UpsertMode;
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
import io.msx.schemas.JobRules;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.Topics;
import org.apache.avro.specific.SpecificRecord;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Function;

/**
 * Decides what a command does: which instructions go to which targets, which job definitions and registrations
 * change, or why it is rejected. Every name and job definition in a command is validated first ({@link Topics},
 * {@link JobRules}).
 *
 * <p>Deciding changes nothing. A {@link Decision} carries its effect on the master's memory, which the command loop
 * applies only once it has encoded the decision's records and found them within the record limit, so a command
 * rejected at that point leaves no trace, and the next command of the batch is decided on the state this one left.
 * Pure logic over the {@link TargetRegistry} and {@link JobRegistry}; called from one thread.
 */
public final class CommandProcessor {

    static final int MIN_POLL_SECONDS = 10;
    static final int MAX_POLL_SECONDS = (int) Duration.ofHours(8).toSeconds();
    private static final Runnable NO_EFFECT = () -> { };

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
     * @param result         the answer for msx.command-results
     * @param instructions   instructions to post (records of the instruction family), each to its target's topic
     * @param newTargets     targets whose topics must exist before the instructions are posted
     * @param jobsPut        job definitions to write to msx.jobs
     * @param jobsDeleted    job ids to tombstone in msx.jobs
     * @param targetsPut     registrations to write to msx.targets
     * @param targetsRemoved registrations to tombstone in msx.targets
     * @param effects        the decision's effect on the master's memory; see {@link #apply()}
     */
    public record Decision(CommandResult result, List<SpecificRecord> instructions, List<String> newTargets,
                           List<JobDefinition> jobsPut, List<String> jobsDeleted,
                           List<TargetRegistration> targetsPut, List<String> targetsRemoved, Runnable effects) {

        public boolean accepted() {
            return result.getStatus() == CommandStatus.ACCEPTED;
        }

        /**
         * Makes the decision the master's state in memory (registrations, groups, jobs). Call it once, when the
         * decision's records go into the transaction; if the transaction aborts, the state is reloaded from Kafka.
         */
        public void apply() {
            effects.run();
        }
    }

    /**
     * Decides a command (a record of the {@link MessageFamily#COMMAND} family) on the current state.
     *
     * @throws IllegalArgumentException when {@code command} is not a command
     */
    public Decision decide(SpecificRecord command) {
        CommandHeader header = MessageFamily.COMMAND.header(command);
        try {
            return decide(new Plan(header), command);
        } catch (IllegalArgumentException e) {
            return reject(header, e.getMessage());
        }
    }

    private Decision decide(Plan plan, SpecificRecord command) {
        if (command instanceof ForcePoll poll) {
            return fanOut(plan, poll.getTargets(), h -> PollNow.newBuilder().setHeader(h).build());
        }
        if (command instanceof SetPollingInterval set) {
            int seconds = set.getIntervalSeconds();
            if (seconds < MIN_POLL_SECONDS || seconds > MAX_POLL_SECONDS) {
                return reject(plan.command, "polling interval " + seconds + " s is outside 10 s to 8 h (28800 s)");
            }
            return fanOut(plan, set.getTargets(),
                    h -> SetPollInterval.newBuilder().setHeader(h).setIntervalSeconds(seconds).build());
        }
        if (command instanceof SyncClocks sync) {
            Instant now = plan.now;
            return fanOut(plan, sync.getTargets(), h -> SyncTime.newBuilder().setHeader(h).setMasterTime(now).build());
        }
        if (command instanceof UpsertJob upsert) {
            return upsertJob(plan, upsert);
        }
        if (command instanceof DeleteJob delete) {
            return deleteJob(plan, delete);
        }
        if (command instanceof StartJob start) {
            return startJob(plan, start);
        }
        if (command instanceof StopJob stop) {
            JobDefinition job = jobs.get(stop.getJobId()).orElse(null);
            if (job == null) {
                return reject(plan.command, "unknown job '" + stop.getJobId() + "'");
            }
            List<String> targets = stop.getTargets().isEmpty() ? effectiveTargets(job) : stop.getTargets();
            return post(plan, targets, h -> JobStop.newBuilder().setHeader(h).setJobId(job.getJobId()).build(),
                    job.getJobId());
        }
        if (command instanceof UpdateGroup update) {
            return updateGroup(plan, update);
        }
        if (command instanceof DeleteGroup delete) {
            return deleteGroup(plan, delete);
        }
        if (command instanceof ResyncTargets resync) {
            return resync(plan, resync.getTargets());
        }
        if (command instanceof DefectTarget defect) {
            return defect(plan, defect);
        }
        if (command instanceof EnlistTarget enlist) {
            return enlist(plan, enlist);
        }
        return reject(plan.command, MessageFamily.typeName(command) + " is not supported by this master version yet");
    }

    private Decision upsertJob(Plan plan, UpsertJob upsert) {
        JobDefinition requested = upsert.getJob();
        JobRules.validate(requested);
        JobDefinition existing = jobs.get(requested.getJobId()).orElse(null);
        if (existing != null && upsert.getMode() == UpsertMode.CREATE) {
            return reject(plan.command, "duplicate job '" + requested.getJobId() + "' (use update)");
        }
        if (existing == null && upsert.getMode() == UpsertMode.UPDATE) {
            return reject(plan.command, "unknown job '" + requested.getJobId() + "'");
        }
        List<String> emptyGroups = requested.getGroups().stream().filter(g -> registry.members(g).isEmpty()).toList();
        if (!emptyGroups.isEmpty()) {
            return reject(plan.command, "unknown group" + (emptyGroups.size() == 1 ? " '" + emptyGroups.get(0) + "'"
                    : "s " + emptyGroups) + " (a group exists while it has members)");
        }
        if (requested.getTargets().isEmpty() && requested.getGroups().isEmpty()) {
            return reject(plan.command, "job '" + requested.getJobId() + "' names no targets or groups");
        }
        List<String> unknown = unknownTargets(requested.getTargets());
        if (!unknown.isEmpty()) {
            return reject(plan.command, unknownTargets(unknown, false));
        }
        JobDefinition job = JobDefinition.newBuilder(requested)
                .setVersion(existing == null ? 1 : existing.getVersion() + 1).build();
        List<String> before = existing == null ? List.of() : effectiveTargets(existing);
        List<String> after = effectiveTargets(job);
        for (String target : after) {
            plan.post(target, before.contains(target) ? h -> JobUpdate.newBuilder().setHeader(h).setJob(job).build()
                    : h -> JobInsert.newBuilder().setHeader(h).setJob(job).build());
        }
        for (String target : before) {
            if (!after.contains(target)) {
                plan.post(target, h -> JobDelete.newBuilder().setHeader(h).setJobId(job.getJobId()).build());
            }
        }
        plan.jobsPut.add(job);
        plan.effects.add(() -> jobs.put(job));
        return plan.accept();
    }

    /** Deletes a job everywhere it runs; a job that runs nowhere (its targets defected) is just forgotten. */
    private Decision deleteJob(Plan plan, DeleteJob delete) {
        JobDefinition job = jobs.get(delete.getJobId()).orElse(null);
        if (job == null) {
            return reject(plan.command, "unknown job '" + delete.getJobId() + "'");
        }
        for (String target : effectiveTargets(job)) {
            plan.post(target, h -> JobDelete.newBuilder().setHeader(h).setJobId(job.getJobId()).build());
        }
        plan.jobsDeleted.add(job.getJobId());
        plan.effects.add(() -> jobs.remove(job.getJobId()));
        return plan.accept();
    }

    private Decision startJob(Plan plan, StartJob start) {
        JobDefinition job = jobs.get(start.getJobId()).orElse(null);
        if (job == null) {
            return reject(plan.command, "unknown job '" + start.getJobId() + "'");
        }
        Integer step = start.getStartStepId();
        if (step != null && job.getSteps().stream().mapToInt(JobStep::getStepId).noneMatch(id -> id == step)) {
            return reject(plan.command, "job '" + job.getJobId() + "' has no step " + step);
        }
        List<String> assigned = effectiveTargets(job);
        List<String> targets = start.getTargets().isEmpty() ? assigned : start.getTargets();
        List<String> foreign = targets.stream().filter(t -> !assigned.contains(t)).toList();
        if (!foreign.isEmpty()) {
            unknownTargets(foreign); // a name that can never be a target gets the naming rule
            return reject(plan.command, "job '" + job.getJobId() + "' is not assigned to " + foreign);
        }
        return post(plan, targets, h -> JobStart.newBuilder().setHeader(h).setJobId(job.getJobId())
                .setStartStepId(step).build(), job.getJobId());
    }

    /**
     * Pre-registers a target (its topic is created before anything is posted) with its groups; the jobs of groups it
     * joins are posted to it at once.
     */
    private Decision enlist(Plan plan, EnlistTarget enlist) {
        String target = Topics.requireValidTargetName(enlist.getTarget());
        enlist.getGroups().forEach(Topics::requireValidGroupName);
        SortedSet<String> groups = new TreeSet<>(registry.groups(target));
        groups.addAll(enlist.getGroups());
        Map<String, List<String>> regrouped = Map.of(target, List.copyOf(groups));
        for (JobDefinition job : jobs.all()) {
            if (effectiveTargets(job, regrouped).contains(target) && !effectiveTargets(job).contains(target)) {
                plan.post(target, h -> JobInsert.newBuilder().setHeader(h).setJob(job).build());
            }
        }
        String location = enlist.getLocation() != null ? enlist.getLocation() : registry.location(target);
        plan.newTargets.add(target);
        plan.targetsPut.add(registration(target, location, regrouped.get(target), plan.now));
        plan.effects.add(() -> registry.preRegister(target, enlist.getLocation(), regrouped.get(target)));
        return plan.accept();
    }

    /** Where a job runs: its named targets and the current members of its groups, sorted, once each. */
    List<String> effectiveTargets(JobDefinition job) {
        return effectiveTargets(job, Map.of());
    }

    /** Where a job would run if the targets in {@code regrouped} (enlisted or not) had those groups. */
    private List<String> effectiveTargets(JobDefinition job, Map<String, List<String>> regrouped) {
        SortedSet<String> targets = new TreeSet<>(job.getTargets());
        for (String group : job.getGroups()) {
            registry.members(group).stream().filter(t -> !regrouped.containsKey(t)).forEach(targets::add);
        }
        regrouped.forEach((target, groups) -> {
            if (groups.stream().anyMatch(job.getGroups()::contains)) {
                targets.add(target);
            }
        });
        return List.copyOf(targets);
    }

    /** Adds and removes group members; jobs of the group follow: new members get them, leavers lose them. */
    private Decision updateGroup(Plan plan, UpdateGroup update) {
        String group = update.getGroup();
        if (!update.getAddTargets().isEmpty() || registry.members(group).isEmpty()) {
            Topics.requireValidGroupName(group); // an existing group may still be left under its old name
        }
        List<String> named = new ArrayList<>(update.getAddTargets());
        named.addAll(update.getRemoveTargets());
        named = named.stream().distinct().toList();
        List<String> unknown = unknownTargets(named);
        if (!unknown.isEmpty()) {
            return reject(plan.command, unknownTargets(unknown, false));
        }
        Map<String, List<String>> regrouped = new LinkedHashMap<>();
        for (String target : named) {
            SortedSet<String> groups = new TreeSet<>(registry.groups(target));
            if (update.getAddTargets().contains(target)) {
                groups.add(group);
            }
            if (update.getRemoveTargets().contains(target)) {
                groups.remove(group);
            }
            regrouped.put(target, List.copyOf(groups));
        }
        postMoves(plan, regrouped);
        regroup(plan, regrouped);
        return plan.accept();
    }

    /** Posts each job to the targets it gains and deletes it where it is lost when {@code regrouped} applies. */
    private void postMoves(Plan plan, Map<String, List<String>> regrouped) {
        for (JobDefinition job : jobs.all()) {
            List<String> was = effectiveTargets(job);
            List<String> after = effectiveTargets(job, regrouped);
            for (String target : after) {
                if (!was.contains(target)) {
                    plan.post(target, h -> JobInsert.newBuilder().setHeader(h).setJob(job).build());
                }
            }
            for (String target : was) {
                if (!after.contains(target)) {
                    plan.post(target, h -> JobDelete.newBuilder().setHeader(h).setJobId(job.getJobId()).build());
                }
            }
        }
    }

    /** New registrations for targets whose groups change, and the change itself as an effect. */
    private void regroup(Plan plan, Map<String, List<String>> regrouped) {
        regrouped.forEach((target, groups) -> plan.targetsPut.add(registration(target, registry.location(target),
                groups, plan.now)));
        plan.effects.add(() -> regrouped.forEach(registry::groups));
    }

    private Decision deleteGroup(Plan plan, DeleteGroup delete) {
        String group = delete.getGroup();
        List<String> users = jobs.all().stream().filter(j -> j.getGroups().contains(group))
                .map(JobDefinition::getJobId).toList();
        if (!users.isEmpty()) {
            return reject(plan.command, "group '" + group + "' is used by job" + (users.size() == 1 ? " '"
                    + users.get(0) + "'" : "s " + users) + "; change those jobs first");
        }
        List<String> members = registry.members(group);
        if (members.isEmpty()) {
            Topics.requireValidGroupName(group);
            return reject(plan.command, "unknown group '" + group + "'");
        }
        Map<String, List<String>> regrouped = new LinkedHashMap<>();
        for (String target : members) {
            regrouped.put(target, registry.groups(target).stream().filter(g -> !g.equals(group)).toList());
        }
        regroup(plan, regrouped);
        return plan.accept();
    }

    private static TargetRegistration registration(String target, String location, List<String> groups,
                                                   Instant now) {
        return TargetRegistration.newBuilder().setTarget(target).setLocation(location).setGroups(groups)
                .setRegisteredAt(now).build();
    }

    /** Each target drops its jobs and receives every job assigned to it again, in one transaction. */
    private Decision resync(Plan plan, List<String> requested) {
        List<String> targets = requested.isEmpty() ? registry.names() : requested.stream().distinct().toList();
        List<String> unknown = unknownTargets(targets);
        if (targets.isEmpty() || !unknown.isEmpty()) {
            return reject(plan.command, targets.isEmpty() ? "no targets are enlisted"
                    : unknownTargets(unknown, false));
        }
        for (String target : targets) {
            List<JobDefinition> assigned = jobs.all().stream().filter(j -> effectiveTargets(j).contains(target))
                    .toList();
            plan.post(target, h -> Resync.newBuilder().setHeader(h).setExpectedJobs(assigned.size()).build());
            for (JobDefinition job : assigned) {
                plan.post(target, h -> JobInsert.newBuilder().setHeader(h).setJob(job).build());
            }
        }
        return plan.accept();
    }

    /**
     * Removes a target from multiserver administration: a DEFECT instruction tells it to release its jobs, unless
     * forced (the target is gone), and the registration is tombstoned either way.
     */
    private Decision defect(Plan plan, DefectTarget defect) {
        String target = defect.getTarget();
        if (!registry.contains(target)) {
            Topics.requireValidTargetName(target);
            return reject(plan.command, "unknown target '" + target + "'");
        }
        if (!defect.getForce()) {
            plan.post(target, h -> Defect.newBuilder().setHeader(h).setReason("defected by the master").build());
        }
        for (JobDefinition job : jobs.all()) {
            if (job.getTargets().contains(target)) {
                List<String> rest = job.getTargets().stream().filter(t -> !t.equals(target)).toList();
                plan.jobsPut.add(JobDefinition.newBuilder(job).setTargets(rest).build());
            }
        }
        List<JobDefinition> changed = List.copyOf(plan.jobsPut);
        plan.targetsRemoved.add(target);
        plan.effects.add(() -> {
            registry.remove(target);
            changed.forEach(jobs::put);
        });
        return plan.accept();
    }

    /** Posts one instruction per target to targets of a job that must all be enlisted. */
    private Decision post(Plan plan, List<String> targets, Function<InstructionHeader, SpecificRecord> instruction,
                          String jobId) {
        if (targets.isEmpty()) {
            return reject(plan.command, "job '" + jobId + "' has no targets to post to");
        }
        return fanOut(plan, targets, instruction);
    }

    private Decision fanOut(Plan plan, List<String> requested,
                            Function<InstructionHeader, SpecificRecord> instruction) {
        List<String> targets = requested.isEmpty() ? registry.names() : requested.stream().distinct().toList();
        if (targets.isEmpty()) {
            return reject(plan.command, "no targets are enlisted");
        }
        List<String> unknown = unknownTargets(targets);
        if (!unknown.isEmpty()) {
            return reject(plan.command, unknownTargets(unknown, true));
        }
        targets.forEach(t -> plan.post(t, instruction));
        return plan.accept();
    }

    /**
     * The names that are not enlisted.
     *
     * @throws IllegalArgumentException naming the rule (and the collision it prevents) for a name that can never be
     *                                  a target, so an operator learns why rather than that it is unknown
     */
    private List<String> unknownTargets(Collection<String> names) {
        List<String> unknown = names.stream().filter(t -> !registry.contains(t)).toList();
        unknown.forEach(Topics::requireValidTargetName);
        return unknown;
    }

    private String unknownTargets(List<String> unknown, boolean listEnlisted) {
        String reason = unknown.size() == 1 ? "unknown target '" + unknown.get(0) + "'" : "unknown targets " + unknown;
        if (!listEnlisted) {
            return reason;
        }
        List<String> enlisted = registry.names();
        return reason + (enlisted.isEmpty() ? " (no targets are enlisted)"
                : " (enlisted: " + String.join(", ", enlisted) + ")");
    }

    /** The answer to a command that is rejected whatever it asked (unreadable, too large, refused by Kafka). */
    public CommandResult rejection(UUID commandId, String reason) {
        return result(commandId, CommandStatus.REJECTED, reason, List.of());
    }

    private Decision reject(CommandHeader command, String reason) {
        return new Decision(rejection(command.getCommandId(), reason), List.of(), List.of(), List.of(), List.of(),
                List.of(), List.of(), NO_EFFECT);
    }

    private CommandResult result(UUID commandId, CommandStatus status, String reason, List<PostedInstruction> posted) {
        return CommandResult.newBuilder().setCommandId(commandId).setProcessedAt(now())
                .setStatus(status).setReason(reason).setInstructions(posted).build();
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }

    /** What an accepted command is building up, decided on the state before it. */
    private final class Plan {
        private final CommandHeader command;
        private final Instant now = now();
        private final List<SpecificRecord> instructions = new ArrayList<>();
        private final List<PostedInstruction> posted = new ArrayList<>();
        private final List<String> newTargets = new ArrayList<>();
        private final List<JobDefinition> jobsPut = new ArrayList<>();
        private final List<String> jobsDeleted = new ArrayList<>();
        private final List<TargetRegistration> targetsPut = new ArrayList<>();
        private final List<String> targetsRemoved = new ArrayList<>();
        private final List<Runnable> effects = new ArrayList<>();

        Plan(CommandHeader command) {
            this.command = command;
        }

        void post(String target, Function<InstructionHeader, SpecificRecord> instruction) {
            UUID id = UUID.randomUUID();
            SpecificRecord built = instruction.apply(InstructionHeader.newBuilder().setInstructionId(id)
                    .setTarget(target).setCommandId(command.getCommandId()).setPostedAt(now).build());
            instructions.add(built);
            posted.add(PostedInstruction.newBuilder().setTarget(target).setInstructionId(id)
                    .setOperation(Instructions.operationOf(built)).build());
        }

        Decision accept() {
            List<Runnable> all = List.copyOf(effects);
            return new Decision(result(command.getCommandId(), CommandStatus.ACCEPTED, null, List.copyOf(posted)),
                    List.copyOf(instructions), List.copyOf(newTargets), List.copyOf(jobsPut), List.copyOf(jobsDeleted),
                    List.copyOf(targetsPut), List.copyOf(targetsRemoved), () -> all.forEach(Runnable::run));
        }
    }
}
