package io.msx.master.internal.topology.commands;

import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.command.StartJob;
import io.msx.avro.instruction.JobStart;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** StartJob: a START on the job's targets (all, or the named ones, which must be assigned the job). */
final class StartJobHandler implements CommandHandler<StartJob> {

    private final Fleet fleet;

    StartJobHandler(Fleet fleet) {
        this.fleet = fleet;
    }

    @Override
    public Decision handle(StartJob start, Plan plan) {
        JobDefinition job = fleet.jobs().get(start.getJobId()).orElse(null);
        if (job == null) {
            return plan.reject("unknown job '" + start.getJobId() + "'");
        }
        Integer step = start.getStartStepId();
        if (step != null && job.getSteps().stream().mapToInt(JobStep::getStepId).noneMatch(id -> id == step)) {
            return plan.reject("job '" + job.getJobId() + "' has no step " + step);
        }
        List<String> assigned = fleet.targetsOf(job);
        List<String> targets = start.getTargets().isEmpty() ? assigned : start.getTargets();
        Set<String> assignedSet = new HashSet<>(assigned);
        List<String> foreign = targets.stream().filter(t -> !assignedSet.contains(t)).toList();
        if (!foreign.isEmpty()) {
            fleet.unknown(foreign); // a name that can never be a target gets the naming rule
            return plan.reject("job '" + job.getJobId() + "' is not assigned to " + foreign);
        }
        return FanOut.postForJob(fleet, plan, targets, job.getJobId(), h -> JobStart.newBuilder().setHeader(h)
                .setJobId(job.getJobId()).setStartStepId(step).build());
    }
}
