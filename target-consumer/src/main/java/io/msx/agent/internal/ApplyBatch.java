package io.msx.agent.internal;

import io.msx.avro.JobDefinition;
import io.msx.spool.StatusOutbox;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a run of consecutive instructions does, gathered before anything happens: their acknowledgements and other
 * events with the state changes they carry (written as ONE durable outbox write), then their effects in memory and on
 * the machine (inventory, schedules, runs starting), run in order only once that write is durable. A write that fails
 * runs the rollbacks instead (slots reserved for runs are given back) and nothing of the batch happened.
 *
 * <p>Decisions inside a batch see the jobs earlier instructions of the same batch inserted or deleted
 * ({@link #job}). Used by the instruction loop's thread only.
 */
public final class ApplyBatch {

    private final List<StatusOutbox.Append> appends = new ArrayList<>();
    private final List<Runnable> effects = new ArrayList<>();
    private final List<Runnable> rollbacks = new ArrayList<>();
    private final Map<String, Optional<JobDefinition>> jobs = new HashMap<>();
    private final JobInventory inventory;
    private long firstOffset = -1;
    private long lastOffset = -1;
    private boolean stop;
    private int undecodable;
    private boolean settled;
    private long instructionSeq;

    public ApplyBatch(JobInventory inventory) {
        this.inventory = inventory;
    }

    /** Marks the instruction at {@code offset} as part of this batch (its acknowledgement is added separately). */
    void offset(long offset) {
        if (firstOffset < 0) {
            firstOffset = offset;
        }
        lastOffset = offset;
    }

    void append(StatusOutbox.Append append) {
        appends.add(append);
    }

    /** Runs after the batch is durable, in the order added. */
    void effect(Runnable effect) {
        effects.add(effect);
    }

    /** Runs when the batch's write failed. */
    void rollback(Runnable rollback) {
        rollbacks.add(rollback);
    }

    /** The job as this batch left it: inserted, deleted, or as the inventory holds it. */
    JobDefinition job(String jobId) {
        Optional<JobDefinition> staged = jobs.get(jobId);
        return staged != null ? staged.orElse(null) : inventory.get(jobId);
    }

    /** Every job as this batch left it. */
    List<JobDefinition> jobs() {
        Map<String, JobDefinition> all = new HashMap<>();
        inventory.all().forEach(j -> all.put(j.getJobId(), j));
        jobs.forEach((id, job) -> {
            if (job.isPresent()) {
                all.put(id, job.get());
            } else {
                all.remove(id);
            }
        });
        return List.copyOf(all.values());
    }

    void stage(JobDefinition job) {
        jobs.put(job.getJobId(), Optional.of(job));
    }

    void unstage(String jobId) {
        jobs.put(jobId, Optional.empty());
    }

    /** One more record of this batch was not an instruction; returns how many so far. */
    int undecodable() {
        return ++undecodable;
    }

    /** The sequence number of the last signed instruction this batch accepted, 0 when none. */
    long instructionSeq() {
        return instructionSeq;
    }

    void instructionSeq(long seq) {
        instructionSeq = seq;
    }

    /** Nothing comes after this batch (DEFECT). */
    void stop() {
        stop = true;
    }

    public boolean stopsLoop() {
        return stop;
    }

    /** The write succeeded, or failed and was rolled back: its rollbacks must not run (again). */
    void settled(boolean settled) {
        this.settled = settled;
    }

    public boolean settled() {
        return settled;
    }

    public boolean isEmpty() {
        return firstOffset < 0;
    }

    public long firstOffset() {
        return firstOffset;
    }

    /**
     * The consumer's position lies past transaction markers after the last instruction: the offset recorded as
     * applied covers them, so the store agrees with the offset committed to Kafka (a store behind that offset means
     * a restored or cloned directory).
     */
    void through(long offset) {
        if (offset > lastOffset && firstOffset >= 0) {
            lastOffset = offset;
        }
    }

    public long lastOffset() {
        return lastOffset;
    }

    public int size() {
        return appends.size();
    }

    List<StatusOutbox.Append> appends() {
        return appends;
    }

    List<Runnable> effects() {
        return effects;
    }

    List<Runnable> rollbacks() {
        return rollbacks;
    }
}
