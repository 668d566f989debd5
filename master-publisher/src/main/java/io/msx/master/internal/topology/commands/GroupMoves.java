package io.msx.master.internal.topology.commands;

import io.msx.avro.JobDefinition;
import io.msx.avro.instruction.JobDelete;
import io.msx.avro.instruction.JobInsert;

import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Targets changing groups: the jobs of those groups follow them (INSERT where gained, DELETE where lost). */
final class GroupMoves {

    private GroupMoves() {
    }

    /**
     * Posts each job of a group that changes to the targets it gains and deletes it where it is lost when
     * {@code regrouped} applies, then plans the new registrations. Only jobs using a group some target joins or
     * leaves are looked at.
     */
    static void apply(Fleet fleet, Plan plan, Map<String, List<String>> regrouped) {
        Set<String> changedGroups = new HashSet<>();
        regrouped.forEach((target, groups) -> {
            Set<String> before = new HashSet<>(fleet.registrations().groups(target));
            Set<String> after = new HashSet<>(groups);
            symmetricDifference(before, after, changedGroups);
        });
        for (JobDefinition job : fleet.jobs().all()) {
            if (job.getGroups().stream().noneMatch(changedGroups::contains)) {
                continue;
            }
            Set<String> was = new HashSet<>(fleet.targetsOf(job));
            List<String> after = fleet.targetsOf(job, regrouped);
            for (String target : after) {
                if (!was.contains(target)) {
                    plan.post(target, h -> JobInsert.newBuilder().setHeader(h).setJob(Fleet.postedTo(job, target))
                        .build());
                }
            }
            Set<String> kept = new HashSet<>(after);
            was.stream().filter(t -> !kept.contains(t)).sorted().forEach(target ->
                    plan.post(target, h -> JobDelete.newBuilder().setHeader(h).setJobId(job.getJobId()).build()));
        }
        regrouped.forEach((target, groups) -> fleet.registrations().get(target)
                .ifPresent(r -> plan.register(r.withGroups(groups))));
    }

    private static void symmetricDifference(Set<String> a, Set<String> b, Collection<String> into) {
        a.stream().filter(g -> !b.contains(g)).forEach(into::add);
        b.stream().filter(g -> !a.contains(g)).forEach(into::add);
    }

}
