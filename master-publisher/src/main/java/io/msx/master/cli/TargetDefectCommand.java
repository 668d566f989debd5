package io.msx.master.cli;

import io.msx.avro.command.DefectTarget;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

/** {@code msx target defect T [--force]}: remove a target from multiserver administration. */
@Command(name = "defect", description = "Remove a target; it releases its jobs (--force: it is gone, just forget it).")
public final class TargetDefectCommand extends SubmittingCommand implements Callable<Integer> {

    @Parameters(paramLabel = "TARGET", description = "Target name.")
    String target;

    @Option(names = "--force", description = "Forget the target without telling it (it is unreachable).")
    boolean force;

    @Override
    public Integer call() throws Exception {
        CommandSubmitter.Outcome outcome = submit(h -> DefectTarget.newBuilder().setHeader(h).setTarget(target)
                .setForce(force).build());
        if (outcome.accepted()) {
            out().println(target + "  defected" + (force ? " (forced)" : ""));
        }
        return outcome.exitCode();
    }
}
