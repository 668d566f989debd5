package io.msx.master.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.msx.master.TargetStatus;
import org.apache.kafka.streams.KafkaStreams;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Every meter of the master, defined here: commands by type and outcome, fan-out size and decision latency,
 * instructions posted, status events dead-lettered, targets per status, the Streams state, and Kafka Streams' own
 * metrics (lag, commit rate, ...). Served in the Prometheus format at {@code GET /metrics}. Thread-safe.
 */
public final class MasterMetrics implements AutoCloseable {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final DistributionSummary fanOut;
    private final Counter posted;
    private final Counter statusDeadLettered;
    private final Counter recordsRefused;
    private final Map<TargetStatus, AtomicLong> targets = new EnumMap<>(TargetStatus.class);
    private KafkaStreamsMetrics streamsMetrics;

    public MasterMetrics() {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        fanOut = DistributionSummary.builder("msx.master.fanout.size").description("Instructions posted by one "
                + "accepted command").publishPercentiles(0.5, 0.99).register(registry);
        posted = Counter.builder("msx.master.instructions.posted").description("Instructions posted to target "
                + "topics").register(registry);
        statusDeadLettered = Counter.builder("msx.master.status.dead.lettered").description("Status events sent "
                + "to the status dead-letter topic").register(registry);
        recordsRefused = Counter.builder("msx.master.records.refused").description("Records Kafka refused for good "
                + "and the master skipped (a topic's settings changed behind its back); each is logged").register(registry);
        for (TargetStatus status : TargetStatus.values()) {
            AtomicLong count = new AtomicLong();
            targets.put(status, count);
            Gauge.builder("msx.master.targets", count, AtomicLong::get).description("Targets per status (targets "
                    + "whose views this instance holds)").tag("status", status.name()).register(registry);
        }
    }

    /** Binds the Streams state and Kafka Streams' metrics. */
    public void bind(KafkaStreams streams, Supplier<KafkaStreams.State> state) {
        Gauge.builder("msx.master.streams.running", () -> state.get() == KafkaStreams.State.RUNNING ? 1 : 0)
                .description("1 while the Streams client is RUNNING").register(registry);
        streamsMetrics = new KafkaStreamsMetrics(streams);
        streamsMetrics.bindTo(registry);
    }

    /** A command was answered. */
    public void command(String type, String status, int instructions, long nanos) {
        Counter.builder("msx.master.commands").description("Commands answered").tag("type", type)
                .tag("status", status).register(registry).increment();
        Timer.builder("msx.master.command.latency").description("Time to decide and write one command")
                .tag("type", type).publishPercentiles(0.5, 0.99).register(registry).record(nanos, TimeUnit.NANOSECONDS);
        if (instructions > 0) {
            fanOut.record(instructions);
            posted.increment(instructions);
        }
    }

    public void statusDeadLettered() {
        statusDeadLettered.increment();
    }

    public void recordRefused() {
        recordsRefused.increment();
    }

    public long statusDeadLetteredCount() {
        return (long) statusDeadLettered.count();
    }

    public void targets(Map<TargetStatus, Long> counts) {
        targets.forEach((status, gauge) -> gauge.set(counts.getOrDefault(status, 0L)));
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** The Prometheus text format. */
    public String scrape() {
        return registry.scrape();
    }

    @Override
    public void close() {
        if (streamsMetrics != null) {
            streamsMetrics.close();
        }
        registry.close();
    }
}
