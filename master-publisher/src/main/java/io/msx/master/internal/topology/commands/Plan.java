package io.msx.master.internal.topology.commands;

import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.avro.CommandStatus;
import io.msx.avro.InstructionHeader;
import io.msx.avro.JobDefinition;
import io.msx.avro.PostedInstruction;
import io.msx.master.internal.topology.Registration;
import io.msx.master.internal.topology.Instructions;
import org.apache.avro.specific.SpecificRecord;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;

/**
 * What an accepted command is building up, decided on the state before it: the instructions it posts, the targets
 * whose topics must exist first, and the registrations and jobs it changes. Nothing is written while it is built;
 * {@link #accept()} or {@link #reject(String)} turns it into a {@link Decision}. Not thread-safe.
 */
public final class Plan {

    private final CommandHeader command;
    private final Instant now;
    private final List<SpecificRecord> instructions = new ArrayList<>();
    private final List<PostedInstruction> posted = new ArrayList<>();
    private final List<String> newTargets = new ArrayList<>();
    private final List<Registration> registrations = new ArrayList<>();
    private final List<JobDefinition> jobsPut = new ArrayList<>();
    private final List<String> jobsDeleted = new ArrayList<>();

    public Plan(CommandHeader command, Instant now) {
        this.command = command;
        this.now = now;
    }

    public CommandHeader command() {
        return command;
    }

    /** When the command is processed (master clock, milliseconds). */
    public Instant now() {
        return now;
    }

    /** Posts one instruction to a target; {@code instruction} builds it around its header. */
    public void post(String target, Function<InstructionHeader, SpecificRecord> instruction) {
        UUID id = UUID.randomUUID();
        SpecificRecord built = instruction.apply(InstructionHeader.newBuilder().setInstructionId(id)
                .setTarget(target).setCommandId(command.getCommandId()).setPostedAt(now).build());
        instructions.add(built);
        posted.add(PostedInstruction.newBuilder().setTarget(target).setInstructionId(id)
                .setOperation(Instructions.operationOf(built)).build());
    }

    /** A target whose topic must exist before anything is posted. */
    public void newTarget(String target) {
        newTargets.add(target);
    }

    public void register(Registration registration) {
        registrations.add(registration);
    }

    public void putJob(JobDefinition job) {
        jobsPut.add(job);
    }

    public void deleteJob(String jobId) {
        jobsDeleted.add(jobId);
    }

    public Decision accept() {
        return new Decision(result(CommandStatus.ACCEPTED, null, List.copyOf(posted)), List.copyOf(instructions),
                List.copyOf(newTargets), List.copyOf(registrations), List.copyOf(jobsPut), List.copyOf(jobsDeleted));
    }

    /** Rejects the command: nothing of what was planned happens. */
    public Decision reject(String reason) {
        return Decision.rejected(result(CommandStatus.REJECTED, reason, List.of()));
    }

    private CommandResult result(CommandStatus status, String reason, List<PostedInstruction> postedInstructions) {
        return CommandResult.newBuilder().setCommandId(command.getCommandId()).setProcessedAt(now)
                .setStatus(status).setReason(reason).setInstructions(postedInstructions).build();
    }
}
