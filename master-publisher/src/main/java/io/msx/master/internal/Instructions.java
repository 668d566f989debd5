package io.msx.master.internal;

import io.msx.avro.JobDelete;
import io.msx.avro.JobInsert;
import io.msx.avro.JobStart;
import io.msx.avro.JobStop;
import io.msx.avro.JobUpdate;

import java.util.Locale;

/** What the master derives from an instruction body: the job it concerns and its operation name. */
final class Instructions {

    private Instructions() {
    }

    /** The job an instruction concerns (its record key), or null for target-wide instructions. */
    static String jobIdOf(Object body) {
        if (body instanceof JobInsert i) {
            return i.getJob().getJobId();
        }
        if (body instanceof JobUpdate u) {
            return u.getJob().getJobId();
        }
        if (body instanceof JobDelete d) {
            return d.getJobId();
        }
        if (body instanceof JobStart s) {
            return s.getJobId();
        }
        if (body instanceof JobStop s) {
            return s.getJobId();
        }
        return null;
    }

    /** The operation name shown in results and the download list: POLL, SET_POLL, JOB_INSERT, ... */
    static String operationOf(Object body) {
        String simple = body.getClass().getSimpleName();
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
