package io.msx.master.internal.topology.commands;

import io.msx.avro.JobDefinition;
import io.msx.avro.command.DeleteGroup;
import io.msx.schemas.Topics;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** DeleteGroup: every member leaves it; refused while a job uses the group. */
final class DeleteGroupHandler implements CommandHandler<DeleteGroup> {

    private final Fleet fleet;

    DeleteGroupHandler(Fleet fleet) {
        this.fleet = fleet;
    }

    @Override
    public Decision handle(DeleteGroup delete, Plan plan) {
        String group = delete.getGroup();
        List<String> users = fleet.jobs().all().stream().filter(j -> j.getGroups().contains(group))
                .map(JobDefinition::getJobId).toList();
        if (!users.isEmpty()) {
            return plan.reject("group '" + group + "' is used by job" + (users.size() == 1 ? " '" + users.get(0)
                    + "'" : "s " + users) + "; change those jobs first");
        }
        List<String> members = fleet.registrations().members(group);
        if (members.isEmpty()) {
            Topics.requireValidGroupName(group);
            return plan.reject("unknown group '" + group + "'");
        }
        Map<String, List<String>> regrouped = new LinkedHashMap<>();
        for (String target : members) {
            regrouped.put(target, fleet.registrations().groups(target).stream().filter(g -> !g.equals(group))
                    .toList());
        }
        GroupMoves.apply(fleet, plan, regrouped);
        return plan.accept();
    }
}
