package io.msx.master.internal.topology;

import io.msx.avro.status.JobOutcome;
import io.msx.master.JobRunView;
import io.msx.schemas.JobRules;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Job history in the {@code history} store, keyed {@code job NUL target NUL startedAt(19 digits) NUL runId}, so a
 * job's runs are one prefix scan and a target's runs of one job are in time order. Retention per job per target:
 * the last {@code keepRuns} runs AND every run younger than {@code keepFor}; a run goes only when it is both older
 * and beyond that count, pruned when a newer run of the same job on the same target is recorded. A run id is kept
 * once. Called from the stream thread (writes) or a query thread (reads of a read-only view).
 */
public final class History {

    private static final StringSerializer KEYS = new StringSerializer();
    private static final char SEPARATOR = '\0';
    /** Largest stored run, well under the changelog's record limit. */
    static final int MAX_RUN_BYTES = 512 * 1024;

    private final KeyValueStore<String, byte[]> store;
    private final int keepRuns;
    private final Duration keepFor;

    public History(KeyValueStore<String, byte[]> store, int keepRuns, Duration keepFor) {
        this.store = store;
        this.keepRuns = keepRuns;
        this.keepFor = keepFor;
    }

    /**
     * Records an outcome and prunes that job's older runs on that target.
     *
     * @throws IllegalArgumentException when its job id is not a valid job id (it would break the store's keys)
     */
    public void record(String target, JobOutcome outcome, Instant now) {
        if (outcome.getJobId() == null || !JobRules.JOB_ID.matcher(outcome.getJobId()).matches()) {
            throw new IllegalArgumentException("outcome of run " + outcome.getRunId() + " names an invalid job id");
        }
        List<JobRunView.Step> steps = outcome.getSteps().stream().map(s -> new JobRunView.Step(s.getStepId(),
                s.getName(), s.getAttempt(), s.getStatus().name(), s.getExitCode(), s.getMessage(), s.getOutput(),
                s.getOutputTruncated())).toList();
        JobRunView run = new JobRunView(target, outcome.getRunId().toString(), outcome.getJobId(),
                outcome.getJobVersion(), outcome.getTrigger(), outcome.getStatus().name(), outcome.getMessage(),
                outcome.getStartedAt(), outcome.getEndedAt(), outcome.getDurationMillis(), steps);
        String prefix = outcome.getJobId() + SEPARATOR + target + SEPARATOR;
        store.put(prefix + String.format("%019d", Math.max(0, outcome.getStartedAt().toEpochMilli())) + SEPARATOR
                + run.runId(), bounded(run));
        prune(prefix, now);
    }

    /**
     * The run as JSON, at most {@link #MAX_RUN_BYTES}: JSON escapes can make an outcome that fit Kafka larger than
     * its changelog takes, so step outputs are cut (marked truncated) until it fits.
     */
    static byte[] bounded(JobRunView run) {
        byte[] json = JsonStore.write(run);
        for (int keep = 64 * 1024; json.length > MAX_RUN_BYTES && keep >= 0; keep = keep == 0 ? -1 : keep / 4) {
            int chars = keep;
            List<JobRunView.Step> cut = run.steps().stream().map(s -> s.output() == null || s.output().length()
                    <= chars ? s : new JobRunView.Step(s.stepId(), s.name(), s.attempt(), s.status(), s.exitCode(),
                    s.message(), s.output().substring(0, chars), true)).toList();
            json = JsonStore.write(new JobRunView(run.target(), run.runId(), run.jobId(), run.jobVersion(),
                    run.trigger(), run.status(), run.message(), run.startedAt(), run.endedAt(), run.durationMillis(),
                    cut));
        }
        return json;
    }

    /** Prunes every job's runs on every target by the same rule (jobs that no longer run get no new run). */
    public void sweep(Instant now) {
        List<String> prefixes = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> all = store.all()) {
            String last = null;
            while (all.hasNext()) {
                String key = all.next().key;
                int second = key.indexOf(SEPARATOR, key.indexOf(SEPARATOR) + 1);
                String prefix = key.substring(0, second + 1);
                if (!prefix.equals(last)) {
                    prefixes.add(prefix);
                    last = prefix;
                }
            }
        }
        prefixes.forEach(p -> prune(p, now));
    }

    private void prune(String prefix, Instant now) {
        List<String> keys = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> runs = store.prefixScan(prefix, KEYS)) {
            while (runs.hasNext()) {
                keys.add(runs.next().key);
            }
        }
        long oldestKept = now.minus(keepFor).toEpochMilli();
        for (int i = 0; i < keys.size() - keepRuns; i++) {
            String key = keys.get(i);
            long startedAt = Long.parseLong(key.substring(prefix.length(), prefix.length() + 19));
            if (startedAt < oldestKept) {
                store.delete(key);
            }
        }
    }

    /** A job's runs on every target whose views {@code store} holds, oldest first. */
    public static List<JobRunView> of(ReadOnlyKeyValueStore<String, byte[]> store, String jobId) {
        List<JobRunView> runs = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> scan = store.prefixScan(jobId + SEPARATOR, KEYS)) {
            while (scan.hasNext()) {
                KeyValue<String, byte[]> entry = scan.next();
                runs.add(JsonStore.read(entry.value, JobRunView.class));
            }
        }
        return runs;
    }
}
