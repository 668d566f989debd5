package io.msx.master.cli;

import io.msx.avro.EnlistTarget;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;

/** {@code msx target enlist T3 [--location L]}: pre-register a target and create its topic before it starts. */
@Command(name = "enlist", description = "Pre-register a target (its topic is created at once).")
public final class TargetEnlistCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connection;

    @Parameters(paramLabel = "TARGET", description = "Target name.")
    String target;

    @Option(names = "--location", description = "Where the target is.")
    String location;

    @Option(names = "--timeout", defaultValue = "60s", converter = DurationConverter.class,
            description = "How long to wait for the master's answer (default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() throws Exception {
        CommandSubmitter.Outcome outcome = CommandSubmitter.submit(connection, EnlistTarget.newBuilder()
                .setTarget(target).setLocation(location).build(), timeout, spec.commandLine().getErr(),
                Clock.systemUTC());
        if (outcome.accepted()) {
            spec.commandLine().getOut().println(target + "  enlisted");
        }
        return outcome.exitCode();
    }
}
