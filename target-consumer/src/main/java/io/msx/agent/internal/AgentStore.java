package io.msx.agent.internal;

import io.msx.avro.JobDefinition;
import io.msx.avro.state.StoredRun;
import io.msx.spool.StateChange;
import io.msx.spool.StatusOutbox;
import io.msx.agent.TargetAgentException;
import org.apache.avro.Schema;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The agent's durable state, kept in the spool's RocksDB so that it changes in the same batch as the status event
 * reporting the change: jobs (id to {@link JobDefinition}), runs (a START's {@link StoredRun} until its outcome is
 * spooled), agent metadata (the offset of the last applied instruction), and the schemas its records were written
 * with. Each method returning {@link StateChange}s only builds them; the caller writes them with an event.
 *
 * <p>Jobs and runs are stored in Avro's single-object encoding and read through {@link AgentSchemas}, so an upgraded
 * agent reads what an older one wrote. A record's writer schema goes into the {@code schemas} column family
 * (fingerprint to schema JSON) in the same batch as the record, the first time it is used; runs an older agent
 * stored as tab-separated text are still read. Thread-safe.
 */
public final class AgentStore {

    public static final String JOBS = "jobs";
    public static final String RUNS = "runs";
    public static final String AGENT = "agent";
    /** Fingerprint (8 bytes, big-endian) to the JSON of a schema some stored record was written with. */
    public static final String SCHEMAS = "schemas";
    public static final List<String> COLUMN_FAMILIES = List.of(JOBS, RUNS, AGENT, SCHEMAS);

    /** States of a {@link StoredRun}. */
    public static final String PENDING = "PENDING";
    public static final String STARTED = "STARTED";

    private static final byte[] APPLIED_OFFSET = utf8("applied.offset");

    private final StatusOutbox spool;
    private final StateCodec<JobDefinition> jobCodec;
    private final StateCodec<StoredRun> runCodec;
    /** Fingerprints known to be in the schemas column family (durably). */
    private final Set<Long> storedSchemas = ConcurrentHashMap.newKeySet();

    public AgentStore(StatusOutbox spool) {
        this.spool = spool;
        AgentSchemas schemas = new AgentSchemas(fingerprint -> spool.stateGet(SCHEMAS, fingerprintKey(fingerprint)));
        this.jobCodec = new StateCodec<>(JobDefinition.getClassSchema(), schemas);
        this.runCodec = new StateCodec<>(StoredRun.getClassSchema(), schemas);
        spool.stateForEach(SCHEMAS, (key, value) -> storedSchemas.add(ByteBuffer.wrap(key).getLong()));
    }

    /** The job and, the first time its schema is used, the schema: to be written in one batch. */
    public List<StateChange> putJob(JobDefinition job) {
        return withSchema(jobCodec, new StateChange.Put(JOBS, utf8(job.getJobId()), jobCodec.encode(job)));
    }

    public static StateChange deleteJob(String jobId) {
        return new StateChange.Delete(JOBS, utf8(jobId));
    }

    public static StateChange appliedOffset(long offset) {
        return new StateChange.Put(AGENT, APPLIED_OFFSET, ByteBuffer.allocate(8).putLong(offset).array());
    }

    /** The run and, the first time its schema is used, the schema: to be written in one batch. */
    public List<StateChange> putRun(StoredRun run) {
        return withSchema(runCodec, new StateChange.Put(RUNS, utf8(run.getRunId().toString()),
                runCodec.encode(run)));
    }

    public static StateChange deleteRun(UUID runId) {
        return new StateChange.Delete(RUNS, utf8(runId.toString()));
    }

    public static StoredRun run(UUID runId, String jobId, String state, String trigger, Integer startStepId) {
        return run(runId, jobId, state, trigger, startStepId, List.of());
    }

    /** A run with the process groups its step processes started in (see {@code Orphans.killSurvivors}). */
    public static StoredRun run(UUID runId, String jobId, String state, String trigger, Integer startStepId,
                                List<Long> processGroups) {
        return StoredRun.newBuilder().setRunId(runId).setJobId(jobId).setState(state).setTrigger(trigger)
                .setStartStepId(startStepId).setProcessGroups(List.copyOf(processGroups)).build();
    }

    private List<StateChange> withSchema(StateCodec<?> codec, StateChange record) {
        if (storedSchemas.contains(codec.fingerprint())) {
            return List.of(record);
        }
        return List.of(schemaPut(codec.schema()), record);
    }

    private static StateChange schemaPut(Schema schema) {
        return new StateChange.Put(SCHEMAS, fingerprintKey(AgentSchemas.fingerprint(schema)),
                utf8(schema.toString()));
    }

    /**
     * Called once {@code changes} are durable: schemas written with them need not be written again. (Until then a
     * concurrent writer may write the same schema too, which is harmless.)
     */
    public void durable(List<StateChange> changes) {
        for (StateChange change : changes) {
            if (change instanceof StateChange.Put put && put.columnFamily().equals(SCHEMAS)) {
                storedSchemas.add(ByteBuffer.wrap(put.key()).getLong());
            }
        }
    }

    /** Offset of the last instruction applied, or null before the first. */
    public Long appliedOffset() {
        byte[] value = spool.stateGet(AGENT, APPLIED_OFFSET);
        return value == null ? null : ByteBuffer.wrap(value).getLong();
    }

    /**
     * Every stored job, by id.
     *
     * @throws TargetAgentException naming the job when one cannot be read (its writer schema is unknown)
     */
    public Map<String, JobDefinition> jobs() {
        Map<String, JobDefinition> jobs = new LinkedHashMap<>();
        spool.stateForEach(JOBS, (key, value) -> {
            JobDefinition job;
            try {
                job = jobCodec.decode(value);
            } catch (IllegalArgumentException e) {
                throw new TargetAgentException("stored job " + new String(key, StandardCharsets.UTF_8)
                        + " cannot be read: " + e.getMessage(), e);
            }
            jobs.put(job.getJobId(), job);
        });
        return jobs;
    }

    /**
     * Every stored run.
     *
     * @throws TargetAgentException naming the run when one cannot be read
     */
    public List<StoredRun> runs() {
        List<StoredRun> runs = new ArrayList<>();
        spool.stateForEach(RUNS, (key, value) -> {
            try {
                runs.add(StateCodec.isSingleObject(value) ? runCodec.decode(value) : legacyRun(key, value));
            } catch (IllegalArgumentException e) {
                throw new TargetAgentException("stored run " + new String(key, StandardCharsets.UTF_8)
                        + " cannot be read: " + e.getMessage(), e);
            }
        });
        return runs;
    }

    /** A run as agents before the Avro state stored it: {@code state \t jobId \t trigger \t startStepId-or-empty}. */
    static StoredRun legacyRun(byte[] key, byte[] value) {
        String[] parts = new String(value, StandardCharsets.UTF_8).split("\t", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("neither Avro nor the legacy tab-separated run format");
        }
        return run(UUID.fromString(new String(key, StandardCharsets.UTF_8)), parts[1], parts[0], parts[2],
                parts[3].isEmpty() ? null : Integer.valueOf(parts[3]));
    }

    static byte[] fingerprintKey(long fingerprint) {
        return ByteBuffer.allocate(8).putLong(fingerprint).array();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
