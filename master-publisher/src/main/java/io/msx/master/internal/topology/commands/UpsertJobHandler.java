package io.msx.master.internal.topology.commands;

import io.msx.avro.JobDefinition;
import io.msx.avro.command.UpsertJob;
import io.msx.avro.command.UpsertMode;
import io.msx.avro.instruction.JobDelete;
import io.msx.avro.instruction.JobInsert;
import io.msx.avro.instruction.JobUpdate;
import io.msx.schemas.JobRules;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** UpsertJob: validates, versions and stores a job; new targets get INSERT, kept ones UPDATE, lost ones DELETE. */
final class UpsertJobHandler implements CommandHandler<UpsertJob> {

    private final Fleet fleet;

    UpsertJobHandler(Fleet fleet) {
        this.fleet = fleet;
    }

    @Override
    public Decision handle(UpsertJob upsert, Plan plan) {
        JobDefinition requested = upsert.getJob();
        JobRules.validate(requested);
        JobDefinition existing = fleet.jobs().get(requested.getJobId()).orElse(null);
        if (existing != null && upsert.getMode() == UpsertMode.CREATE) {
            return plan.reject("duplicate job '" + requested.getJobId() + "' (use update)");
        }
        if (existing == null && upsert.getMode() == UpsertMode.UPDATE) {
            return plan.reject("unknown job '" + requested.getJobId() + "'");
        }
        List<String> emptyGroups = requested.getGroups().stream()
                .filter(g -> fleet.registrations().members(g).isEmpty()).toList();
        if (!emptyGroups.isEmpty()) {
            return plan.reject("unknown group" + (emptyGroups.size() == 1 ? " '" + emptyGroups.get(0) + "'"
                    : "s " + emptyGroups) + " (a group exists while it has members)");
        }
        if (requested.getTargets().isEmpty() && requested.getGroups().isEmpty()) {
            return plan.reject("job '" + requested.getJobId() + "' names no targets or groups");
        }
        List<String> unknown = fleet.unknown(requested.getTargets());
        if (!unknown.isEmpty()) {
            return plan.reject(fleet.unknownReason(unknown, false));
        }
        JobDefinition job = JobDefinition.newBuilder(requested)
                .setVersion(existing == null ? 1 : existing.getVersion() + 1).build();
        Set<String> before = existing == null ? Set.of() : new HashSet<>(fleet.targetsOf(existing));
        List<String> after = fleet.targetsOf(job);
        for (String target : after) {
            JobDefinition posted = Fleet.postedTo(job, target);
            plan.post(target, before.contains(target) ? h -> JobUpdate.newBuilder().setHeader(h).setJob(posted).build()
                    : h -> JobInsert.newBuilder().setHeader(h).setJob(posted).build());
        }
        Set<String> kept = new HashSet<>(after);
        before.stream().filter(t -> !kept.contains(t)).sorted().forEach(target ->
                plan.post(target, h -> JobDelete.newBuilder().setHeader(h).setJobId(job.getJobId()).build()));
        plan.putJob(job);
        return plan.accept();
    }
}
