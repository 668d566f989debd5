package io.msx.master.internal.topology.commands;

import io.msx.avro.JobDefinition;
import io.msx.avro.command.EnlistTarget;
import io.msx.avro.instruction.JobInsert;
import io.msx.master.internal.topology.Registration;
import io.msx.schemas.Topics;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * EnlistTarget: registers a target an operator names (before it enlists itself, or again after a defection) with
 * its groups; its topic is created before anything is posted, and the jobs of groups it joins are posted at once.
 */
final class EnlistTargetHandler implements CommandHandler<EnlistTarget> {

    private final Fleet fleet;

    EnlistTargetHandler(Fleet fleet) {
        this.fleet = fleet;
    }

    @Override
    public Decision handle(EnlistTarget enlist, Plan plan) {
        String target = Topics.requireValidTargetName(enlist.getTarget());
        enlist.getGroups().forEach(Topics::requireValidGroupName);
        Registration existing = fleet.registrations().get(target).orElse(null);
        SortedSet<String> groups = new TreeSet<>(fleet.registrations().groups(target));
        groups.addAll(enlist.getGroups());
        List<String> newGroups = List.copyOf(groups);
        Map<String, List<String>> regrouped = Map.of(target, newGroups);
        Set<String> joined = new HashSet<>(newGroups);
        fleet.registrations().groups(target).forEach(joined::remove);
        for (JobDefinition job : fleet.jobs().all()) {
            if (job.getGroups().stream().anyMatch(joined::contains) && fleet.targetsOf(job, regrouped).contains(target) && !fleet.targetsOf(job).contains(target)) {
                plan.post(target, h -> JobInsert.newBuilder().setHeader(h).setJob(Fleet.postedTo(job, target))
                        .build());
            }
        }
        String location = enlist.getLocation() != null ? enlist.getLocation()
                : existing == null ? null : existing.location();
        plan.newTarget(target);
        String fingerprint = enlist.getKeyFingerprint() != null ? enlist.getKeyFingerprint()
                : existing == null ? null : existing.keyFingerprint();
        plan.register(new Registration(target, location, newGroups,
                existing == null ? plan.now() : existing.registeredAt(), existing == null ? null : existing.epoch(),
                false, fingerprint));
        return plan.accept();
    }
}
