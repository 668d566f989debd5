package io.msx.spool.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/** Every meter of one spool, tagged {@code spool=<name>}, removed again on close. */
public final class SpoolMetrics implements AutoCloseable {

    private final MeterRegistry registry;
    private final List<Meter> meters = new ArrayList<>();
    public final Counter appends;
    public final Counter appendsRejected;
    public final Counter sent;
    public final Counter sendErrors;
    public final Counter deadLettered;
    public final Counter deadLettersEvicted;

    public SpoolMetrics(MeterRegistry registry, String name, Supplier<Number> depth, Supplier<Number> bytes,
                        Supplier<Number> oldestAgeSeconds, Supplier<Number> deadLetterBytes) {
        this.registry = registry;
        Tags tags = Tags.of("spool", name);
        meters.add(Gauge.builder("msx.spool.depth", depth).tags(tags)
                .description("Status events spooled and not yet acknowledged by Kafka").register(registry));
        meters.add(Gauge.builder("msx.spool.bytes", bytes).tags(tags).baseUnit("bytes")
                .description("Bytes of spooled status events, counted against spool.max.bytes").register(registry));
        meters.add(Gauge.builder("msx.spool.oldest.age", oldestAgeSeconds).tags(tags).baseUnit("seconds")
                .description("Age of the oldest spooled event; 0 when the spool is empty").register(registry));
        appends = counter("msx.spool.appends", "Events appended durably", tags);
        appendsRejected = counter("msx.spool.appends.rejected", "Appends refused because the spool was full", tags);
        sent = counter("msx.spool.sent", "Events acknowledged by Kafka and removed from the spool", tags);
        sendErrors = counter("msx.spool.send.errors", "Failed send attempts (the events stay spooled)", tags);
        deadLettered = counter("msx.spool.dead.lettered", "Events Kafka refused for good (too large, "
                + "unserializable, invalid), moved from the spool to its local dead-letter store", tags);
        deadLettersEvicted = counter("msx.spool.dead.letters.evicted", "Oldest dead letters deleted to keep the "
                + "dead-letter store within spool.dead.letter.max.bytes", tags);
        meters.add(Gauge.builder("msx.spool.dead.letter.bytes", deadLetterBytes).tags(tags).baseUnit("bytes")
                .description("Bytes held by the local dead-letter store, counted against "
                        + "spool.dead.letter.max.bytes").register(registry));
    }

    private Counter counter(String name, String description, Tags tags) {
        Counter counter = Counter.builder(name).tags(tags).description(description).register(registry);
        meters.add(counter);
        return counter;
    }

    @Override
    public void close() {
        meters.forEach(registry::remove);
        meters.clear();
    }
}
