package io.msx.master.internal.topology.commands;

import io.msx.avro.JobDefinition;
import io.msx.avro.command.DeleteJob;
import io.msx.avro.instruction.JobDelete;

/** DeleteJob: a DELETE wherever the job runs; a job that runs nowhere (its targets defected) is just forgotten. */
final class DeleteJobHandler implements CommandHandler<DeleteJob> {

    private final Fleet fleet;

    DeleteJobHandler(Fleet fleet) {
        this.fleet = fleet;
    }

    @Override
    public Decision handle(DeleteJob delete, Plan plan) {
        JobDefinition job = fleet.jobs().get(delete.getJobId()).orElse(null);
        if (job == null) {
            return plan.reject("unknown job '" + delete.getJobId() + "'");
        }
        for (String target : fleet.targetsOf(job)) {
            plan.post(target, h -> JobDelete.newBuilder().setHeader(h).setJobId(job.getJobId()).build());
        }
        plan.deleteJob(job.getJobId());
        return plan.accept();
    }
}
