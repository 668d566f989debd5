package io.msx.master.internal.topology.commands;

import io.msx.avro.command.SetPollingInterval;
import io.msx.avro.instruction.SetPollInterval;

import java.time.Duration;

/** SetPollingInterval: 10 s to 8 h, posted to each target. */
final class SetPollingIntervalHandler implements CommandHandler<SetPollingInterval> {

    static final int MIN_POLL_SECONDS = 10;
    static final int MAX_POLL_SECONDS = (int) Duration.ofHours(8).toSeconds();

    private final Fleet fleet;

    SetPollingIntervalHandler(Fleet fleet) {
        this.fleet = fleet;
    }

    @Override
    public Decision handle(SetPollingInterval command, Plan plan) {
        int seconds = command.getIntervalSeconds();
        if (seconds < MIN_POLL_SECONDS || seconds > MAX_POLL_SECONDS) {
            return plan.reject("polling interval " + seconds + " s is outside 10 s to 8 h (28800 s)");
        }
        return FanOut.post(fleet, plan, command.getTargets(),
                h -> SetPollInterval.newBuilder().setHeader(h).setIntervalSeconds(seconds).build());
    }
}
