package io.msx.master.cli;

import io.msx.avro.SetPollingInterval;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code msx target set-poll --interval 30s T1 ...}: change how often targets check in (10 s to 8 h). */
@Command(name = "set-poll", description = "Set the polling interval of targets (10s to 8h).")
public final class TargetSetPollCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connection;

    @Option(names = "--interval", required = true, converter = DurationConverter.class,
            description = "New polling interval, e.g. 30s or 5m.")
    Duration interval;

    @Parameters(paramLabel = "TARGET", arity = "0..*", description = "Targets; none means every enlisted target.")
    List<String> targets = List.of();

    @Option(names = "--timeout", defaultValue = "60s", converter = DurationConverter.class,
            description = "How long to wait for the master's answer (default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() throws Exception {
        CommandSubmitter.Outcome outcome = CommandSubmitter.submit(connection, SetPollingInterval.newBuilder()
                .setTargets(targets).setIntervalSeconds((int) Math.min(Integer.MAX_VALUE, interval.toSeconds()))
                .build(), timeout, spec.commandLine().getErr(), Clock.systemUTC());
        if (outcome.accepted()) {
            outcome.result().getInstructions().forEach(p -> spec.commandLine().getOut().println(
                    p.getTarget() + "  polling interval " + interval.toSeconds() + "s posted"));
        }
        return outcome.exitCode();
    }
}
