package io.msx.target.internal;

import io.msx.avro.JobDefinition;
import io.msx.spool.StateChange;
import io.msx.spool.StatusSpool;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The agent's durable state, kept in the spool's RocksDB so that it changes in the same batch as the status event
 * reporting the change: jobs (id to definition), runs (a START's run until its outcome is spooled), and agent
 * metadata (the offset of the last applied instruction). Each method returning a {@link StateChange} only builds it;
 * the caller writes it with an event.
 */
public final class AgentStore {

    public static final String JOBS = "jobs";
    public static final String RUNS = "runs";
    public static final String AGENT = "agent";
    public static final List<String> COLUMN_FAMILIES = List.of(JOBS, RUNS, AGENT);

    private static final byte[] APPLIED_OFFSET = utf8("applied.offset");

    /** A run recorded durably: PENDING when its START was acknowledged, STARTED once its process began. */
    public record RunRecord(UUID runId, String jobId, String state, String trigger, Integer startStepId) {

        byte[] encode() {
            return utf8(String.join("\t", state, jobId, trigger, startStepId == null ? "" : startStepId.toString()));
        }

        static RunRecord decode(byte[] key, byte[] value) {
            String[] parts = new String(value, StandardCharsets.UTF_8).split("\t", -1);
            return new RunRecord(UUID.fromString(new String(key, StandardCharsets.UTF_8)), parts[1], parts[0],
                    parts[2], parts[3].isEmpty() ? null : Integer.valueOf(parts[3]));
        }
    }

    private final StatusSpool spool;

    public AgentStore(StatusSpool spool) {
        this.spool = spool;
    }

    public static StateChange putJob(JobDefinition job) {
        try {
            ByteBuffer encoded = job.toByteBuffer();
            byte[] bytes = new byte[encoded.remaining()];
            encoded.get(bytes);
            return new StateChange.Put(JOBS, utf8(job.getJobId()), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode job " + job.getJobId(), e);
        }
    }

    public static StateChange deleteJob(String jobId) {
        return new StateChange.Delete(JOBS, utf8(jobId));
    }

    public static StateChange appliedOffset(long offset) {
        return new StateChange.Put(AGENT, APPLIED_OFFSET, ByteBuffer.allocate(8).putLong(offset).array());
    }

    public static StateChange putRun(RunRecord run) {
        return new StateChange.Put(RUNS, utf8(run.runId().toString()), run.encode());
    }

    public static StateChange deleteRun(UUID runId) {
        return new StateChange.Delete(RUNS, utf8(runId.toString()));
    }

    /** Offset of the last instruction applied, or null before the first. */
    public Long appliedOffset() {
        byte[] value = spool.stateGet(AGENT, APPLIED_OFFSET);
        return value == null ? null : ByteBuffer.wrap(value).getLong();
    }

    /** Every stored job, by id. */
    public Map<String, JobDefinition> jobs() {
        Map<String, JobDefinition> jobs = new LinkedHashMap<>();
        spool.stateForEach(JOBS, (key, value) -> {
            try {
                JobDefinition job = JobDefinition.fromByteBuffer(ByteBuffer.wrap(value));
                jobs.put(job.getJobId(), job);
            } catch (IOException e) {
                throw new UncheckedIOException("stored job " + new String(key, StandardCharsets.UTF_8)
                        + " cannot be read", e);
            }
        });
        return jobs;
    }

    public List<RunRecord> runs() {
        List<RunRecord> runs = new ArrayList<>();
        spool.stateForEach(RUNS, (key, value) -> runs.add(RunRecord.decode(key, value)));
        return runs;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
