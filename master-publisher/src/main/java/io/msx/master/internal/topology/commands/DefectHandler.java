package io.msx.master.internal.topology.commands;

import io.msx.avro.JobDefinition;
import io.msx.avro.command.DefectTarget;
import io.msx.avro.instruction.Defect;
import io.msx.master.internal.topology.Registration;
import io.msx.schemas.Topics;

import java.util.List;

/**
 * DefectTarget: a DEFECT tells the target to release its jobs, unless forced (the target is gone); either way it is
 * no longer enlisted, leaves its groups and is dropped from the jobs naming it. Its registration stays, marked
 * defected, so its installation's later Enlists do not bring it back (another installation's do).
 */
final class DefectHandler implements CommandHandler<DefectTarget> {

    private final Fleet fleet;

    DefectHandler(Fleet fleet) {
        this.fleet = fleet;
    }

    @Override
    public Decision handle(DefectTarget defect, Plan plan) {
        String target = defect.getTarget();
        Registration registration = fleet.registrations().get(target).filter(Registration::enlisted).orElse(null);
        if (registration == null) {
            Topics.requireValidTargetName(target);
            return plan.reject("unknown target '" + target + "'");
        }
        if (!defect.getForce()) {
            plan.post(target, h -> Defect.newBuilder().setHeader(h).setReason("defected by the master").build());
        }
        for (JobDefinition job : fleet.jobs().all()) {
            if (job.getTargets().contains(target)) {
                List<String> rest = job.getTargets().stream().filter(t -> !t.equals(target)).toList();
                plan.putJob(JobDefinition.newBuilder(job).setTargets(rest).build());
            }
        }
        plan.register(new Registration(target, registration.location(), List.of(), registration.registeredAt(),
                registration.epoch(), true));
        return plan.accept();
    }
}
