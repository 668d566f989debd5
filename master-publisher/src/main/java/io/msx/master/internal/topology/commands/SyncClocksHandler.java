package io.msx.master.internal.topology.commands;

import io.msx.avro.command.SyncClocks;
import io.msx.avro.instruction.SyncTime;

/** SyncClocks: each target reports its clock against the master's time carried by the instruction. */
final class SyncClocksHandler implements CommandHandler<SyncClocks> {

    private final Fleet fleet;

    SyncClocksHandler(Fleet fleet) {
        this.fleet = fleet;
    }

    @Override
    public Decision handle(SyncClocks command, Plan plan) {
        return FanOut.post(fleet, plan, command.getTargets(),
                h -> SyncTime.newBuilder().setHeader(h).setMasterTime(plan.now()).build());
    }
}
