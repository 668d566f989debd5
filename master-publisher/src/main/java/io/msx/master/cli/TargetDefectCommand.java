package io.msx.master.cli;

import io.msx.avro.DefectTarget;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;

/** {@code msx target defect T [--force]}: remove a target from multiserver administration. */
@Command(name = "defect", description = "Remove a target; it releases its jobs (--force: it is gone, just forget it).")
public final class TargetDefectCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connection;

    @Parameters(paramLabel = "TARGET", description = "Target name.")
    String target;

    @Option(names = "--force", description = "Forget the target without telling it (it is unreachable).")
    boolean force;

    @Option(names = "--timeout", defaultValue = "60s", converter = DurationConverter.class,
            description = "How long to wait for the master's answer (default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() throws Exception {
        CommandSubmitter.Outcome outcome = CommandSubmitter.submit(connection, DefectTarget.newBuilder()
                .setTarget(target).setForce(force).build(), timeout, spec.commandLine().getErr(), Clock.systemUTC());
        if (outcome.accepted()) {
            spec.commandLine().getOut().println(target + "  defected" + (force ? " (forced)" : ""));
        }
        return outcome.exitCode();
    }
}
