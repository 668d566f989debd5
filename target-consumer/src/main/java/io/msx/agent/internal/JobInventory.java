package io.msx.agent.internal;

import io.msx.avro.JobDefinition;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The jobs this target holds, in memory (a mirror of the {@code jobs} column family, changed only after the change is
 * durable). Thread-safe.
 */
public final class JobInventory {

    private final Map<String, JobDefinition> jobs = new ConcurrentHashMap<>();

    public void load(Map<String, JobDefinition> stored) {
        jobs.clear();
        jobs.putAll(stored);
    }

    public JobDefinition get(String jobId) {
        return jobs.get(jobId);
    }

    public void put(JobDefinition job) {
        jobs.put(job.getJobId(), job);
    }

    public void remove(String jobId) {
        jobs.remove(jobId);
    }

    public List<JobDefinition> all() {
        return List.copyOf(jobs.values());
    }

    /** SHA-256 over the sorted {@code id:version} lines: equal on master and target when they hold the same jobs. */
    public String digest() {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            jobs.values().stream().map(j -> j.getJobId() + ":" + j.getVersion() + "\n").sorted()
                    .forEach(line -> sha.update(line.getBytes(StandardCharsets.UTF_8)));
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JVM", e);
        }
    }
}
