package io.msx.master.internal.topology.commands;

import io.msx.avro.command.ForcePoll;
import io.msx.avro.instruction.PollNow;

/** ForcePoll: a PollNow to each target, which checks in at once answering it. */
final class ForcePollHandler implements CommandHandler<ForcePoll> {

    private final Fleet fleet;

    ForcePollHandler(Fleet fleet) {
        this.fleet = fleet;
    }

    @Override
    public Decision handle(ForcePoll command, Plan plan) {
        return FanOut.post(fleet, plan, command.getTargets(), h -> PollNow.newBuilder().setHeader(h).build());
    }
}
