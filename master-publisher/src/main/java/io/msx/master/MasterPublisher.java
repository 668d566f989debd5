package io.msx.master;

import io.msx.Threads;
import io.msx.avro.CommandResult;
import io.msx.http.HttpSecurity;
import io.msx.master.internal.CommandGateway;
import io.msx.master.internal.Peers;
import io.msx.master.internal.Json;
import io.msx.master.internal.MasterMetrics;
import io.msx.master.internal.Queries;
import io.msx.master.internal.RecordLimit;
import io.msx.master.internal.RestServer;
import io.msx.master.internal.TopicAdmin;
import io.msx.master.internal.UnreadInstructions;
import io.msx.master.internal.topology.BoundedRocksDbConfig;
import io.msx.master.internal.topology.MasterTopology;
import io.msx.master.internal.topology.RefusedRecordHandler;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.MsxSchemas;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.schemas.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.TopicConfig;
import io.msx.security.Ed25519Keys;
import io.msx.security.Signer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.state.HostInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The master server, a Kafka Streams application ({@code exactly_once_v2}, RocksDB stores with compacted
 * changelogs, static membership, standby replicas): commands in, instructions out to per-target topics, status in,
 * views as stores served over REST (see {@link MasterTopology}). Several instances with the same {@code topic.prefix}
 * share the work; a standby takes over a dead instance's tasks.
 *
 * <p>Threads: Kafka Streams' {@code msx-master-<id>-StreamThread-N}, {@code msx-master-<id>-refresh} (unread
 * instructions, broker probe), {@code msx-master-<id>-http-N} (REST API), {@code msx-master-<id>-command-results}
 * (answers to commands submitted over REST). Thread-safe; {@link #close(Duration)} is idempotent.
 */
public final class MasterPublisher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(MasterPublisher.class);
    /** The producer's default {@code max.request.size}. */
    private static final int DEFAULT_MAX_REQUEST_SIZE = 1_048_576;
    /**
     * Session timeout of the Streams consumers: with static membership a restarted instance takes its tasks back at
     * once, and a dead one's tasks move to the standby after this long.
     */
    static final int SESSION_TIMEOUT_MS = 6_000;
    private static final Duration REPLACEMENT_WINDOW = Duration.ofMinutes(10);
    /**
     * How long a processor retries a registry or admin call in place, well inside the transaction timeout; past it
     * the task fails and its records are read again.
     */
    private static final Duration RETRY_IN_TASK = Duration.ofSeconds(5);
    /** How long start() waits for the stores to be restored and queryable. */
    private static final Duration STARTUP_TIMEOUT = Duration.ofMinutes(2);

    /** Lifecycle; transitions only forward. FAILED: Streams went to ERROR (or gave up replacing threads). */
    public enum State { CREATED, RUNNING, FAILED, STOPPING, STOPPED }

    private final MasterConfig config;
    private final Clock clock;
    private final Topics topics;
    private final AtomicReference<State> state = new AtomicReference<>(State.CREATED);
    private final MasterMetrics metrics = new MasterMetrics();
    private final Deque<Instant> replacements = new ArrayDeque<>();
    private final CountDownLatch ended = new CountDownLatch(1);
    private final CountDownLatch closing = new CountDownLatch(1);
    private volatile String lastError;
    private TopicAdmin admin;
    private KafkaStreams streams;
    private Queries queries;
    private UnreadInstructions unread;
    private Thread refresher;
    private RestServer rest;
    private CommandGateway commands;

    public MasterPublisher(MasterConfig config, Clock clock) {
        this.config = config;
        this.clock = clock;
        this.topics = config.topics();
    }

    /**
     * Creates missing topics, registers the schemas (FULL_TRANSITIVE), starts the REST API and the Streams client.
     *
     * @throws MasterException when a topic, the registry or the REST port is unusable
     */
    public synchronized void start() {
        if (!state.compareAndSet(State.CREATED, State.RUNNING)) {
            throw new MasterException("master " + config.masterId() + " cannot start from " + state.get());
        }
        log.info("Master {}: CREATED -> RUNNING (topics {}*, state in {})", config.masterId(), topics.prefix(),
                config.stateDir());
        String id = config.masterId();
        admin = new TopicAdmin(Admin.create(config.kafkaClientProperties()), config.replicationFactor(),
                config.targetTopicMaxMessageBytes(), config.targetTopicRetention(), config.targetTopicRetentionBytes());
        ensureTopics();

        SchemaRegistryClient schemaRegistry = new SchemaRegistryClient(config.schemaRegistry());
        MsxSchemas.register(schemaRegistry);
        MsxCodec codec = MsxCodec.of(schemaRegistry, true, config.decodeLimits());
        // The producer refuses records over max.request.size: never below the records the target topics take.
        int maxRequestSize = Math.max(DEFAULT_MAX_REQUEST_SIZE, config.targetTopicMaxMessageBytes());
        Signer signer = signer();
        MasterTopology.Context context = new MasterTopology.Context(topics, codec, admin,
                RecordLimit.of(config.targetTopicMaxMessageBytes(), maxRequestSize), metrics,
                config.historyRunsPerJob(), config.historyRetention(), config.downloadsPerTarget(),
                config.commandMaxInstructions(), RETRY_IN_TASK, signer, config.acceptKeysOnFirstUse(),
                config.trustedKeys(), config.commandsRequireIdentity());

        unread = new UnreadInstructions(admin, topics, topics::targetConsumerGroup, clock, metrics);
        HttpSecurity httpSecurity = config.httpSecurity();
        commands = new CommandGateway(config.kafkaClientProperties(), topics, codec, id, signer);
        rest = new RestServer(config.httpHost(), config.httpPort(), id, Json.mapper(), new Api(), httpSecurity, clock);
        HostInfo self = new HostInfo(config.advertisedHost(), rest.port());
        streams = new KafkaStreams(MasterTopology.build(context), streamsConfig(self, maxRequestSize));
        streams.setUncaughtExceptionHandler(this::uncaught);
        streams.setStateListener((next, previous) -> {
            log.info("Master {} Streams: {} -> {}", id, previous, next);
            if (next == KafkaStreams.State.ERROR) {
                failed("Kafka Streams went to ERROR: " + lastError);
            }
        });
        metrics.bind(streams, streams::state);
        queries = new Queries(streams, self, codec, clock, unread, Peers.of(httpSecurity));
        commands.start();
        rest.start();
        streams.start();
        refresher = Threads.supervised("msx-master-" + id + "-refresh", this::refreshLoop,
                e -> failed("the refresh loop stopped: " + e));
        refresher.start();
        awaitRunning(STARTUP_TIMEOUT);
    }

    /** Waits until the Streams client is RUNNING (stores restored and queryable), so start() returns a usable master. */
    private void awaitRunning(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (streams.state() != KafkaStreams.State.RUNNING) {
            if (state.get() == State.FAILED || !streams.state().isRunningOrRebalancing()) {
                throw new MasterException("master " + config.masterId() + " failed to start: " + lastError);
            }
            if (System.nanoTime() > deadline) {
                throw new MasterException("master " + config.masterId() + " not RUNNING after " + timeout
                        .toSeconds() + " s (Streams " + streams.state() + "): is the broker reachable?");
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new MasterException("interrupted while starting", e);
            }
        }
        log.info("Master {}: Streams RUNNING, views queryable", config.masterId());
    }

    private void ensureTopics() {
        Map<String, String> internal = Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE,
                TopicConfig.RETENTION_MS_CONFIG, Long.toString(config.internalTopicRetention().toMillis()));
        Map<String, Integer> own = new LinkedHashMap<>();
        own.put(topics.commands(), 1);
        own.put(topics.commandResults(), config.commandsPartitions());
        own.put(Topics.deadLetter(topics.commands()), 1);
        own.put(Topics.deadLetter(topics.status()), 1);
        own.put(MasterTopology.Context.controlTopic(topics), 1);
        admin.ensure(own, internal);
        // Broker append time on the two inputs of the views, so they are merged in the order things happened (an
        // ack after the POSTED event of its instruction), whatever the producers' clocks.
        admin.ensure(Map.of(topics.status(), config.statusPartitions()), Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE,
                TopicConfig.RETENTION_MS_CONFIG, Long.toString(config.statusTopicRetention().toMillis()),
                TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, "LogAppendTime"));
        int commandPartitions = admin.partitions(topics.commands());
        if (commandPartitions != 1) {
            throw new MasterException(topics.commands() + " has " + commandPartitions + " partitions; the master "
                    + "needs exactly 1 (commands are decided in one order). Recreate it with one partition.");
        }
        // partitioned like the status topic, so a target's events and status share one views task
        int statusPartitions = admin.partitions(topics.status());
        String events = MasterTopology.Context.eventsTopic(topics);
        Map<String, String> eventConfigs = new HashMap<>(internal);
        eventConfigs.put(TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, "LogAppendTime");
        admin.ensure(Map.of(events, statusPartitions), eventConfigs);
        int eventPartitions = admin.partitions(events);
        if (eventPartitions != statusPartitions) {
            throw new MasterException(events + " has " + eventPartitions + " partitions, " + topics.status()
                    + " has " + statusPartitions + "; they must match (a target's events and status go to one "
                    + "task). Recreate " + events + " with " + statusPartitions + " partitions.");
        }
    }

    /**
     * The key instructions are signed with: {@code signing.key.file}, or else one the master keeps in its state
     * directory, created on first start (a lost state directory then means a new key every target must be given).
     */
    private Signer signer() {
        Path file = config.signingKeyFile();
        Signer signer;
        if (file != null) {
            signer = Signer.fromFile(file);
        } else {
            file = config.stateDir().resolve("master-signing.key");
            signer = new Signer(Ed25519Keys.readOrCreate(file));
            log.warn("Master {}: signing.key.file is not set; instructions are signed with the key kept in {} (give "
                    + "several master instances one shared key)", config.masterId(), file);
        }
        log.info("Master {} signs instructions with key {} (public key: {}.pub)", config.masterId(), signer.keyId(),
                file);
        return signer;
    }

    private Properties streamsConfig(HostInfo self, int maxRequestSize) {
        Properties p = new Properties();
        p.putAll(config.kafkaClientProperties());
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, topics.prefix() + "master");
        p.put(StreamsConfig.CLIENT_ID_CONFIG, "msx-master-" + config.masterId());
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.STATE_DIR_CONFIG, config.stateDir().toString());
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, config.streamThreads());
        p.put(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, config.standbyReplicas());
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, config.commitIntervalMs());
        // A stream thread commits between polls: blocking 100 ms (Streams' default poll.ms) in a poll that brings
        // nothing, and lingering 100 ms (Streams' producer default), would hold each force poll back that long.
        p.put(StreamsConfig.POLL_MS_CONFIG, Math.min(config.commitIntervalMs(), 100L));
        p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), 5);
        p.put(StreamsConfig.APPLICATION_SERVER_CONFIG, self.host() + ":" + self.port());
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, (int) config.replicationFactor());
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0L);
        p.put(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, BoundedRocksDbConfig.class);
        p.put(StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG, RefusedRecordHandler.class);
        p.put(RefusedRecordHandler.METRICS_CONFIG, metrics);
        p.put(RefusedRecordHandler.ADMIN_CONFIG, admin);
        p.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG),
                "msx-master-" + config.masterId());
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), SESSION_TIMEOUT_MS);
        p.put(StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG),
                config.transactionTimeoutMs());
        p.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), maxRequestSize);
        return p;
    }

    /** A stream thread died: replaced, unless too many died lately (then the client shuts down, state ERROR). */
    private StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse uncaught(Throwable e) {
        lastError = e.toString();
        Instant now = clock.instant();
        synchronized (replacements) {
            while (!replacements.isEmpty() && replacements.peekFirst().isBefore(now.minus(REPLACEMENT_WINDOW))) {
                replacements.removeFirst();
            }
            if (replacements.size() >= config.threadReplacementsMax()) {
                log.error("Master {}: a stream thread died ({} replaced in the last {} min); giving up", config
                        .masterId(), replacements.size(), REPLACEMENT_WINDOW.toMinutes(), e);
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
            }
            replacements.addLast(now);
        }
        log.warn("Master {}: a stream thread died, replacing it: {}", config.masterId(), e.toString());
        return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
    }

    private void failed(String why) {
        lastError = why;
        if (state.compareAndSet(State.RUNNING, State.FAILED)) {
            log.error("Master {}: RUNNING -> FAILED: {}", config.masterId(), why);
            ended.countDown();
        }
    }

    private void refreshLoop() {
        long pause = config.unreadRefresh().toMillis();
        while (true) {
            unread.refresh(queries::localStates);
            try {
                if (closing.await(pause, TimeUnit.MILLISECONDS)) {
                    return;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** The REST API's view of this master. */
    private final class Api implements RestServer.Api {
        @Override
        public List<TargetView> targets(boolean local) {
            return queries.targets(local);
        }

        @Override
        public Optional<TargetView> target(String name, boolean local) {
            return queries.target(name, local);
        }

        @Override
        public List<JobView> jobs(boolean local) {
            return queries.jobs(local);
        }

        @Override
        public Optional<JobDetail> job(String jobId, boolean local) {
            return queries.job(jobId, local);
        }

        @Override
        public Optional<List<JobRunView>> history(String jobId, int limit, boolean local) {
            return queries.history(jobId, limit, local);
        }

        @Override
        public List<InstructionView> instructions(String target, String job, String id, int limit, boolean local) {
            return queries.instructions(target, job, id, limit, local);
        }

        @Override
        public Map<String, List<String>> groups(boolean local) {
            return queries.groups(local);
        }

        @Override
        public RestServer.Health health() {
            return MasterPublisher.this.health();
        }

        @Override
        public String metrics() {
            return metrics.scrape();
        }

        @Override
        public Optional<CommandResult> submit(org.apache.avro.specific.SpecificRecord command, Duration wait)
                throws InterruptedException {
            return commands.submit(command, wait);
        }
    }

    /**
     * Live unless FAILED. Ready when RUNNING, Streams RUNNING, the stores queryable and the broker answered the last
     * probe (within three refresh intervals).
     */
    public RestServer.Health health() {
        Map<String, Object> body = new LinkedHashMap<>();
        State current = state.get();
        KafkaStreams.State streamsState = streams == null ? null : streams.state();
        body.put("state", current.name());
        body.put("masterId", config.masterId());
        body.put("streams", String.valueOf(streamsState));
        body.put("statusDeadLettered", metrics.statusDeadLetteredCount());
        body.put("activeTasks", tasks(true));
        body.put("standbyTasks", tasks(false));
        String notReady = null;
        if (current != State.RUNNING) {
            notReady = "master is " + current;
        } else if (streamsState != KafkaStreams.State.RUNNING) {
            notReady = "Kafka Streams is " + streamsState;
        } else {
            Instant answered = unread.brokerAnsweredAt();
            if (answered == null || answered.isBefore(clock.instant().minus(config.unreadRefresh().multipliedBy(3)))) {
                notReady = "the broker did not answer since " + answered + (unread.lastError() == null ? ""
                        : ": " + unread.lastError());
            } else {
                try {
                    queries.requireQueryable(tasks(true));
                } catch (RuntimeException e) {
                    notReady = "stores not queryable: " + e.getMessage();
                }
            }
        }
        body.put("ready", notReady == null);
        if (notReady != null) {
            body.put("reason", notReady);
        }
        body.put("lastError", lastError);
        // kept for scripts reading the pre-Streams health
        body.put("commandLoop", streamsState == KafkaStreams.State.RUNNING ? "ok" : String.valueOf(streamsState));
        return new RestServer.Health(current != State.FAILED, notReady == null, body);
    }

    /** The Streams tasks this instance runs (0_0 is the command sub-topology, 1_N the views of status partition N). */
    private List<String> tasks(boolean active) {
        if (streams == null) {
            return List.of();
        }
        try {
            return streams.metadataForLocalThreads().stream()
                    .flatMap(t -> (active ? t.activeTasks() : t.standbyTasks()).stream())
                    .map(t -> t.taskId().toString()).sorted().toList();
        } catch (RuntimeException e) {
            return List.of();
        }
    }

    /** Every enlisted target's view (gathered from every instance), with unread instructions. */
    public List<TargetView> targets() {
        return queries.targets(false);
    }

    public Optional<TargetView> target(String name) {
        return queries.target(name, false);
    }

    /** Every target group and its members. */
    public Map<String, List<String>> groups() {
        return queries.groups(false);
    }

    /** The download list, newest first (at most the default limit), optionally for one target and/or job. */
    public List<InstructionView> instructions(String target, String job) {
        return queries.instructions(target, job, null, RestServer.DEFAULT_INSTRUCTIONS_LIMIT, false);
    }

    /** Every job definition the master holds. */
    public List<JobView> jobs() {
        return queries.jobs(false);
    }

    /**
     * A job's runs on every target (the newest 10,000), oldest first; empty when the master knows no such job and no
     * runs of it.
     */
    public Optional<List<JobRunView>> history(String jobId) {
        return queries.history(jobId, RestServer.DEFAULT_HISTORY_LIMIT, false);
    }

    /** Port of the REST API (useful when configured as 0). */
    public int httpPort() {
        return rest.port();
    }

    public State state() {
        return state.get();
    }

    /** The Streams client's state, or null before start. */
    public KafkaStreams.State streamsState() {
        return streams == null ? null : streams.state();
    }

    /** The last error seen (a dead stream thread, Streams ERROR), or null. */
    public String lastError() {
        return lastError;
    }

    /**
     * Waits until the master FAILED or was closed.
     *
     * @return the state then (RUNNING when the wait timed out)
     */
    public State awaitTermination(Duration timeout) throws InterruptedException {
        ended.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
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
        ended.countDown();
        closing.countDown();
        log.info("Master {}: {} -> STOPPING", config.masterId(), current);
        long deadline = System.nanoTime() + timeout.toNanos();
        if (rest != null) {
            rest.close();
        }
        if (commands != null) {
            commands.close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        }
        if (streams != null) {
            streams.close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        }
        if (refresher != null) {
            Threads.joinUntil(refresher, deadline);
        }
        if (admin != null) {
            admin.close();
        }
        metrics.close();
        state.set(State.STOPPED);
        log.info("Master {}: STOPPING -> STOPPED", config.masterId());
    }
}
