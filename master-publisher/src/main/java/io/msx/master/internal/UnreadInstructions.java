package io.msx.master.internal;

import io.msx.master.TargetStatus;
import io.msx.master.internal.topology.StatusRules;
import io.msx.master.internal.topology.TargetState;
import io.msx.schemas.Topics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Instant;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Unread instructions per target (consumer lag of its group on its topic), computed once per interval for every
 * target this instance's views hold, in one admin call, not per request. Each refresh also counts targets per status
 * for the metrics and records whether the broker answered (readiness). {@link #refresh()} runs on the master's
 * scheduler thread; reads are thread-safe.
 */
public final class UnreadInstructions {

    private static final Logger log = LoggerFactory.getLogger(UnreadInstructions.class);

    private final TopicAdmin admin;
    private final Topics topics;
    private final Function<String, String> groupOf;
    private final Clock clock;
    private final MasterMetrics metrics;
    private volatile Map<String, Long> lag = Map.of();
    private volatile Instant brokerAnsweredAt;
    private volatile String lastError;

    public UnreadInstructions(TopicAdmin admin, Topics topics, Function<String, String> groupOf, Clock clock,
                              MasterMetrics metrics) {
        this.admin = admin;
        this.topics = topics;
        this.groupOf = groupOf;
        this.clock = clock;
        this.metrics = metrics;
    }

    /** Unread instructions of a target at the last refresh; null when unknown. */
    public Long of(String target) {
        return lag.get(target);
    }

    /** When the broker last answered a refresh; null before one did. */
    public Instant brokerAnsweredAt() {
        return brokerAnsweredAt;
    }

    /** Why the last refresh failed, or null. */
    public String lastError() {
        return lastError;
    }

    /** Reads the lag of every target {@code states} names; on failure keeps the previous figures. */
    public void refresh(Supplier<List<TargetState>> states) {
        try {
            admin.describeCluster();
            brokerAnsweredAt = clock.instant();
        } catch (RuntimeException e) {
            if (lastError == null) {
                log.warn("The broker does not answer: {}", e.getMessage());
            }
            lastError = "broker did not answer: " + e.getMessage();
            return;
        }
        List<TargetState> all;
        try {
            all = states.get();
        } catch (RuntimeException e) {
            all = List.of(); // no views here now (a standby, or rebalancing): nothing to count
        }
        Instant now = clock.instant();
        Map<TargetStatus, Long> counts = new EnumMap<>(TargetStatus.class);
        all.forEach(s -> counts.merge(StatusRules.status(s, now), 1L, Long::sum));
        metrics.targets(counts);
        Map<String, String> groups = new HashMap<>();
        all.forEach(s -> groups.put(topics.target(s.name), groupOf.apply(s.name)));
        Map<String, Long> byTopic = admin.lag(groups);
        Map<String, Long> byTarget = new HashMap<>();
        all.forEach(s -> {
            Long l = byTopic.get(topics.target(s.name));
            if (l != null) {
                byTarget.put(s.name, l);
            }
        });
        lag = byTarget;
        if (lastError != null) {
            log.info("The broker answers again");
        }
        lastError = null;
    }
}
