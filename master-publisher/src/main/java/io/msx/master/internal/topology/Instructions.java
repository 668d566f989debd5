package io.msx.master.internal.topology;

import io.msx.avro.InstructionHeader;
import io.msx.avro.instruction.JobDelete;
import io.msx.avro.instruction.JobInsert;
import io.msx.avro.instruction.JobStart;
import io.msx.avro.instruction.JobStop;
import io.msx.avro.instruction.JobUpdate;
import io.msx.schemas.MessageFamily;
import org.apache.avro.specific.SpecificRecord;

import java.util.Locale;

/**
 * What the master derives from an instruction (a record of the {@link MessageFamily#INSTRUCTION} family): its header,
 * the job it concerns and its operation name.
 */
public final class Instructions {

    private Instructions() {
    }

    /**
     * @throws IllegalArgumentException when the record is not an instruction
     */
    public static InstructionHeader header(SpecificRecord instruction) {
        return MessageFamily.INSTRUCTION.header(instruction);
    }

    /** The job an instruction concerns (its record key), or null for target-wide instructions. */
    public static String jobIdOf(SpecificRecord instruction) {
        if (instruction instanceof JobInsert i) {
            return i.getJob().getJobId();
        }
        if (instruction instanceof JobUpdate u) {
            return u.getJob().getJobId();
        }
        if (instruction instanceof JobDelete d) {
            return d.getJobId();
        }
        if (instruction instanceof JobStart s) {
            return s.getJobId();
        }
        if (instruction instanceof JobStop s) {
            return s.getJobId();
        }
        return null;
    }

    /** The operation name shown in results and the download list: POLL, SET_POLL, JOB_INSERT, ... */
    public static String operationOf(SpecificRecord instruction) {
        String simple = MessageFamily.typeName(instruction);
        return switch (simple) {
            case "PollNow" -> "POLL";
            case "SetPollInterval" -> "SET_POLL";
            case "SyncTime" -> "SYNC_TIME";
            case "JobInsert" -> "JOB_INSERT";
            case "JobUpdate" -> "JOB_UPDATE";
            case "JobDelete" -> "JOB_DELETE";
            case "JobStart" -> "JOB_START";
            case "JobStop" -> "JOB_STOP";
            default -> simple.toUpperCase(Locale.ROOT);
        };
    }
}
