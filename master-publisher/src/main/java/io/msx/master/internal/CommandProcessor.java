package io.msx.master.internal;

import io.msx.avro.Command;
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
import io.msx.schemas.Topics;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
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
    private final Clock clock;

    public CommandProcessor(TargetRegistry registry, Clock clock) {
        this.registry = registry;
        this.clock = clock;
    }

    /**
     * What a command decided.
     *
     * @param result the answer for msx.command-results
     * @param instructions instructions to post, each to its target's topic
     * @param newTargets targets whose topics must exist before the instructions are posted
     */
    public record Decision(CommandResult result, List<Instruction> instructions, List<String> newTargets) {
    }

    public Decision process(Command command) {
        Object body = command.getBody();
        try {
            if (body instanceof ForcePoll poll) {
                return fanOut(command, poll.getTargets(), "POLL", t -> PollNow.newBuilder().build());
            }
            if (body instanceof SetPollingInterval set) {
                int seconds = set.getIntervalSeconds();
                if (seconds < MIN_POLL_SECONDS || seconds > MAX_POLL_SECONDS) {
                    return reject(command, "polling interval " + seconds + " s is outside 10 s to 8 h (28800 s)");
                }
                return fanOut(command, set.getTargets(), "SET_POLL",
                        t -> SetPollInterval.newBuilder().setIntervalSeconds(seconds).build());
            }
            if (body instanceof SyncClocks sync) {
                Instant now = now();
                return fanOut(command, sync.getTargets(), "SYNC_TIME",
                        t -> SyncTime.newBuilder().setMasterTime(now).build());
            }
            if (body instanceof EnlistTarget enlist) {
                Topics.requireValidTargetName(enlist.getTarget());
                registry.preRegister(enlist.getTarget(), enlist.getLocation());
                return new Decision(result(command, CommandStatus.ACCEPTED, null, List.of()), List.of(),
                        List.of(enlist.getTarget()));
            }
        } catch (IllegalArgumentException e) {
            return reject(command, e.getMessage());
        }
        return reject(command, body.getClass().getSimpleName() + " is not supported by this master version yet");
    }

    /** A rejection for a command that could not even be read, when its id could. */
    public CommandResult rejectUnreadable(UUID commandId, String reason) {
        return CommandResult.newBuilder().setCommandId(commandId).setProcessedAt(now())
                .setStatus(CommandStatus.REJECTED).setReason(reason).setInstructions(List.of()).build();
    }

    private Decision fanOut(Command command, List<String> requested, String operation,
                            Function<String, Object> bodyFor) {
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
            UUID id = UUID.randomUUID();
            instructions.add(Instruction.newBuilder().setInstructionId(id).setTarget(target)
                    .setCommandId(command.getCommandId()).setPostedAt(now).setBody(bodyFor.apply(target)).build());
            posted.add(PostedInstruction.newBuilder().setTarget(target).setInstructionId(id)
                    .setOperation(operation).build());
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
