package io.msx.master.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.msx.avro.PostedInstruction;
import io.msx.avro.command.ForcePoll;
import io.msx.master.TargetView;
import io.msx.master.client.MasterClient;
import io.msx.master.internal.Json;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code msx target poll T1 [T2 ...] | --all [--wait [--timeout 60s]]}: force targets to check in now (SQL Server
 * Agent's Force Poll). With {@code --wait} it returns once every target's check-in answering this poll has reached
 * the master, printing each check-in's time.
 */
@Command(name = "poll", description = "Force targets to poll the master (check in) now.")
public final class TargetPollCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connection;

    static final class Selection {
        @Parameters(paramLabel = "TARGET", arity = "1..*", description = "Targets to poll.")
        List<String> targets;

        @Option(names = "--all", required = true, description = "Poll every enlisted target.")
        boolean all;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Selection selection;

    @Option(names = "--wait", description = "Wait until every target has checked in.")
    boolean await;

    @Option(names = "--timeout", defaultValue = "60s", converter = DurationConverter.class,
            description = "How long to wait for the master and, with --wait, the check-ins (default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json (default ${DEFAULT-VALUE}).")
    OutputFormat output;

    private final Clock clock;

    public TargetPollCommand() {
        this(Clock.systemUTC());
    }

    TargetPollCommand(Clock clock) {
        this.clock = clock;
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        long deadline = System.nanoTime() + timeout.toNanos();
        List<String> targets = selection.all ? List.of() : selection.targets;
        CommandSubmitter.Outcome outcome = CommandSubmitter.submit(connection,
                h -> ForcePoll.newBuilder().setHeader(h).setTargets(targets).build(), timeout, err, clock);
        if (!outcome.accepted()) {
            return outcome.exitCode();
        }
        List<PostedInstruction> posted = outcome.result().getInstructions();
        if (!await) {
            for (PostedInstruction p : posted) {
                out.println(p.getTarget() + "  poll posted  instruction " + p.getInstructionId());
            }
            out.flush();
            return ExitCodes.OK;
        }
        MasterClient master = connection.master();
        // Each target's row for THIS poll instruction: another poll's check-in does not count, so concurrent polls
        // of one target both succeed.
        Map<String, TargetView> answered = new LinkedHashMap<>();
        int reported = -1;
        String lastError = null;
        while (answered.size() < posted.size()) {
            for (PostedInstruction p : posted) {
                if (answered.containsKey(p.getTarget())) {
                    continue;
                }
                String id = p.getInstructionId().toString();
                try {
                    boolean checkedIn = master.instruction(p.getTarget(), id).map(i -> i.checkInAt() != null)
                            .orElse(false);
                    if (checkedIn) {
                        master.target(p.getTarget()).ifPresent(view -> answered.put(p.getTarget(), view));
                    }
                } catch (IllegalStateException e) {
                    // the master is restarting or rebalancing (503), or a moment away: ask again until the deadline
                    lastError = e.getMessage();
                }
            }
            if (answered.size() != reported) {
                reported = answered.size();
                err.println("polled " + reported + "/" + posted.size());
                err.flush();
            }
            if (answered.size() == posted.size()) {
                break;
            }
            if (System.nanoTime() > deadline) {
                List<String> missing = new ArrayList<>();
                posted.forEach(p -> {
                    if (!answered.containsKey(p.getTarget())) {
                        missing.add(p.getTarget());
                    }
                });
                err.println("msx: timed out after " + timeout.toSeconds() + " s; no check-in yet from "
                        + String.join(", ", missing) + (lastError == null ? "" : " (last error: " + lastError + ")"));
                return ExitCodes.TIMED_OUT;
            }
            // The master offers no push channel yet: ask again shortly.
            Thread.sleep(200);
        }
        print(out, posted, answered);
        return ExitCodes.OK;
    }

    private void print(PrintWriter out, List<PostedInstruction> posted, Map<String, TargetView> answered)
            throws Exception {
        if (output == OutputFormat.json) {
            ObjectMapper json = Json.mapper();
            List<Map<String, Object>> rows = new ArrayList<>();
            for (PostedInstruction p : posted) {
                TargetView v = answered.get(p.getTarget());
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("target", p.getTarget());
                row.put("instructionId", p.getInstructionId().toString());
                row.put("checkIn", v.lastPoll());
                row.put("timeZone", v.timeZone());
                rows.add(row);
            }
            out.println(json.writerWithDefaultPrettyPrinter().writeValueAsString(rows));
        } else {
            List<List<String>> rows = new ArrayList<>();
            for (PostedInstruction p : posted) {
                TargetView v = answered.get(p.getTarget());
                rows.add(List.of(p.getTarget(), "polled", String.valueOf(v.lastPoll()),
                        TargetListCommand.localTime(v)));
            }
            Tables.print(out, List.of("TARGET", "RESULT", "CHECK-IN (UTC)", "TARGET LOCAL TIME"), rows);
        }
        out.flush();
    }
}
