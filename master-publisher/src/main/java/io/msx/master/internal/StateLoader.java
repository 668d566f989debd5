package io.msx.master.internal;

import io.msx.avro.JobDefinition;
import io.msx.avro.TargetRegistration;
import io.msx.master.MasterException;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.Topics;
import io.msx.schemas.WireFormatException;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Rebuilds the master's job definitions and target registrations from the compacted {@code msx.jobs} and
 * {@code msx.targets} topics (read_committed, to their end): at start, and after an aborted transaction, so the
 * in-memory state is always what Kafka committed; and the download list from the target topics at start.
 *
 * <p>No record stops a rebuild: a record that cannot be used (undecodable, a null value where a tombstone means
 * nothing, a tombstone without a key, a registration of a name that is no longer a valid target name) is skipped,
 * counted, and named in one WARN line (the first {@value #SKIPS_LOGGED} of a rebuild; the count is in the summary).
 */
public final class StateLoader {

    private static final Logger log = LoggerFactory.getLogger(StateLoader.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    static final int SKIPS_LOGGED = 10;

    private final Supplier<Consumer<byte[], byte[]>> consumers;
    private final Topics topics;
    private final MsxCodec codec;

    /**
     * @param consumers a new consumer for each read (closed after it); see {@link #consumers(String)}
     */
    public StateLoader(Supplier<Consumer<byte[], byte[]>> consumers, Topics topics, MsxCodec codec) {
        this.consumers = consumers;
        this.topics = topics;
        this.codec = codec;
    }

    /** Read_committed consumers of a broker, without a group. */
    public static Supplier<Consumer<byte[], byte[]>> consumers(String bootstrapServers) {
        return () -> new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.CLIENT_ID_CONFIG, "msx-master-state-loader"),
                new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /**
     * Replaces the job definitions and the registrations of {@code targets} with what the compacted topics hold.
     *
     * @throws MasterException when a topic cannot be read to its end in time
     * @throws io.msx.MsxRetriableException when the schema registry cannot be reached
     */
    public void load(JobRegistry jobs, TargetRegistry targets) {
        List<ConsumerRecord<byte[], byte[]>> jobRecords = readAll(topics.jobs());
        List<ConsumerRecord<byte[], byte[]>> targetRecords = readAll(topics.targets());
        Skips skips = new Skips("master state");
        jobs.clear();
        replay(jobRecords, JobDefinition.class, skips, jobs::remove, (r, job) -> jobs.put(job));
        Set<String> registered = new HashSet<>();
        replay(targetRecords, TargetRegistration.class, skips, key -> {
            targets.remove(key);
            registered.remove(key);
        }, (r, registration) -> {
            try {
                targets.preRegister(registration.getTarget(), registration.getLocation(), registration.getGroups());
                registered.add(registration.getTarget());
            } catch (IllegalArgumentException e) {
                skips.skip(r, e.getMessage());
            }
        });
        targets.forgetUnregistered(registered);
        log.info("Master state loaded: {} job(s), {} target registration(s){}", jobs.all().size(), registered.size(),
                skips.summary());
    }

    /**
     * Replays a compacted topic in offset order: a tombstone removes its key, a record of {@code type} is put, and
     * anything else (a keyless tombstone, bytes that do not decode) is skipped and counted.
     */
    private <T extends org.apache.avro.specific.SpecificRecord> void replay(
            List<ConsumerRecord<byte[], byte[]>> records, Class<T> type, Skips skips,
            java.util.function.Consumer<String> remove,
            java.util.function.BiConsumer<ConsumerRecord<byte[], byte[]>, T> put) {
        for (ConsumerRecord<byte[], byte[]> r : records) {
            if (r.value() == null) {
                String key = key(r);
                if (key == null) {
                    skips.skip(r, "tombstone without a key");
                } else {
                    remove.accept(key);
                }
                continue;
            }
            T value = decode(type, r, skips);
            if (value != null) {
                put.accept(r, value);
            }
        }
    }

    /** Reads every target topic back into the download list (what was posted, committed, before this start). */
    public void loadPosted(List<String> targetTopics, DownloadList downloads) {
        int count = 0;
        Skips skips = new Skips("download list");
        for (ConsumerRecord<byte[], byte[]> r : readAll(targetTopics.toArray(String[]::new))) {
            Decoded decoded = codec.decode(MessageFamily.INSTRUCTION, r.topic(), r.partition(), r.offset(),
                    r.value());
            if (decoded instanceof Decoded.Message message) {
                try {
                    downloads.posted(message.value());
                    count++;
                } catch (RuntimeException e) {
                    skips.skip(r, e.toString());
                }
            } else if (decoded instanceof Decoded.Malformed malformed) {
                skips.skip(r, malformed.reason());
            } else if (decoded instanceof Decoded.UnknownType unknown) {
                skips.skip(r, unknown.reason());
            } else {
                skips.skip(r, "null value (a tombstone means nothing on a target topic)");
            }
        }
        log.info("Download list rebuilt from {} target topic(s): {} instruction(s){}", targetTopics.size(), count,
                skips.summary());
    }

    private <T extends org.apache.avro.specific.SpecificRecord> T decode(Class<T> type,
                                                                         ConsumerRecord<byte[], byte[]> r,
                                                                         Skips skips) {
        try {
            return codec.decodeAs(type, r.topic(), r.partition(), r.offset(), r.value());
        } catch (WireFormatException e) {
            skips.skip(r, e.reason());
            return null;
        }
    }

    private static String key(ConsumerRecord<byte[], byte[]> r) {
        return r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8);
    }

    /** Every record of the topics, to their end offsets at the time of the call, with one consumer. */
    private List<ConsumerRecord<byte[], byte[]>> readAll(String... topicNames) {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        if (topicNames.length == 0) {
            return records;
        }
        String topic = topicNames.length == 1 ? topicNames[0] : topicNames.length + " target topics";
        try (Consumer<byte[], byte[]> consumer = consumers.get()) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (String name : topicNames) {
                List<PartitionInfo> infos = consumer.partitionsFor(name, TIMEOUT);
                if (infos != null) {
                    infos.forEach(p -> partitions.add(new TopicPartition(name, p.partition())));
                }
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions, TIMEOUT);
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < ends.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new MasterException("reading " + topic + " to its end took longer than " + TIMEOUT);
                }
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
        }
        return records;
    }

    /** Records a rebuild skipped: each of the first few named in a WARN line, all counted. */
    private static final class Skips {
        private final String rebuilding;
        private int count;

        Skips(String rebuilding) {
            this.rebuilding = rebuilding;
        }

        void skip(ConsumerRecord<?, ?> r, String reason) {
            count++;
            if (count <= SKIPS_LOGGED) {
                log.warn("Skipping record {}-{}@{} while rebuilding the {}: {}", r.topic(), r.partition(), r.offset(),
                        rebuilding, reason);
            }
        }

        String summary() {
            return count == 0 ? "" : "; " + count + " unusable record(s) skipped"
                    + (count > SKIPS_LOGGED ? " (the first " + SKIPS_LOGGED + " logged)" : "");
        }
    }
}
