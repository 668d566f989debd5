package io.msx.master.internal.topology;

import io.msx.avro.status.JobOutcome;
import io.msx.master.JobRunView;
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

    private final KeyValueStore<String, byte[]> store;
    private final int keepRuns;
    private final Duration keepFor;

    public History(KeyValueStore<String, byte[]> store, int keepRuns, Duration keepFor) {
        this.store = store;
        this.keepRuns = keepRuns;
        this.keepFor = keepFor;
    }

    /** Records an outcome and prunes that job's older runs on that target. */
    public void record(String target, JobOutcome outcome, Instant now) {
        List<JobRunView.Step> steps = outcome.getSteps().stream().map(s -> new JobRunView.Step(s.getStepId(),
                s.getName(), s.getAttempt(), s.getStatus().name(), s.getExitCode(), s.getMessage(), s.getOutput(),
                s.getOutputTruncated())).toList();
        JobRunView run = new JobRunView(target, outcome.getRunId().toString(), outcome.getJobId(),
                outcome.getJobVersion(), outcome.getTrigger(), outcome.getStatus().name(), outcome.getMessage(),
                outcome.getStartedAt(), outcome.getEndedAt(), outcome.getDurationMillis(), steps);
        String prefix = outcome.getJobId() + SEPARATOR + target + SEPARATOR;
        store.put(prefix + String.format("%019d", Math.max(0, outcome.getStartedAt().toEpochMilli())) + SEPARATOR
                + run.runId(), JsonStore.write(run));
        prune(prefix, now);
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
