package io.msx.schemas;

import io.msx.avro.CommandHeader;
import io.msx.avro.InstructionHeader;
import io.msx.avro.StatusHeader;
import io.msx.avro.command.ForcePoll;
import io.msx.avro.instruction.PollNow;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.CheckInTrigger;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;

/** Sample messages for codec tests. */
final class Messages {

    private Messages() {
    }

    static Instant now() {
        return Instant.now().truncatedTo(ChronoUnit.MILLIS);
    }

    static ForcePoll forcePoll(String... targets) {
        return ForcePoll.newBuilder().setHeader(CommandHeader.newBuilder().setCommandId(UUID.randomUUID())
                .setIssuedAt(now()).build()).setTargets(List.of(targets)).build();
    }

    static PollNow pollNow(String target) {
        return PollNow.newBuilder().setHeader(InstructionHeader.newBuilder().setInstructionId(UUID.randomUUID())
                .setTarget(target).setPostedAt(now()).build()).build();
    }

    static CheckIn checkIn(String target, long seq) {
        return CheckIn.newBuilder().setHeader(StatusHeader.newBuilder().setTarget(target).setSeq(seq)
                        .setOccurredAt(now()).build())
                .setTrigger(CheckInTrigger.SCHEDULED).setLocalTime(now()).setTimeZone("UTC").setAgentVersion("1")
                .setPollingIntervalSeconds(60).build();
    }
}
