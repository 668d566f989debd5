package io.msx.master.cli;

import io.msx.avro.JobDefinition;
import io.msx.avro.command.DeleteJob;
import io.msx.avro.command.StartJob;
import io.msx.avro.command.StopJob;
import io.msx.avro.command.UpsertJob;
import io.msx.avro.command.UpsertMode;
import io.msx.master.JobRunView;
import io.msx.master.JobView;
import io.msx.master.client.MasterClient;
import io.msx.master.internal.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** {@code msx job ...}: multiserver jobs. */
@Command(name = "job", description = "Manage multiserver jobs.",
        subcommands = {JobCommand.Create.class, JobCommand.Update.class, JobCommand.Start.class, JobCommand.Stop.class,
                JobCommand.Delete.class, JobCommand.ListJobs.class, JobCommand.History.class})
public final class JobCommand {

    @Command(name = "create", description = "Create a job from a YAML or JSON file and post it to its targets.")
    static final class Create extends SubmittingCommand implements Callable<Integer> {
        @Option(names = {"-f", "--file"}, required = true, description = "Job definition file (YAML or JSON).")
        Path file;

        @Override
        public Integer call() throws Exception {
            JobDefinition job = JobFile.read(file);
            return printPosted(submit(h -> UpsertJob.newBuilder().setHeader(h).setJob(job).setMode(UpsertMode.CREATE)
                    .build()));
        }
    }

    @Command(name = "update", description = "Replace a job's definition from a file; targets get the new version.")
    static final class Update extends SubmittingCommand implements Callable<Integer> {
        @Option(names = {"-f", "--file"}, required = true, description = "Job definition file (YAML or JSON).")
        Path file;

        @Override
        public Integer call() throws Exception {
            JobDefinition job = JobFile.read(file);
            return printPosted(submit(h -> UpsertJob.newBuilder().setHeader(h).setJob(job).setMode(UpsertMode.UPDATE)
                    .build()));
        }
    }

    @Command(name = "delete", description = "Delete a job everywhere.")
    static final class Delete extends SubmittingCommand implements Callable<Integer> {
        @Parameters(paramLabel = "JOB", description = "Job id.")
        String jobId;

        @Override
        public Integer call() throws Exception {
            return printPosted(submit(h -> DeleteJob.newBuilder().setHeader(h).setJobId(jobId).build()));
        }
    }

    @Command(name = "stop", description = "Cancel a job's running instance on some or all of its targets.")
    static final class Stop extends SubmittingCommand implements Callable<Integer> {
        @Parameters(paramLabel = "JOB", description = "Job id.")
        String jobId;

        @Option(names = "--target", description = "Only on these targets (default: all the job's targets).")
        List<String> targets = List.of();

        @Override
        public Integer call() throws Exception {
            return printPosted(submit(h -> StopJob.newBuilder().setHeader(h).setJobId(jobId).setTargets(targets).build()));
        }
    }

    @Command(name = "start", description = "Run a job now on some or all of its targets.")
    static final class Start extends SubmittingCommand implements Callable<Integer> {
        @Parameters(paramLabel = "JOB", description = "Job id.")
        String jobId;

        @Option(names = "--target", description = "Only on these targets (default: all the job's targets).")
        List<String> targets = List.of();

        @Option(names = "--step", description = "Step to start at (default: the first).")
        Integer step;

        @Option(names = "--wait", description = "Wait until every target reported the run's outcome; exit 1 when "
                + "any run did not succeed.")
        boolean await;

