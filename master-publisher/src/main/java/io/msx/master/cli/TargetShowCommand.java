package io.msx.master.cli;

import io.msx.master.TargetView;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/** {@code msx target show T1}: one target's row; exit 1 when the master does not know it. */
@Command(name = "show", description = "Show one target as the master sees it.")
public final class TargetShowCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connection;

    @Parameters(paramLabel = "TARGET", description = "Target name.")
    String target;

    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json (default ${DEFAULT-VALUE}).")
    OutputFormat output;

    @Override
    public Integer call() throws Exception {
        Optional<TargetView> view = connection.master().target(target);
        if (view.isEmpty()) {
            spec.commandLine().getErr().println("msx: unknown target '" + target + "'");
            return ExitCodes.FAILED;
        }
        TargetListCommand.print(spec.commandLine().getOut(), List.of(view.get()), output);
        return ExitCodes.OK;
    }
}
