package io.msx.master.internal;

import io.msx.avro.JobDefinition;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The master's job definitions (id to current definition with its version): a mirror of the compacted
 * {@code msx.jobs} topic, rebuilt from it by {@link StateLoader}. Thread-safe.
 */
public final class JobRegistry {

    private final Map<String, JobDefinition> jobs = new ConcurrentHashMap<>();

    public Optional<JobDefinition> get(String jobId) {
        return Optional.ofNullable(jobs.get(jobId));
    }

    public void put(JobDefinition job) {
        jobs.put(job.getJobId(), job);
    }

    public void clear() {
        jobs.clear();
    }

    public void remove(String jobId) {
        jobs.remove(jobId);
    }

    public List<JobDefinition> all() {
        return jobs.values().stream().sorted(java.util.Comparator.comparing(JobDefinition::getJobId)).toList();
    }
}
