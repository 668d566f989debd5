package io.msx.master.internal.topology;

import io.msx.avro.JobDefinition;
import io.msx.schemas.MsxCodec;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The job definitions (job id to its current definition, Avro in the Confluent wire format, so a definition written
 * by an older master is read by its schema), over the command sub-topology's {@code jobs} store. Called from the
 * stream thread only.
 */
public final class JobStore {

    private final KeyValueStore<String, byte[]> jobs;
    private final MsxCodec codec;

    public JobStore(KeyValueStore<String, byte[]> jobs, MsxCodec codec) {
        this.jobs = jobs;
        this.codec = codec;
    }

    public Optional<JobDefinition> get(String jobId) {
        byte[] bytes = jobs.get(jobId);
        return bytes == null ? Optional.empty() : Optional.of(decode(jobId, bytes));
    }

    public void put(JobDefinition job) {
        jobs.put(job.getJobId(), codec.encode(job));
    }

    public void remove(String jobId) {
        jobs.delete(jobId);
    }

    /** Every job, in id order. */
    public List<JobDefinition> all() {
        List<JobDefinition> all = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = jobs.all()) {
            while (it.hasNext()) {
                var entry = it.next();
                all.add(decode(entry.key, entry.value));
            }
        }
        return all;
    }

    private JobDefinition decode(String jobId, byte[] bytes) {
        return codec.decodeAs(JobDefinition.class, "store jobs (" + jobId + ")", 0, -1, bytes);
    }
}
