package io.msx.master.internal.topology.commands;

import io.msx.avro.command.UpdateGroup;
import io.msx.schemas.Topics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;

/** UpdateGroup: adds and removes members; jobs of the group follow (new members get them, leavers lose them). */
final class UpdateGroupHandler implements CommandHandler<UpdateGroup> {

    private final Fleet fleet;

    UpdateGroupHandler(Fleet fleet) {
        this.fleet = fleet;
    }

    @Override
    public Decision handle(UpdateGroup update, Plan plan) {
        String group = update.getGroup();
        if (!update.getAddTargets().isEmpty() || fleet.registrations().members(group).isEmpty()) {
            Topics.requireValidGroupName(group); // an existing group may still be left under its old name
        }
        List<String> named = new ArrayList<>(update.getAddTargets());
        named.addAll(update.getRemoveTargets());
        named = named.stream().distinct().toList();
        List<String> unknown = fleet.unknown(named);
        if (!unknown.isEmpty()) {
            return plan.reject(fleet.unknownReason(unknown, false));
        }
        Map<String, List<String>> regrouped = new LinkedHashMap<>();
        for (String target : named) {
            SortedSet<String> groups = new TreeSet<>(fleet.registrations().groups(target));
            if (update.getAddTargets().contains(target)) {
                groups.add(group);
            }
            if (update.getRemoveTargets().contains(target)) {
                groups.remove(group);
            }
            regrouped.put(target, List.copyOf(groups));
        }
        GroupMoves.apply(fleet, plan, regrouped);
        return plan.accept();
    }
}
