package io.msx.master.cli;

import io.msx.avro.command.ResyncTargets;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.List;
import java.util.concurrent.Callable;

/** {@code msx target resync [T...]}: targets drop their jobs and receive every job assigned to them again. */
@Command(name = "resync", description = "Make targets drop their jobs and receive their assigned jobs again.")
public final class TargetResyncCommand extends SubmittingCommand implements Callable<Integer> {

    @Parameters(paramLabel = "TARGET", arity = "0..*", description = "Targets; none means every enlisted target.")
    List<String> targets = List.of();

    @Override
    public Integer call() throws Exception {
        return printPosted(submit(h -> ResyncTargets.newBuilder().setHeader(h).setTargets(targets).build()));
    }
}
