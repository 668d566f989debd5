package io.msx.master.internal.topology;

import io.msx.security.Signer;
import io.msx.security.TrustedKeys;
import io.msx.MsxRetriableException;
import io.msx.RetryPolicy;
import io.msx.master.internal.MasterMetrics;
import io.msx.master.internal.RecordLimit;
import io.msx.master.internal.TopicAdmin;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.SchemaRegistryException;
import io.msx.schemas.Topics;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.TopicNameExtractor;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The master's Kafka Streams topology, built in one place:
 *
 * <pre>
 *  msx.commands ─┐                                   ┌─▶ msx.target.&lt;name&gt; (instructions)
 *                ├─▶ [control] registrations,       ─┼─▶ msx.command-results
 *  master.control┘     group-members, jobs,          ├─▶ msx.commands.dlq
 *                      instruction-seqs              │
 *        ▲                                           └─▶ master.events (registered, posted; keyed by target)
 *        │                                                     │
 *        │  Enlist, DefectNotice                               ▼
 *        └──────────── [views] target-state, history, downloads, download-index ◀── msx.status
 *                         └─▶ msx.commands (a resync a target asks for), msx.status.dlq
 * </pre>
 *
 * The command sub-topology reads two one-partition topics, so one task takes every decision in order; the views
 * sub-topology has one task per status partition. Every store is a persistent RocksDB store with a compacted
 * changelog (restored, not replayed, after a restart; kept warm by a standby).
 */
public final class MasterTopology {

    public static final String REGISTRATIONS_STORE = "registrations";
    public static final String GROUP_MEMBERS_STORE = "group-members";
    public static final String JOBS_STORE = "jobs";
    public static final String TARGET_STATE_STORE = "target-state";
    public static final String HISTORY_STORE = "history";
    public static final String DOWNLOADS_STORE = "downloads";
    public static final String DOWNLOAD_INDEX_STORE = "download-index";
    /** Per target, the sequence number of the last instruction posted to it (a target refuses any not above it). */
    public static final String INSTRUCTION_SEQS_STORE = "instruction-seqs";
    private static final Logger log = LoggerFactory.getLogger(MasterTopology.class);

    private MasterTopology() {
    }

    /** What the processors need besides their stores. Thread-safe. */
    public record Context(Topics topics, MsxCodec codec, TopicAdmin admin, RecordLimit limit, MasterMetrics metrics,
                          int historyRuns, Duration historyRetention, int downloadsPerTarget,
                          int maxInstructionsPerCommand, Duration retryFor, Signer signer,
                          boolean acceptKeysOnFirstUse, TrustedKeys operatorKeys, boolean requireIdentity) {

        /**
         * Settings of the stores' changelogs (compacted by Kafka Streams): records as large as the master writes to
         * target topics, so a job definition that fits an instruction fits its store.
         */
        public Map<String, String> changelogConfigs() {
            return Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(limit.maxValueBytes()
                    + RecordLimit.OVERHEAD_MARGIN_BYTES));
        }

        /** The command sub-topology's second input: Enlist and DefectNotice events forwarded by the views. */
        public String controlTopic() {
            return controlTopic(topics);
        }

        /** What the command sub-topology tells the views: registrations and posted instructions, keyed by target. */
        public String eventsTopic() {
            return eventsTopic(topics);
        }

        public static String controlTopic(Topics topics) {
            return topics.prefix() + "master.control";
        }

        public static String eventsTopic(Topics topics) {
            return topics.prefix() + "master.events";
        }

        /**
         * Runs {@code action}, trying again with the default back-off while the registry or the broker is away, for
         * at most {@link #retryFor()}; then the last error is thrown and the task fails (its record is read again).
         */
        public <T> T retrying(String what, Supplier<T> action) {
            RetryPolicy.Backoff backoff = RetryPolicy.DEFAULT.backoff();
            long deadline = System.nanoTime() + retryFor.toNanos();
            while (true) {
                try {
                    return action.get();
                } catch (MsxRetriableException | SchemaRegistryException e) {
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                    Duration pause = backoff.next();
                    log.warn("{} failed, retrying in {} ms: {}", what, pause.toMillis(), e.getMessage());
                    try {
                        Thread.sleep(pause.toMillis());
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        throw e;
                    }
                }
            }
        }
    }

    public static Topology build(Context context) {
        Topics topics = context.topics();
        Topology topology = new Topology();
        ByteArrayDeserializer bytes = new ByteArrayDeserializer();
        topology.addSource("commands", bytes, bytes, topics.commands());
        topology.addSource("control", bytes, bytes, context.controlTopic());
        topology.addProcessor("command-processor", () -> new ControlProcessor(context), "commands", "control");
        Map<String, String> changelog = context.changelogConfigs();
        topology.addStateStore(store(REGISTRATIONS_STORE, changelog), "command-processor");
        topology.addStateStore(store(GROUP_MEMBERS_STORE, changelog), "command-processor");
        topology.addStateStore(store(JOBS_STORE, changelog), "command-processor");
        topology.addStateStore(store(INSTRUCTION_SEQS_STORE, changelog), "command-processor");

        topology.addSource("status", bytes, bytes, topics.status());
        topology.addSource("events", bytes, bytes, context.eventsTopic());
        topology.addProcessor("views-processor", () -> new ViewsProcessor(context), "status", "events");
        topology.addStateStore(store(TARGET_STATE_STORE, changelog), "views-processor");
        topology.addStateStore(store(HISTORY_STORE, changelog), "views-processor");
        topology.addStateStore(store(DOWNLOADS_STORE, changelog), "views-processor");
        topology.addStateStore(store(DOWNLOAD_INDEX_STORE, changelog), "views-processor");

        ByteArraySerializer out = new ByteArraySerializer();
        TopicNameExtractor<byte[], Outgoing> destination = (key, value, record) -> value.topic();
        Serializer<Outgoing> values = (topic, value) -> value.value();
        // One sink per processor: a sink shared by both would join them into one sub-topology (and one task would
        // hold status partition 0 and the commands together).
        topology.addSink("command-out", destination, out, values, "command-processor");
        topology.addSink("views-out", destination, out, values, "views-processor");
        return topology;
    }

    private static StoreBuilder<KeyValueStore<String, byte[]>> store(String name, Map<String, String> changelog) {
        return Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(name), Serdes.String(),
                Serdes.ByteArray()).withCachingDisabled().withLoggingEnabled(changelog);
    }
}
