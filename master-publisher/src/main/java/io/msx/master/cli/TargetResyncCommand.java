package io.msx.master.cli;

import io.msx.avro.ResyncTargets;
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

/** {@code msx target resync [T...]}: targets drop their jobs and receive every job assigned to them again. */
@Command(name = "resync", description = "Make targets drop their jobs and receive their assigned jobs again.")
public final class TargetResyncCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connection;

    @Parameters(paramLabel = "TARGET", arity = "0..*", description = "Targets; none means every enlisted target.")
    List<String> targets = List.of();

    @Option(names = "--timeout", defaultValue = "60s", converter = DurationConverter.class,
            description = "How long to wait for the master's answer (default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() throws Exception {
        CommandSubmitter.Outcome outcome = CommandSubmitter.submit(connection,
                ResyncTargets.newBuilder().setTargets(targets).build(), timeout, spec.commandLine().getErr(),
                Clock.systemUTC());
        if (outcome.accepted()) {
            outcome.result().getInstructions().forEach(p -> spec.commandLine().getOut().println(
                    p.getTarget() + "  " + p.getOperation() + " posted"));
        }
        return outcome.exitCode();
    }
}