        @Override
        public Integer call() throws Exception {
            long deadline = System.nanoTime() + timeout.toNanos();
            CommandSubmitter.Outcome outcome = submit(h -> StartJob.newBuilder().setHeader(h).setJobId(jobId)
                    .setTargets(targets).setStartStepId(step).build());
            if (!outcome.accepted() || !await) {
                return printPosted(outcome);
            }
            Set<String> triggers = outcome.result().getInstructions().stream()
                    .map(p -> p.getInstructionId().toString()).collect(Collectors.toSet());
            MasterClient master = connection.master();
            List<JobRunView> runs = List.of();
            int reported = -1;
            while (true) {
                runs = master.history(jobId).orElse(List.of()).stream()
                        .filter(r -> triggers.contains(r.trigger())).toList();
                if (runs.size() != reported) {
                    reported = runs.size();
                    err().println("finished " + reported + "/" + triggers.size());
                    err().flush();
                }
                if (runs.size() >= triggers.size()) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    err().println("msx: timed out after " + timeout.toSeconds() + " s; "
                            + runs.size() + " of " + triggers.size() + " runs reported");
                    return ExitCodes.TIMED_OUT;
                }
                Thread.sleep(200); // the master offers no push channel yet: ask again shortly
            }
            History.print(out(), runs, OutputFormat.table);
            return runs.stream().allMatch(r -> r.status().equals("SUCCEEDED")) ? ExitCodes.OK : ExitCodes.FAILED;
        }
    }

    @Command(name = "list", description = "Show the jobs the master holds.")
    static final class ListJobs extends SubmittingCommand implements Callable<Integer> {
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json.")
        OutputFormat output;

        @Override
        public Integer call() throws Exception {
            List<JobView> jobs = connection.master().jobs();
            if (output == OutputFormat.json) {
                out().println(Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(jobs));
            } else {
                List<List<String>> rows = new ArrayList<>();
                jobs.forEach(j -> rows.add(List.of(j.jobId(), j.name(), String.valueOf(j.version()),
                        j.enabled() ? "yes" : "no", String.join(",", j.targets()), String.valueOf(j.steps()),
                        j.schedules().isEmpty() ? "-" : String.join(",", j.schedules()))));
                Tables.print(out(), List.of("JOB", "NAME", "VERSION", "ENABLED", "TARGETS", "STEPS", "SCHEDULES"),
                        rows);
            }
            out().flush();
            return ExitCodes.OK;
        }
    }

    @Command(name = "history", description = "Show a job's runs on every target, with step detail.")
    static final class History extends SubmittingCommand implements Callable<Integer> {
        @Parameters(paramLabel = "JOB", description = "Job id.")
        String jobId;

        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json.")
        OutputFormat output;

        @Override
        public Integer call() throws Exception {
            Optional<List<JobRunView>> runs = connection.master().history(jobId);
            if (runs.isEmpty()) {
                err().println("msx: unknown job '" + jobId + "'");
                return ExitCodes.FAILED;
            }
            print(out(), runs.get(), output);
            return ExitCodes.OK;
        }

        static void print(PrintWriter out, List<JobRunView> runs, OutputFormat output) throws Exception {
            if (output == OutputFormat.json) {
                out.println(Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(runs));
                out.flush();
                return;
            }
            List<List<String>> rows = new ArrayList<>();
            for (JobRunView run : runs) {
                rows.add(List.of(run.target(), run.jobId(), "", run.status(), String.valueOf(run.startedAt()),
                        run.durationMillis() + " ms", run.message() == null ? "" : run.message()));
                for (JobRunView.Step s : run.steps()) {
                    rows.add(List.of("", "", "  " + s.stepId() + "." + s.attempt() + " " + s.name(), s.status(),
                            s.exitCode() == null ? "exit -" : "exit " + s.exitCode(), "",
                            firstLine(s.output())));
                }
            }
            Tables.print(out, List.of("TARGET", "JOB", "STEP", "STATUS", "STARTED (UTC) / EXIT", "DURATION",
                    "MESSAGE / OUTPUT"), rows);
        }

        private static String firstLine(String output) {
            String line = output == null ? "" : output.strip().lines().findFirst().orElse("");
            return line.length() > 60 ? line.substring(0, 57) + "..." : line;
        }
    }
}
