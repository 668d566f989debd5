package io.msx.master.cli;

import io.msx.avro.command.SyncClocks;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.List;
import java.util.concurrent.Callable;

/** {@code msx target sync-time T1 ...}: targets report their clock offset against the master's. */
@Command(name = "sync-time", description = "Ask targets to report their clock offset against the master.")
public final class TargetSyncTimeCommand extends SubmittingCommand implements Callable<Integer> {

    @Parameters(paramLabel = "TARGET", arity = "0..*", description = "Targets; none means every enlisted target.")
    List<String> targets = List.of();

    @Override
    public Integer call() throws Exception {
        return printPosted(submit(h -> SyncClocks.newBuilder().setHeader(h).setTargets(targets).build()));
    }
}
