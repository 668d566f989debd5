package io.msx.bench;

import io.msx.avro.StatusHeader;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.CheckInTrigger;
import io.msx.avro.status.Enlist;
import io.msx.avro.status.JobOutcome;
import io.msx.avro.status.RunStatus;
import io.msx.avro.status.StepOutcome;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.Topics;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * Writes simulated targets' status events straight to the status topic with a raw producer, keyed by target and
 * encoded with {@link MsxCodec}, each with the target's epoch and next seq, as its agent's spool relay would. Remembers
 * the last target written to each partition: once the master's views applied that one's last event, they applied
 * every event written before it to that partition. Thread-safe.
 */
final class StatusWriter implements AutoCloseable {

    /** The one job whose history each simulated target has (one job per target: its history is one prefix scan). */
    static String jobOf(String target) {
        return "job-" + target;
    }

    private static final String STEP_OUTPUT = "copied 128 files (4.2 MiB) to /backup/nightly, 0 skipped\n";

    private final Topics topics;
    private final MsxCodec codec;
    private final SimulatedFleet fleet;
    private final KafkaProducer<String, byte[]> producer;
    private final Map<Integer, String> lastByPartition = new ConcurrentHashMap<>();
    private final AtomicReference<Exception> failure = new AtomicReference<>();

    private StatusWriter(Map<String, Object> kafka, Topics topics, MsxCodec codec, SimulatedFleet fleet,
                         Map<String, Object> tuning) {
        this.topics = topics;
        this.codec = codec;
        this.fleet = fleet;
        Map<String, Object> config = new java.util.HashMap<>(kafka);
        config.putAll(tuning);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        this.producer = new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer());
    }

    /** Batching producer, for writing many events fast; {@code kafka}: the client's connection settings. */
    static StatusWriter bulk(Map<String, Object> kafka, Topics topics, MsxCodec codec, SimulatedFleet fleet) {
        return new StatusWriter(kafka, topics, codec, fleet, Map.of(ProducerConfig.LINGER_MS_CONFIG, 10,
                ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024));
    }

    /** Producer sending at once, for answers whose latency is measured. */
    static StatusWriter immediate(Map<String, Object> kafka, Topics topics, MsxCodec codec, SimulatedFleet fleet) {
        return new StatusWriter(kafka, topics, codec, fleet, Map.of(ProducerConfig.LINGER_MS_CONFIG, 0));
    }

    void enlist(String target) {
        send(target, h -> Enlist.newBuilder().setHeader(h).setAgentVersion("sim").setTimeZone("UTC")
                .setPollingIntervalSeconds(60).setCapabilities(List.of("os-process")).build());
    }

    /** Run {@code run} of the target's job: one step with a small output, started {@code run} minutes after base. */
    void outcome(String target, int run, Instant base) {
        Instant started = base.plus(run, ChronoUnit.MINUTES);
        Instant ended = started.plusMillis(1_234);
        send(target, h -> JobOutcome.newBuilder().setHeader(h).setRunId(UUID.randomUUID()).setJobId(jobOf(target))
                .setJobVersion(1).setTrigger("schedule:nightly").setStatus(RunStatus.SUCCEEDED).setMessage(null)
                .setStartedAt(started).setEndedAt(ended).setDurationMillis(1_234)
                .setSteps(List.of(StepOutcome.newBuilder().setStepId(1).setName("backup").setAttempt(1)
                        .setStatus(RunStatus.SUCCEEDED).setExitCode(0).setMessage(null).setStartedAt(started)
                        .setEndedAt(ended).setOutput(STEP_OUTPUT).setOutputTruncated(false).build()))
                .build());
    }

    void checkIn(String target) {
        send(target, h -> CheckIn.newBuilder().setHeader(h).setTrigger(CheckInTrigger.SCHEDULED)
                .setLocalTime(h.getOccurredAt()).setTimeZone("UTC").setAgentVersion("sim")
                .setPollingIntervalSeconds(60).build());
    }

    /** Sends the status event {@code event} builds around the target's next header. */
    void send(String target, Function<StatusHeader, SpecificRecord> event) {
        Exception failed = failure.get();
        if (failed != null) {
            throw new IllegalStateException("writing status events failed: " + failed, failed);
        }
        StatusHeader header = StatusHeader.newBuilder().setTarget(target).setSeq(fleet.next(target))
                .setEpoch(fleet.epoch(target)).setOccurredAt(Instant.now().truncatedTo(ChronoUnit.MILLIS)).build();
        producer.send(new ProducerRecord<>(topics.status(), target, codec.encode(event.apply(header))),
                (metadata, e) -> {
                    if (e != null) {
                        failure.compareAndSet(null, e);
                    } else {
                        lastByPartition.put(metadata.partition(), target);
                    }
                });
    }

    /** Waits until everything sent is acknowledged. */
    void flush() {
        producer.flush();
        Exception failed = failure.get();
        if (failed != null) {
            throw new IllegalStateException("writing status events failed: " + failed, failed);
        }
    }

    /** The target written last to each partition (after {@link #flush()}: the last acknowledged). */
    Map<Integer, String> lastByPartition() {
        return Map.copyOf(lastByPartition);
    }

    @Override
    public void close() {
        producer.close();
    }
}
