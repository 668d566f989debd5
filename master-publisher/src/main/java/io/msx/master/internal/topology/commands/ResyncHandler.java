package io.msx.master.internal.topology.commands;

import io.msx.avro.JobDefinition;
import io.msx.avro.command.ResyncTargets;
import io.msx.avro.instruction.JobInsert;
import io.msx.avro.instruction.Resync;

import java.util.List;
import java.util.Map;

/**
 * ResyncTargets: each target drops its jobs and receives every job assigned to it again, in one transaction. The
 * assignments are computed in one pass over the jobs ({@link Fleet#assignedTo}).
 */
final class ResyncHandler implements CommandHandler<ResyncTargets> {

    private final Fleet fleet;

    ResyncHandler(Fleet fleet) {
        this.fleet = fleet;
    }

    @Override
    public Decision handle(ResyncTargets resync, Plan plan) {
        List<String> targets = resync.getTargets().isEmpty() ? fleet.registrations().names()
                : resync.getTargets().stream().distinct().toList();
        if (targets.isEmpty()) {
            return plan.reject("no targets are enlisted");
        }
        List<String> unknown = fleet.unknown(targets);
        if (!unknown.isEmpty()) {
            return plan.reject(fleet.unknownReason(unknown, false));
        }
        Map<String, List<JobDefinition>> assigned = fleet.assignedTo(targets);
        for (String target : targets) {
            List<JobDefinition> jobs = assigned.getOrDefault(target, List.of());
            plan.post(target, h -> Resync.newBuilder().setHeader(h).setExpectedJobs(jobs.size()).build());
            for (JobDefinition job : jobs) {
                plan.post(target, h -> JobInsert.newBuilder().setHeader(h).setJob(Fleet.postedTo(job, target))
                        .build());
            }
        }
        return plan.accept();
    }
}
