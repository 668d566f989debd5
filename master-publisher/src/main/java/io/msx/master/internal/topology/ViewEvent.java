package io.msx.master.internal.topology;

import java.time.Instant;
import java.util.UUID;

/**
 * What the command sub-topology tells the views about a target, on the master's events topic (keyed by target,
 * partitioned like the status topic): a registration changed, or an instruction was posted. Stored as JSON; unknown
 * fields are ignored, so newer masters may add some.
 *
 * @param type          REGISTERED, DEFECTED or POSTED
 * @param target        the target
 * @param registration  the registration, for REGISTERED and DEFECTED
 * @param instructionId the instruction, for POSTED
 * @param operation     its operation (POLL, JOB_INSERT, RESYNC, ...), for POSTED
 * @param object        the job it concerns, or null
 * @param commandId     the command that posted it
 * @param postedAt      when it was posted (master clock)
 */
public record ViewEvent(Type type, String target, Registration registration, UUID instructionId, String operation,
                        String object, UUID commandId, Instant postedAt) {

    public enum Type { REGISTERED, DEFECTED, POSTED }

    public static ViewEvent registered(Registration registration) {
        return new ViewEvent(registration.defected() ? Type.DEFECTED : Type.REGISTERED, registration.target(),
                registration, null, null, null, null, null);
    }

    public static ViewEvent posted(String target, UUID instructionId, String operation, String object, UUID commandId,
                                   Instant postedAt) {
        return new ViewEvent(Type.POSTED, target, null, instructionId, operation, object, commandId, postedAt);
    }
}
