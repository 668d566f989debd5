package io.msx.master.internal.console;

import java.util.List;

/** What the console's templates are given: plain values, already written for people. */
public final class Models {

    private Models() {
    }

    /**
     * The frame around every page.
     *
     * @param tab        targets, instructions or jobs
     * @param user       the caller's token name ({@code anonymous} without tokens)
     * @param mayAct     whether action buttons are shown (operator role)
     * @param anonymous  whether the master has no tokens file (development: everyone is an operator)
     * @param csrf       the anti-forgery value htmx sends with every request
     */
    public record Page(String title, String tab, String user, String role, boolean mayAct, boolean anonymous,
                       String csrf) {
    }

    public record Login(String error, boolean https) {
    }

    /** The targets tab: the filters' choices and the first rows. */
    public record Targets(Page page, TargetRows.Query query, List<String> statuses, List<String> groups,
                          TargetRowsFragment rows) {
    }

    /** The rows of the targets table, and how many passed the filters. */
    public record TargetRowsFragment(List<TargetRows.Row> rows, long matching, int total, boolean mayAct) {
        public boolean truncated() {
            return matching > rows.size();
        }
    }

    /** One command's result as an action shows it. */
    public record Result(String command, String target, String status, String reason, List<String> posted,
                         List<PollWatch> polls) {
        public boolean accepted() {
            return "ACCEPTED".equals(status);
        }
    }

    /** A force poll's posted instruction, and the check-in that answered it once one did. */
    public record PollWatch(String target, String instructionId, String checkIn) {
        public boolean answered() {
            return checkIn != null;
        }
    }

    /**
     * The results of one action.
     *
     * @param polls the force polls it posted, watched until their check-ins arrive; null when none
     */
    public record Results(List<Result> results, String error, Polls polls) {
        public static Results error(String message) {
            return new Results(List.of(), message, null);
        }
    }

    /**
     * Force polls being watched.
     *
     * @param next   where the fragment asks again while some check-in has not arrived; null to stop asking
     * @param gaveUp some check-in did not arrive while the fragment asked
     * @param more   force polls posted but not followed (one watch follows a bounded number)
     */
    public record Polls(List<PollWatch> polls, String next, boolean gaveUp, int more) {
    }

    public record Instructions(Page page, List<String> targets, String target, String job, InstructionRows rows) {
    }

    public record InstructionRow(String target, String operation, String object, String posted, String status,
                                 String statusClass, String applied, String error, String id) {
    }

    public record InstructionRows(List<InstructionRow> rows, int limit) {
        public boolean truncated() {
            return rows.size() >= limit;
        }
    }

    public record Jobs(Page page, List<JobRow> jobs) {
    }

    public record JobRow(String id, String name, long version, boolean enabled, String targets, int steps,
                         String schedules) {
    }

    public record Job(Page page, JobRow job, io.msx.master.JobDetail definition, List<String> targets,
                      String historyTarget, History history) {
    }

    public record History(String jobId, List<Run> runs, int limit, boolean known) {
    }

    public record Run(String target, String runId, String trigger, String status, String statusClass,
                      String started, String duration, String message, List<StepAttempt> steps) {
    }

    public record StepAttempt(String step, String name, String status, String statusClass, String exitCode,
                              String message, String output, boolean truncated) {
    }
}
