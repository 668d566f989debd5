package io.msx.master.internal.topology.commands;

import io.msx.avro.InstructionHeader;
import org.apache.avro.specific.SpecificRecord;

import java.util.List;
import java.util.function.Function;

/** Posts one instruction to each named target, or to every enlisted target when none is named. */
final class FanOut {

    private FanOut() {
    }

    static Decision post(Fleet fleet, Plan plan, List<String> requested,
                         Function<InstructionHeader, SpecificRecord> instruction) {
        List<String> targets = requested.isEmpty() ? fleet.registrations().names()
                : requested.stream().distinct().toList();
        if (targets.isEmpty()) {
            return plan.reject("no targets are enlisted");
        }
        List<String> unknown = fleet.unknown(targets);
        if (!unknown.isEmpty()) {
            return plan.reject(fleet.unknownReason(unknown, true));
        }
        targets.forEach(t -> plan.post(t, instruction));
        return plan.accept();
    }

    /** Posts to targets of a job, which must all be enlisted. */
    static Decision postForJob(Fleet fleet, Plan plan, List<String> targets, String jobId,
                               Function<InstructionHeader, SpecificRecord> instruction) {
        if (targets.isEmpty()) {
            return plan.reject("job '" + jobId + "' has no targets to post to");
        }
        return post(fleet, plan, targets, instruction);
    }
}
