package io.msx.master.internal.topology.commands;

import io.msx.avro.JobDefinition;
import io.msx.avro.command.StopJob;
import io.msx.avro.instruction.JobStop;

import java.util.List;

/** StopJob: a STOP on the job's targets (all, or the named ones). */
final class StopJobHandler implements CommandHandler<StopJob> {

    private final Fleet fleet;

    StopJobHandler(Fleet fleet) {
        this.fleet = fleet;
    }

    @Override
    public Decision handle(StopJob stop, Plan plan) {
        JobDefinition job = fleet.jobs().get(stop.getJobId()).orElse(null);
        if (job == null) {
            return plan.reject("unknown job '" + stop.getJobId() + "'");
        }
        List<String> targets = stop.getTargets().isEmpty() ? fleet.targetsOf(job) : stop.getTargets();
        return FanOut.postForJob(fleet, plan, targets, job.getJobId(),
                h -> JobStop.newBuilder().setHeader(h).setJobId(job.getJobId()).build());
    }
}
