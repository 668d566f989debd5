package io.msx.master.cli;

import io.msx.avro.command.SetPollingInterval;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code msx target set-poll --interval 30s T1 ...}: change how often targets check in (10 s to 8 h). */
@Command(name = "set-poll", description = "Set the polling interval of targets (10s to 8h).")
public final class TargetSetPollCommand extends SubmittingCommand implements Callable<Integer> {

    @Option(names = "--interval", required = true, converter = DurationConverter.class,
            description = "New polling interval, e.g. 30s or 5m.")
    Duration interval;

    @Parameters(paramLabel = "TARGET", arity = "0..*", description = "Targets; none means every enlisted target.")
    List<String> targets = List.of();

    @Override
    public Integer call() throws Exception {
        return printPosted(submit(h -> SetPollingInterval.newBuilder().setHeader(h).setTargets(targets)
                .setIntervalSeconds((int) Math.min(Integer.MAX_VALUE, interval.toSeconds())).build()));
    }
}
