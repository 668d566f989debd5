package io.msx.bench;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;

/**
 * The simulated targets' names and what their agents' spools would hold: each target's installation id (epoch) and
 * the last status seq it used, shared by every writer of its events so the master never sees a replay. Thread-safe.
 */
final class SimulatedFleet {

    private final List<String> names;
    private final Map<String, String> epochs = new HashMap<>();
    private final Map<String, Long> seqs = new HashMap<>();

    SimulatedFleet(int size) {
        this.names = IntStream.range(0, size).mapToObj(i -> String.format("s%05d", i)).toList();
        names.forEach(n -> epochs.put(n, UUID.randomUUID().toString()));
    }

    List<String> names() {
        return names;
    }

    int size() {
        return names.size();
    }

    String epoch(String target) {
        return epochs.get(target);
    }

    /** The seq of the target's next event. */
    synchronized long next(String target) {
        return seqs.merge(target, 1L, Long::sum);
    }

    /** The seq of the target's last event; 0 before the first. */
    synchronized long last(String target) {
        return seqs.getOrDefault(target, 0L);
    }
}
