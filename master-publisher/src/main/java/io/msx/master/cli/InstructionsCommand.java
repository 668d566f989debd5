package io.msx.master.cli;

import io.msx.master.InstructionView;
import io.msx.master.internal.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code msx instructions [--target T] [--job J]}: the download list, newest first. */
@Command(name = "instructions", description = "Show instructions posted to targets and whether they were applied.")
public final class InstructionsCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connection;

    @Option(names = "--target", description = "Only this target.")
    String target;

    @Option(names = "--job", description = "Only instructions about this job.")
    String job;

    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json.")
    OutputFormat output;

    @Override
    public Integer call() throws Exception {
        List<InstructionView> rows = connection.master().instructions(target, job);
        PrintWriter out = spec.commandLine().getOut();
        if (output == OutputFormat.json) {
            out.println(Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(rows));
        } else {
            List<List<String>> table = new ArrayList<>();
            rows.forEach(r -> table.add(List.of(r.target(), text(r.operation()), text(r.object()),
                    r.postedAt() == null ? "-" : r.postedAt().toString(), r.status(),
                    r.appliedAt() == null ? "-" : r.appliedAt().toString(), text(r.error()))));
            Tables.print(out, List.of("TARGET", "OPERATION", "OBJECT", "POSTED (UTC)", "STATUS", "APPLIED (UTC)",
                    "ERROR"), table);
        }
        out.flush();
        return ExitCodes.OK;
    }

    private static String text(String s) {
        return s == null ? "-" : s;
    }
}
