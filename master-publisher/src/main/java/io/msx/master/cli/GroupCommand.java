package io.msx.master.cli;

import io.msx.avro.command.DeleteGroup;
import io.msx.avro.command.UpdateGroup;
import io.msx.master.internal.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code msx group ...}: target groups (a target may be in several; jobs assigned to a group follow its members). */
@Command(name = "group", description = "Manage target groups.",
        subcommands = {GroupCommand.ListGroups.class, GroupCommand.Add.class, GroupCommand.Remove.class,
                GroupCommand.Delete.class})
public final class GroupCommand {

    @Command(name = "list", description = "Show every group and its members.")
    static final class ListGroups extends SubmittingCommand implements Callable<Integer> {
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json.")
        OutputFormat output;

        @Override
        public Integer call() throws Exception {
            Map<String, List<String>> groups = connection.master().groups();
            if (output == OutputFormat.json) {
                out().println(Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(groups));
            } else {
                List<List<String>> rows = new ArrayList<>();
                groups.forEach((g, members) -> rows.add(List.of(g, String.join(",", members))));
                Tables.print(out(), List.of("GROUP", "MEMBERS"), rows);
            }
            out().flush();
            return ExitCodes.OK;
        }
    }

    @Command(name = "add", description = "Add targets to a group (created if new); they receive its jobs.")
    static final class Add extends SubmittingCommand implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "GROUP", description = "Group name.")
        String group;

        @Parameters(index = "1..*", arity = "1..*", paramLabel = "TARGET", description = "Targets to add.")
        List<String> targets;

        @Override
        public Integer call() throws Exception {
            return printPosted(submit(h -> UpdateGroup.newBuilder().setHeader(h).setGroup(group).setAddTargets(targets)
                    .build()));
        }
    }

    @Command(name = "remove", description = "Remove targets from a group; they lose its jobs.")
    static final class Remove extends SubmittingCommand implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "GROUP", description = "Group name.")
        String group;

        @Parameters(index = "1..*", arity = "1..*", paramLabel = "TARGET", description = "Targets to remove.")
        List<String> targets;

        @Override
        public Integer call() throws Exception {
            return printPosted(submit(h -> UpdateGroup.newBuilder().setHeader(h).setGroup(group).setRemoveTargets(targets)
                    .build()));
        }
    }

    @Command(name = "delete", description = "Delete a group no job uses; its members stay enlisted.")
    static final class Delete extends SubmittingCommand implements Callable<Integer> {
        @Parameters(paramLabel = "GROUP", description = "Group name.")
        String group;

        @Override
        public Integer call() throws Exception {
            return printPosted(submit(h -> DeleteGroup.newBuilder().setHeader(h).setGroup(group).build()));
        }
    }
}
