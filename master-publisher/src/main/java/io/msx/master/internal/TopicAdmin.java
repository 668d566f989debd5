package io.msx.master.internal;

import io.msx.MsxRetriableException;
import io.msx.master.MasterException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Creates msx topics and reads target consumer lag. Thread-safe (the Kafka {@link Admin} client is). */
public final class TopicAdmin implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TopicAdmin.class);
    private static final long TIMEOUT_SECONDS = 30;

    private final Admin admin;
    private final short replicationFactor;
    private final int maxMessageBytes;
    private final Duration targetRetention;
    private final long targetRetentionBytes;
    private final Set<String> known = ConcurrentHashMap.newKeySet();
    /** {@code max.message.bytes} of target topics as the broker has them; forgotten when Kafka refuses a record. */
    private final Map<String, Integer> maxMessageBytesByTopic = new ConcurrentHashMap<>();

    /**
     * @param maxMessageBytes      {@code max.message.bytes} of the topics whose records the master bounds by its
     *                             record limit (target topics, msx.jobs, msx.targets), see {@link RecordLimit}
     * @param targetRetention      {@code retention.ms} of target topics and their dead-letter topics
     * @param targetRetentionBytes {@code retention.bytes} of target topics and their dead-letter topics, -1 for none
     */
    public TopicAdmin(Admin admin, short replicationFactor, int maxMessageBytes, Duration targetRetention,
                      long targetRetentionBytes) {
        this.admin = admin;
        this.replicationFactor = replicationFactor;
        this.maxMessageBytes = maxMessageBytes;
        this.targetRetention = targetRetention;
        this.targetRetentionBytes = targetRetentionBytes;
    }

    /** The {@code max.message.bytes} setting of topics the master bounds by its record limit. */
    public Map<String, String> boundedRecordConfigs() {
        return Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(maxMessageBytes));
    }

    /**
     * The settings of the dead-letter topics of target topics: deleted after the configured retention, by time and
     * size, whatever the broker's defaults.
     */
    Map<String, String> targetDeadLetterConfigs() {
        return Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE,
                TopicConfig.RETENTION_MS_CONFIG, Long.toString(targetRetention.toMillis()),
                TopicConfig.RETENTION_BYTES_CONFIG, Long.toString(targetRetentionBytes));
    }

    /** The settings of target topics: those of their dead-letter topics, and {@code max.message.bytes}. */
    Map<String, String> targetTopicConfigs() {
        Map<String, String> configs = new HashMap<>(targetDeadLetterConfigs());
        configs.putAll(boundedRecordConfigs());
        return configs;
    }

    /**
     * Creates the target topics that do not exist yet: one partition, {@link #targetTopicConfigs()}; and each one's
     * dead-letter topic (one partition, {@link #targetDeadLetterConfigs()}), where its agent keeps the records it
     * refused. Existing topics keep their settings.
     *
     * @throws MsxRetriableException when the broker did not answer in time (try again)
     * @throws MasterException       when the broker refused to create one
     */
    public void ensureTargetTopics(Collection<String> topicNames) {
        // one request for the topics and their dead-letter topics: enlisting is on the command path
        List<NewTopic> missing = new java.util.ArrayList<>();
        for (String topic : topicNames) {
            missing.add(newTopic(topic, 1, targetTopicConfigs()));
            missing.add(newTopic(io.msx.schemas.Topics.deadLetter(topic), 1, targetDeadLetterConfigs()));
        }
        create(missing);
    }

    /**
     * Creates the topics that do not exist yet; an existing topic is left as it is.
     *
     * @throws MsxRetriableException when the broker did not answer in time or answered with a retriable error
     * @throws MasterException       when the broker refused to create a topic
     */
    public void ensure(Map<String, Integer> partitionsByTopic, Map<String, String> configs) {
        create(partitionsByTopic.entrySet().stream().map(e -> newTopic(e.getKey(), e.getValue(), configs)).toList());
    }

    private NewTopic newTopic(String name, int partitions, Map<String, String> configs) {
        return new NewTopic(name, Optional.of(partitions), replicationFactor < 0 ? Optional.empty()
                : Optional.of(replicationFactor)).configs(configs);
    }

    private void create(List<NewTopic> topics) {
        List<NewTopic> missing = topics.stream().filter(t -> !known.contains(t.name())).toList();
        if (missing.isEmpty()) {
            return;
        }
        admin.createTopics(missing).values().forEach((topic, future) -> {
            try {
                future.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                log.info("Created topic {}", topic);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RetriableException) {
                    throw new MsxRetriableException("cannot create topic " + topic + " yet: " + e.getCause(), e);
                }
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw new MasterException("cannot create topic " + topic + ": " + e.getCause().getMessage(), e);
                }
            } catch (TimeoutException e) {
                throw new MsxRetriableException("creating topic " + topic + " timed out after " + TIMEOUT_SECONDS
                        + " s", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new MasterException("interrupted while creating topic " + topic, e);
            }
            known.add(topic);
        });
    }

    /**
     * Unread messages of single-partition topics: end offset minus the group's committed offset (0 when it never
     * committed). A topic missing from the answer could not be read.
     *
     * @param groupsByTopic consumer group of each topic
     */
    public Map<String, Long> lag(Map<String, String> groupsByTopic) {
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        Map<String, ListConsumerGroupOffsetsSpec> specs = new HashMap<>();
        groupsByTopic.forEach((topic, group) -> {
            TopicPartition tp = new TopicPartition(topic, 0);
            latest.put(tp, OffsetSpec.latest());
            specs.put(group, new ListConsumerGroupOffsetsSpec().topicPartitions(List.of(tp)));
        });
        Map<String, Long> lag = new HashMap<>();
        if (latest.isEmpty()) {
            return lag;
        }
        try {
            var ends = admin.listOffsets(latest).all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            var committed = admin.listConsumerGroupOffsets(specs);
            for (var entry : groupsByTopic.entrySet()) {
                TopicPartition tp = new TopicPartition(entry.getKey(), 0);
                var end = ends.get(tp);
                if (end == null) {
                    continue;
                }
                Map<TopicPartition, OffsetAndMetadata> offsets =
                        committed.partitionsToOffsetAndMetadata(entry.getValue()).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                OffsetAndMetadata done = offsets.get(tp);
                lag.put(entry.getKey(), Math.max(0, end.offset() - (done == null ? 0 : done.offset())));
            }
        } catch (ExecutionException | TimeoutException e) {
            log.warn("Cannot read target lag: {}", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return lag;
    }

    /**
     * The {@code max.message.bytes} of each topic as the broker has it (a topic created elsewhere, or changed since,
     * may differ from what the master would create), read in one request for those not known yet. A topic that does
     * not exist yet is left out.
     *
     * @throws MsxRetriableException when the broker does not answer in time
     */
    public Map<String, Integer> maxMessageBytes(Collection<String> topics) {
        List<org.apache.kafka.common.config.ConfigResource> unknown = topics.stream().distinct()
                .filter(t -> !maxMessageBytesByTopic.containsKey(t))
                .map(t -> new org.apache.kafka.common.config.ConfigResource(
                        org.apache.kafka.common.config.ConfigResource.Type.TOPIC, t)).toList();
        if (!unknown.isEmpty()) {
            var results = admin.describeConfigs(unknown).values();
            for (var result : results.entrySet()) {
                try {
                    var entry = result.getValue().get(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                            .get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
                    if (entry != null && entry.value() != null) {
                        maxMessageBytesByTopic.put(result.getKey().name(), Integer.parseInt(entry.value()));
                    }
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                        throw new MsxRetriableException("cannot read max.message.bytes of " + result.getKey().name()
                                + ": " + e.getCause(), e);
                    }
                    // not created yet: the master creates it with its own settings, which its record limit checks
                } catch (TimeoutException e) {
                    throw new MsxRetriableException("reading the settings of " + unknown.size() + " topic(s) timed "
                            + "out", e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new MsxRetriableException("interrupted while reading topic settings", e);
                }
            }
        }
        Map<String, Integer> limits = new HashMap<>();
        topics.forEach(t -> {
            Integer max = maxMessageBytesByTopic.get(t);
            if (max != null) {
                limits.put(t, max);
            }
        });
        return limits;
    }

    /** Kafka refused a record for a topic: its settings are read again before the next write is checked. */
    public void forgetSettings(String topic) {
        maxMessageBytesByTopic.remove(topic);
    }

    /**
     * Asks the broker for the cluster id: whether it answers now.
     *
     * @throws MsxRetriableException when it does not answer within 5 s
     */
    public void describeCluster() {
        try {
            admin.describeCluster().clusterId().get(5, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new MsxRetriableException("the broker did not answer: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MsxRetriableException("interrupted while asking the broker", e);
        }
    }

    /**
     * The partition count of an existing topic.
     *
     * @throws MsxRetriableException when the broker does not answer in time
     * @throws MasterException       when the topic does not exist
     */
    public int partitions(String topic) {
        // a topic just created may take a while to be known to every broker (a controller busy creating thousands)
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(4 * TIMEOUT_SECONDS);
        while (true) {
            try {
                return admin.describeTopics(List.of(topic)).allTopicNames().get(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                        .get(topic).partitions().size();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof RetriableException)) {
                    throw new MasterException("cannot describe topic " + topic + ": " + e.getCause().getMessage(), e);
                }
                if (System.nanoTime() > deadline) {
                    throw new MsxRetriableException("cannot describe topic " + topic + " yet: " + e.getCause(), e);
                }
            } catch (TimeoutException e) {
                throw new MsxRetriableException("describing topic " + topic + " timed out", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new MasterException("interrupted while describing topic " + topic, e);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new MasterException("interrupted while describing topic " + topic, e);
            }
        }
    }

    @Override
    public void close() {
        admin.close();
    }
}
