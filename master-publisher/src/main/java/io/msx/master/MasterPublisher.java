package io.msx.master;

import io.msx.Threads;
import io.msx.avro.InstructionHeader;
import io.msx.avro.instruction.Resync;
import io.msx.master.internal.CommandLoop;
import io.msx.master.internal.CommandProcessor;
import io.msx.master.internal.Json;
import io.msx.master.internal.RecordLimit;
import io.msx.master.internal.RestServer;
import io.msx.master.internal.StateLoader;
import io.msx.master.internal.StatusLoop;
import io.msx.master.internal.TargetRegistry;
import io.msx.master.internal.TargetTopics;
import io.msx.master.internal.TopicAdmin;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.MsxSchemas;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.schemas.Topics;
import io.msx.agent.TargetAgent;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The master server: reads commands and posts instructions to per-target topics (exactly once, in Kafka
 * transactions), ingests the status topic into its target views, and serves them over REST.
 *
 * <p>Threads: {@code msx-master-<id>-commands}, {@code msx-master-<id>-status}, {@code msx-master-<id>-http-N}.
 * Thread-safe; {@link #close(Duration)} is idempotent.
 */
public final class MasterPublisher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(MasterPublisher.class);
    /** The producer's default {@code max.request.size}. */
    private static final int DEFAULT_MAX_REQUEST_SIZE = 1_048_576;

    /** Lifecycle; transitions only forward. */
    public enum State { CREATED, RUNNING, STOPPING, STOPPED }

    private final MasterConfig config;
    private final Clock clock;
    private final Topics topics;
    private final TargetRegistry registry;
    private final io.msx.master.internal.JobRegistry jobs = new io.msx.master.internal.JobRegistry();
    private final io.msx.master.internal.DownloadList downloads = new io.msx.master.internal.DownloadList();
    private final AtomicReference<State> state = new AtomicReference<>(State.CREATED);
    private TopicAdmin admin;
    private CommandLoop commandLoop;
    private StatusLoop statusLoop;
    private KafkaProducer<byte[], byte[]> deadLetterProducer;
    private Thread commandThread;
    private Thread statusThread;
    private RestServer rest;

    public MasterPublisher(MasterConfig config, Clock clock) {
        this.config = config;
        this.clock = clock;
        this.topics = config.topics();
        this.registry = new TargetRegistry(clock);
    }

    /**
     * Creates missing topics, registers the schemas (FULL_TRANSITIVE), and starts the loops and the REST API.
     *
     * @throws MasterException when a topic, the registry or the REST port is unusable
     */
    public synchronized void start() {
        if (!state.compareAndSet(State.CREATED, State.RUNNING)) {
            throw new MasterException("master " + config.masterId() + " cannot start from " + state.get());
        }
        log.info("Master {}: CREATED -> RUNNING (topics {}*)", config.masterId(), topics.prefix());
        String id = config.masterId();
        admin = new TopicAdmin(Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                config.bootstrapServers())), config.replicationFactor(), config.targetTopicMaxMessageBytes(),
                config.targetTopicRetention(), config.targetTopicRetentionBytes());
        Map<String, Integer> own = new LinkedHashMap<>();
        own.put(topics.commands(), config.commandsPartitions());
        own.put(topics.commandResults(), config.commandsPartitions());
        own.put(topics.status(), config.statusPartitions());
        own.put(Topics.deadLetter(topics.commands()), 1);
        own.put(Topics.deadLetter(topics.status()), 1);
        admin.ensure(own, Map.of());
        Map<String, String> compacted = new HashMap<>(admin.boundedRecordConfigs());
        compacted.put(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT);
        admin.ensure(Map.of(topics.jobs(), 1, topics.targets(), 1), compacted);

        SchemaRegistryClient schemaRegistry = new SchemaRegistryClient(
                config.schemaRegistry());
        MsxSchemas.register(schemaRegistry);
        MsxCodec codec = MsxCodec.of(schemaRegistry, true, config.decodeLimits());

        StateLoader state = new StateLoader(StateLoader.consumers(config.bootstrapServers()), topics, codec);
        // The producer refuses records over max.request.size: never below the records the target topics take.
        int maxRequestSize = Math.max(DEFAULT_MAX_REQUEST_SIZE, config.targetTopicMaxMessageBytes());
        // Fencing first: initTransactions aborts whatever a killed predecessor left open, so what is read next is
        // final.
        KafkaProducer<byte[], byte[]> transactional = newProducer("msx-master-" + id + "-commands",
                topics.prefix() + "master." + id, maxRequestSize);
        transactional.initTransactions();
        state.load(jobs, registry);
        state.loadPosted(registry.names().stream().map(topics::target).toList(), downloads);
        TargetTopics targetTopics = names -> admin.ensureTargetTopics(names.stream().map(topics::target).toList());
        // targets registered by an earlier release have no dead-letter topic yet
        targetTopics.ensure(registry.names());
        commandLoop = new CommandLoop(newConsumer("msx-master-" + id + "-commands", topics.prefix() + "master"),
                transactional, topics, new CommandProcessor(registry, jobs, clock), codec, targetTopics,
                // the smaller of the two limits, less 1 KiB for key, headers and batch overhead (see RecordLimit)
                RecordLimit.of(config.targetTopicMaxMessageBytes(), maxRequestSize),
                () -> state.load(jobs, registry), downloads, this::committed);
        deadLetterProducer = newProducer("msx-master-" + id + "-dlq", null, DEFAULT_MAX_REQUEST_SIZE);
        statusLoop = new StatusLoop(newConsumer("msx-master-" + id + "-status", null), deadLetterProducer, topics,
                registry, targetTopics, codec, clock, downloads);

        statusThread = new Thread(statusLoop, "msx-master-" + id + "-status");
        commandThread = new Thread(commandLoop, "msx-master-" + id + "-commands");
        statusThread.start();
        commandThread.start();
        rest = new RestServer(config.httpHost(), config.httpPort(), id, Json.mapper(), this::targets, this::target,
                this::health, this::jobs, this::history, downloads::list, this::groups);
        rest.start();
    }

    private KafkaConsumer<byte[], byte[]> newConsumer(String clientId, String groupId) {
        Map<String, Object> c = new HashMap<>();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        c.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        if (groupId != null) {
            c.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
            // Static membership: a restarted master (same master.id) takes its partitions back at once instead of
            // waiting for its killed predecessor's session to expire.
            c.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, clientId);
            c.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
        }
        return new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    private KafkaProducer<byte[], byte[]> newProducer(String clientId, String transactionalId, int maxRequestSize) {
        Map<String, Object> p = new HashMap<>();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, maxRequestSize);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        if (transactionalId != null) {
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        }
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** Every enlisted target's view, with unread instructions read from Kafka. */
    public List<TargetView> targets() {
        List<TargetView> views = registry.views();
        Map<String, String> groups = new HashMap<>();
        views.forEach(v -> groups.put(topics.target(v.name()), TargetAgent.consumerGroup(topics.prefix(), v.name())));
        Map<String, Long> lag = admin.lag(groups);
        List<TargetView> withLag = new ArrayList<>(views.size());
        views.forEach(v -> withLag.add(v.withUnreadInstructions(lag.get(topics.target(v.name())))));
        return withLag;
    }

    public Optional<TargetView> target(String name) {
        return registry.view(name).map(v -> v.withUnreadInstructions(admin.lag(Map.of(topics.target(name),
                TargetAgent.consumerGroup(topics.prefix(), name))).get(topics.target(name))));
    }

    /** After a command's transaction committed: a resync makes its targets RESYNC_PENDING until acknowledged. */
    private void committed(io.msx.master.internal.CommandProcessor.Decision decision) {
        Map<String, String> lastPerTarget = new HashMap<>();
        boolean resync = false;
        for (org.apache.avro.specific.SpecificRecord instruction : decision.instructions()) {
            InstructionHeader header = MessageFamily.INSTRUCTION.header(instruction);
            resync |= instruction instanceof Resync;
            lastPerTarget.put(header.getTarget(), header.getInstructionId().toString());
        }
        if (resync) {
            lastPerTarget.forEach(registry::resyncPosted);
        }
    }

    /** Every target group and its members. */
    public Map<String, List<String>> groups() {
        return registry.allGroups();
    }

    /** The download list, newest first, optionally for one target and/or job. */
    public List<InstructionView> instructions(String target, String job) {
        return downloads.list(target, job);
    }

    /** Every job definition the master holds. */
    public List<JobView> jobs() {
        return jobs.all().stream().map(j -> new JobView(j.getJobId(), j.getName(), j.getVersion(), j.getEnabled(),
                j.getTargets(), j.getSteps().size(),
                j.getSchedules().stream().map(io.msx.avro.JobSchedule::getName).toList())).toList();
    }

    /** A job's runs on every target, oldest first; empty when the master knows no such job and no runs of it. */
    public Optional<List<JobRunView>> history(String jobId) {
        List<JobRunView> runs = registry.history(jobId);
        return runs.isEmpty() && jobs.get(jobId).isEmpty() ? Optional.empty() : Optional.of(runs);
    }

    private Map<String, Object> health() {
        Map<String, Object> health = new LinkedHashMap<>();
        health.put("state", state.get().name());
        health.put("masterId", config.masterId());
        Throwable fatal = commandLoop == null ? null : commandLoop.fatalError();
        health.put("commandLoop", fatal == null ? "ok" : fatal.toString());
        health.put("statusDeadLettered", statusLoop == null ? 0 : statusLoop.deadLettered());
        return health;
    }

    /** Port of the REST API (useful when configured as 0). */
    public int httpPort() {
        return rest.port();
    }

    public State state() {
        return state.get();
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(30));
    }

    public synchronized void close(Duration timeout) {
        State current = state.get();
        if (current == State.STOPPING || current == State.STOPPED) {
            return;
        }
        state.set(State.STOPPING);
        log.info("Master {}: {} -> STOPPING", config.masterId(), current);
        long deadline = System.nanoTime() + timeout.toNanos();
        if (rest != null) {
            rest.close();
        }
        if (commandLoop != null) {
            commandLoop.shutdown();
            statusLoop.shutdown();
            Threads.joinUntil(commandThread, deadline);
            Threads.joinUntil(statusThread, deadline);
        }
        if (deadLetterProducer != null) {
            deadLetterProducer.close(Duration.ofSeconds(5));
        }
        if (admin != null) {
            admin.close();
        }
        state.set(State.STOPPED);
        log.info("Master {}: STOPPING -> STOPPED", config.masterId());
    }
}
