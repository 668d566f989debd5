package io.msx.master.internal;

import io.msx.avro.JobDefinition;
import io.msx.avro.TargetRegistration;
import io.msx.master.MasterException;
import io.msx.schemas.AvroCodec;
import io.msx.schemas.Topics;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Rebuilds the master's job definitions and target registrations from the compacted {@code msx.jobs} and
 * {@code msx.targets} topics (read_committed, to their end): at start, and after an aborted transaction, so the
 * in-memory state is always what Kafka committed.
 */
public final class StateLoader {

    private static final Logger log = LoggerFactory.getLogger(StateLoader.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final String bootstrapServers;
    private final Topics topics;
    private final AvroCodec<JobDefinition> jobCodec;
    private final AvroCodec<TargetRegistration> targetCodec;

    public StateLoader(String bootstrapServers, Topics topics, AvroCodec<JobDefinition> jobCodec,
                       AvroCodec<TargetRegistration> targetCodec) {
        this.bootstrapServers = bootstrapServers;
        this.topics = topics;
        this.jobCodec = jobCodec;
        this.targetCodec = targetCodec;
    }

    public void load(JobRegistry jobs, TargetRegistry targets) {
        List<ConsumerRecord<String, byte[]>> jobRecords = readAll(topics.jobs());
        List<ConsumerRecord<String, byte[]>> targetRecords = readAll(topics.targets());
        jobs.clear();
        for (ConsumerRecord<String, byte[]> r : jobRecords) {
            if (r.value() == null) {
                jobs.remove(r.key());
            } else {
                jobs.put(jobCodec.decode(r.topic(), r.partition(), r.offset(), r.value()));
            }
        }
        for (ConsumerRecord<String, byte[]> r : targetRecords) {
            if (r.value() != null) {
                TargetRegistration registration = targetCodec.decode(r.topic(), r.partition(), r.offset(), r.value());
                targets.preRegister(registration.getTarget(), registration.getLocation(), registration.getGroups());
            } else {
                targets.remove(r.key());
            }
        }
        log.info("Master state loaded: {} job(s), {} target registration record(s)", jobs.all().size(),
                targetRecords.size());
    }

    /** Reads every target topic back into the download list (what was posted, committed, before this start). */
    public void loadPosted(List<String> targetTopics, AvroCodec<io.msx.avro.Instruction> codec, DownloadList downloads) {
        int count = 0;
        for (ConsumerRecord<String, byte[]> r : readAll(targetTopics.toArray(String[]::new))) {
            try {
                downloads.posted(codec.decode(r.topic(), r.partition(), r.offset(), r.value()));
                count++;
            } catch (io.msx.schemas.WireFormatException e) {
                log.warn("Skipping an unreadable instruction while rebuilding the download list: {}", e.getMessage());
            }
        }
        log.info("Download list rebuilt from {} target topic(s): {} instruction(s)", targetTopics.size(), count);
    }

    /** Every record of the topics, to their end offsets at the time of the call, with one consumer. */
    private List<ConsumerRecord<String, byte[]>> readAll(String... topicNames) {
        List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
        if (topicNames.length == 0) {
            return records;
        }
        String topic = topicNames.length == 1 ? topicNames[0] : topicNames.length + " target topics";
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.CLIENT_ID_CONFIG, "msx-master-state-loader"),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (String name : topicNames) {
                consumer.partitionsFor(name, TIMEOUT).forEach(p -> partitions.add(new TopicPartition(name,
                        p.partition())));
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
}
