package io.msx.master.cli;

import io.msx.master.TargetView;
import io.msx.master.internal.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code msx target list}: the master's target table (Manage Target Servers). */
@Command(name = "list", description = "Show every enlisted target as the master sees it.")
public final class TargetListCommand implements Callable<Integer> {

    private static final DateTimeFormatter LOCAL = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss z");

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connection;

    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json (default ${DEFAULT-VALUE}).")
    OutputFormat output;

    @Override
    public Integer call() throws Exception {
        print(spec.commandLine().getOut(), connection.master().targets(), output);
        return ExitCodes.OK;
    }

    static void print(PrintWriter out, List<TargetView> targets, OutputFormat output) throws Exception {
        if (output == OutputFormat.json) {
            out.println(Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(targets));
            out.flush();
            return;
        }
        List<List<String>> rows = new ArrayList<>();
        for (TargetView t : targets) {
            rows.add(List.of(t.name(), t.status().name(), text(t.location()),
                    t.groups() == null || t.groups().isEmpty() ? "-" : String.join(",", t.groups()),
                    String.valueOf(t.lastPoll()),
                    text(t.lastPollTrigger()), localTime(t), t.unreadInstructions() == null ? "?"
                            : String.valueOf(t.unreadInstructions()),
                    t.spoolFull() ? t.spoolDepth() + " FULL" : String.valueOf(t.spoolDepth()),
                    t.pollingIntervalSeconds() + "s", text(t.agentVersion())));
        }
        Tables.print(out, List.of("TARGET", "STATUS", "LOCATION", "GROUPS", "LAST POLL (UTC)", "TRIGGER",
                "TARGET LOCAL TIME",
                "UNREAD", "SPOOL", "INTERVAL", "AGENT"), rows);
    }

    static String localTime(TargetView t) {
        if (t.lastPoll() == null || t.timeZone() == null) {
            return "-";
        }
        return LOCAL.format(t.lastPoll().atZone(ZoneId.of(t.timeZone())));
    }

    private static String text(String s) {
        return s == null || s.isBlank() ? "-" : s;
    }
}
