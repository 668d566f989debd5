package io.msx.agent;

import io.micrometer.core.instrument.MeterRegistry;
import io.msx.MsxVersion;
import io.msx.Threads;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobSchedule;
import io.msx.avro.state.StoredRun;
import io.msx.avro.status.CheckInTrigger;
import io.msx.avro.status.Enlist;
import io.msx.avro.status.JobOutcome;
import io.msx.avro.status.RunStatus;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.spool.StatusOutbox.Priority;
import io.msx.spool.StatusSpool;
import io.msx.agent.internal.AgentMeta;
import io.msx.agent.internal.AgentHttpServer;
import io.msx.http.HttpSecurity;
import io.msx.agent.internal.AgentState;
import io.msx.agent.internal.AgentStore;
import io.msx.agent.internal.CheckInScheduler;
import io.msx.agent.internal.InstructionApplier;
import io.msx.agent.internal.InstructionGuard;
import io.msx.security.Ed25519Keys;
import io.msx.security.SignatureHeaders;
import io.msx.security.Signer;
import io.msx.security.StatusSignatures;
import io.msx.agent.internal.InstructionLoop;
import io.msx.agent.internal.JobExecutor;
import io.msx.agent.internal.JobInventory;
import io.msx.agent.internal.JobScheduler;
import io.msx.agent.internal.StatusReporter;
import io.msx.agent.internal.job.JobIsolation;
import io.msx.agent.internal.job.JobRun;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A target server: consumes only its own instruction topic, applies instructions in order (each one's effect, offset
 * and acknowledgement in one RocksDB batch), runs its jobs on their schedules or on START, and reports enlistment,
 * acknowledgements, check-ins and job outcomes to the status topic through its durable spool.
 *
 * <p>Instructions it cannot read (not the wire format, corrupt, an unknown type) go unchanged to the instruction
 * topic's dead-letter topic {@code <topic>.dlq} through a plain idempotent producer before they are acknowledged
 * FAILED. Its local state is stored in Avro's single-object encoding, readable after an upgrade.
 *
 * <p>Identity: every installation has an epoch, created with its store and carried in every status event; a fresh
 * installation reads its topic from the end and asks the master for a resync. A defected agent refuses to start
 * ({@link TargetAgentDefectedException}) until its data directory is reset on purpose; the polling interval the master
 * set survives restarts.
 *
 * <p>Supervision: transient failures (broker away, timeouts, a full spool) are retried by each loop; a loop that
 * cannot go on, a thread that dies, or a spool that fails moves the agent to {@link State#FAILED}: readiness and
 * liveness turn 503 with the reason, and {@link #awaitTermination} returns so the process can exit non-zero.
 *
 * <p>Threads: {@code msx-target-<name>-instructions} (the consumer), {@code -poller} (check-ins), {@code -scheduler}
 * (job schedules), {@code -run-N} (job runs). Thread-safe; {@link #close(Duration)} is idempotent.
 */
public final class TargetAgent implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TargetAgent.class);
    private static final com.fasterxml.jackson.databind.ObjectMapper HEALTH_JSON =
            new com.fasterxml.jackson.databind.ObjectMapper();
    /** Longest wait for Kafka to take a dead letter; beyond it the instruction is tried again later. */
    private static final Duration DEAD_LETTER_TIMEOUT = Duration.ofSeconds(20);
    /** Longest the start waits for what survived of a run cut short to die. */
    private static final Duration ORPHAN_KILL_TIMEOUT = Duration.ofSeconds(10);

    /** Lifecycle; transitions only forward. DEFECTED and FAILED end running: the owner then closes the agent. */
    public enum State {
        CREATED, RUNNING, DEFECTED, FAILED, STOPPING, STOPPED;

        boolean canMoveTo(State next) {
            return next.ordinal() > ordinal();
        }
    }

    private final TargetAgentConfig config;
    private final Map<String, String> environment;
    private final Clock clock;
    private final InstructionGuard guard;
    /** File name of the status-signing key created in the data directory when signing.key.file is not set. */
    public static final String STATUS_KEY_FILE = "target-signing.key";
    private volatile Signer statusSigner;
    private final MeterRegistry meters;
    private final String name;
    private final AtomicReference<State> state = new AtomicReference<>(State.CREATED);
    private final AgentState agentState;
    private final CountDownLatch ended = new CountDownLatch(1);
    private volatile String failure;
    private final JobInventory inventory = new JobInventory();
    private StatusSpool spool;
    private StatusReporter reporter;
    private CheckInScheduler checkIns;
    private JobExecutor executor;
    private JobScheduler jobScheduler;
    private InstructionApplier applier;
    private InstructionLoop loop;
    private KafkaProducer<byte[], byte[]> deadLetters;
    private Thread loopThread;
    private Thread schedulerThread;

    private AgentHttpServer http;

    /** An agent with its own Prometheus registry (served at /metrics when http.port is set) and JVM meters. */
    public TargetAgent(TargetAgentConfig config, Clock clock) {
        this(config, clock, jvmMeters(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)));
    }

    private static MeterRegistry jvmMeters(MeterRegistry registry) {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        return registry;
    }

    public TargetAgent(TargetAgentConfig config, Clock clock, MeterRegistry meters) {
        this(config, clock, meters, System.getenv());
    }

    /**
     * @param environment the agent's own environment, where the variables {@code jobs.env.passthrough} names are
     *                    read (nothing else of it reaches job steps)
     */
    public TargetAgent(TargetAgentConfig config, Clock clock, MeterRegistry meters, Map<String, String> environment) {
        this.environment = Map.copyOf(environment);
        this.config = config;
        this.clock = clock;
        this.meters = meters;
        this.name = config.targetName();
        this.agentState = new AgentState(config.pollInterval());
        this.guard = instructionGuard(config, clock);
    }

    /**
     * What instructions must show before they are applied.
     *
     * @throws TargetAgentException when signatures are required and no master key is trusted, or the key file is
     *                              unreadable
     */
    private static InstructionGuard instructionGuard(TargetAgentConfig config, Clock clock) {
        io.msx.security.TrustedKeys keys;
        try {
            keys = config.trustedKeys();
        } catch (io.msx.security.KeyFileException e) {
            throw new TargetAgentException("target " + config.targetName() + ": trusted.keys.file: " + e.getMessage(),
                    e);
        }
        if (config.instructionsRequireSignature() && keys.isEmpty()) {
            throw new TargetAgentException("target " + config.targetName() + " requires signed instructions ("
                    + TargetAgentConfig.INSTRUCTIONS_REQUIRE_SIGNATURE_CONFIG + "=true) but trusts no master key: set "
                    + TargetAgentConfig.TRUSTED_KEYS_FILE_CONFIG + " to the master's public key file (the master "
                    + "logs its path at start), or, for development only, "
                    + TargetAgentConfig.INSTRUCTIONS_REQUIRE_SIGNATURE_CONFIG + "=false");
        }
        if (keys.isEmpty()) {
            log.warn("Target {}: instructions are not checked (no trusted master key, signatures not required): "
                    + "anyone who can write its topic can make it run anything", config.targetName());
        } else {
            log.info("Target {}: applies instructions signed by {}", config.targetName(), keys.keyIds());
        }
        return new InstructionGuard(config.targetName(), keys, config.instructionsRequireSignature(),
                config.instructionsMaxAge(), clock);
    }

    /**
     * Prepares the job work directory and checks job isolation, opens the spool and local state, settles runs a
     * previous process left behind, enlists with the master (through the status topic), and starts consuming
     * instructions and firing schedules.
     *
     * @throws TargetAgentException when already started, or when job isolation cannot be had (the work directory
     *                              overlaps the data directory or cannot be made, the run-as user cannot be switched
     *                              to); the agent is then STOPPED
     * @throws io.msx.spool.SpoolStorageException when the data directory is locked by another agent or unusable
     * @throws org.apache.kafka.common.config.ConfigException when the HTTP keystore or tokens file is unusable
     */
    public synchronized void start() {
        // read before anything starts: a bad keystore or tokens file fails the start, not half of it
        HttpSecurity httpSecurity = config.httpPort() >= 0 ? config.httpSecurity() : null;
        transition(State.CREATED, State.RUNNING);
        JobIsolation isolation;
        try {
            isolation = JobIsolation.prepare(new JobIsolation.Settings(config.jobsWorkDir(), config.dataDir(),
                    config.jobsEnvPath(), config.jobsEnvLang(), config.jobsEnvTz(), config.jobsEnvPassthrough(),
                    config.jobsRunAsUser(), config.jobsAllowedCommands()), environment);
        } catch (RuntimeException e) {
            state.set(State.STOPPED);
            throw e;
        }
        SchemaRegistryClient registry = new SchemaRegistryClient(config.schemaRegistry());
        MsxCodec codec = MsxCodec.of(registry, true, config.decodeLimits());
        statusSigner = statusSigner();
        spool = StatusSpool.open(name, config.spool(AgentStore.COLUMN_FAMILIES), config.kafkaClientProperties(),
                config.topics().status(), clock, meters, (key, value, headers) -> SignatureHeaders.write(headers,
                        statusSigner.keyId(), StatusSignatures.sign(statusSigner, key, value), null));
        AgentStore store = new AgentStore(spool);
        AgentMeta meta = new AgentMeta(spool);
        if (meta.defected().isPresent()) {
            String why = "target " + name + " was defected from the master (" + meta.defected().get() + "); it "
                    + "refuses to run, so it does not enlist again, until its data directory " + config.dataDir()
                    + " is reset on purpose (move it away, then start the agent)";
            spool.close(Duration.ofSeconds(5));
            state.set(State.STOPPED);
            throw new TargetAgentDefectedException(why);
        }
        Long applied = store.appliedOffset();
        KafkaConsumer<byte[], byte[]> consumer = newConsumer();
        boolean restored = false;
        if (applied != null && meta.epoch().isPresent()) {
            Long committed = committedOffset(consumer);
            if (committed != null && committed > applied + 1) {
                // Restored from a backup or cloned: a new installation, before anything of the old one runs or is
                // reported. (With the broker away now, the instruction loop checks again once it can.)
                String reason = AgentMeta.restoredReason(applied, committed - 1);
                spool.writeState(List.of(AgentMeta.newEpoch(), AgentMeta.resyncRequested(reason),
                        AgentStore.appliedOffset(committed - 1)));
                log.warn("Target agent {}: {}; a new installation resumes at offset {} and asks for a resync", name,
                        reason, committed);
                applied = committed - 1;
                restored = true;
            }
        }
        initialiseIdentity(meta, applied == null);
        inventory.load(store.jobs());
        if (applied != null) {
            agentState.lastAppliedOffset(applied);
        }
        meta.pollInterval().ifPresent(agentState::pollInterval);
        reporter = new StatusReporter(name, spool, store, codec, clock, agentState);
        executor = new JobExecutor(name, config.jobsMaxConcurrent(), reporter, isolation, clock,
                config.jobOutcomeMaxBytes());
        reporter.inventory(executor::runningJobs, inventory::digest);
        checkIns = new CheckInScheduler("msx-target-" + name + "-poller", agentState, clock, this::checkIn);
        deadLetters = newDeadLetterProducer();
        loop = new InstructionLoop(consumer, config.topics().target(name), codec, deadLetters,
                DEAD_LETTER_TIMEOUT, applied, clock);
        loop.onFatal(this::fail);
        applier = new InstructionApplier(name, reporter, checkIns, agentState, config.timeZone(),
                MsxVersion.current(), inventory, executor, this::defected);
        applier.onReinstall(this::enlistAppend);
        applier.guard(guard);
        loop.handler(applier);
        jobScheduler = new JobScheduler(inventory, clock, this::fire);

        try {
            enlist();
        } catch (io.msx.spool.SpoolFullException e) {
            // an installation that enlisted before: the master knows it; the next start enlists again
            log.warn("Target agent {}: Enlist not sent, the status spool is full ({} events wait for the broker)",
                    name, spool.stats().depth());
        }
        recoverRuns(store, restored);
        try {
            checkIn(CheckInTrigger.STARTUP);
        } catch (io.msx.spool.SpoolFullException e) {
            log.warn("Target agent {}: startup check-in not sent, the status spool is full", name);
        }
        loopThread = Threads.supervised("msx-target-" + name + "-instructions", loop, this::fail);
        loopThread.start();
        schedulerThread = Threads.supervised("msx-target-" + name + "-scheduler", jobScheduler, this::fail);
        schedulerThread.start();
        checkIns.start(this::fail);
        if (config.httpPort() >= 0) {
            PrometheusMeterRegistry prometheus = meters instanceof PrometheusMeterRegistry p ? p
                    : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            http = new AgentHttpServer(config.httpHost(), config.httpPort(), name, httpSecurity, this::health,
                    prometheus);
            http.start();
        }
        log.info("Target agent {} started ({} job(s), poll interval {}, data in {}, job steps in {} as {}, {})",
                name, inventory.all().size(), agentState.pollInterval(), config.dataDir(), isolation.workDir(),
                isolation.runAsUser() == null ? "the agent's user" : isolation.runAsUser(),
                isolation.allowedCommands().isEmpty() ? "any executable allowed"
                        : "allowed executables " + isolation.allowedCommands());
    }

    /** Tells the master who this installation is (from the reserve: it must get through a full spool). */
    private void enlist() {
        reporter.reportAll(List.of(enlistAppend()));
    }

    private io.msx.spool.StatusOutbox.Append enlistAppend() {
        return reporter.append(h -> Enlist.newBuilder()
                .setHeader(h)
                .setLocation(config.location())
                .setAgentVersion(MsxVersion.current())
                .setTimeZone(config.timeZone().getId())
                .setPollingIntervalSeconds((int) agentState.pollInterval().toSeconds())
                .setCapabilities(List.of("force-poll", "set-poll-interval", "sync-time", "os-process-jobs",
                        "cron-schedules", "installation-epoch", "signed-instructions", "signed-status"))
                .setPublicKey(java.nio.ByteBuffer.wrap(Ed25519Keys.publicKeyDer(statusSigner.publicKey())))
                .build(), List.of(), Priority.RESERVED);
    }

    /**
     * The key this target signs its status events with: {@code signing.key.file}, or one created in the data
     * directory at install (a new data directory is a new key, which the master must accept again).
     */
    private Signer statusSigner() {
        java.nio.file.Path file = config.signingKeyFile();
        try {
            Signer signer = file != null ? Signer.fromFile(file)
                    : new Signer(Ed25519Keys.readOrCreate(config.dataDir().resolve(STATUS_KEY_FILE)));
            log.info("Target agent {}: status events signed with key {}", name, signer.keyId());
            return signer;
        } catch (io.msx.security.KeyFileException e) {
            throw new TargetAgentException("target " + name + ": its signing key: " + e.getMessage(), e);
        }
    }

    /** The fingerprint of the key this target signs its status events with (known once started). */
    public String statusKeyFingerprint() {
        Signer signer = statusSigner;
        return signer == null ? null : signer.keyId();
    }

    /** The offset this target's consumer group committed, or null when none or the broker does not answer now. */
    private Long committedOffset(KafkaConsumer<byte[], byte[]> consumer) {
        org.apache.kafka.common.TopicPartition partition = new org.apache.kafka.common.TopicPartition(
                config.topics().target(name), 0);
        try {
            org.apache.kafka.clients.consumer.OffsetAndMetadata committed = consumer.committed(
                    java.util.Set.of(partition), Duration.ofSeconds(5)).get(partition);
            return committed == null ? null : committed.offset();
        } catch (RuntimeException e) {
            log.info("Target agent {}: committed offset not known at start ({}); checked again once the broker "
                    + "answers", name, e.toString());
            return null;
        }
    }

    /**
     * Gives a store its installation epoch the first time this version opens it. A store that never applied an
     * instruction is a new installation: it waits for the master's resync (asked for in its check-ins).
     */
    private void initialiseIdentity(AgentMeta meta, boolean fresh) {
        if (meta.epoch().isEmpty()) {
            List<io.msx.spool.StateChange> changes = new java.util.ArrayList<>();
            changes.add(AgentMeta.newEpoch());
            if (fresh) {
                changes.add(AgentMeta.resyncRequested("new installation: it holds no jobs yet"));
            }
            spool.writeState(changes);
        }
        agentState.epoch(meta.epoch().orElseThrow());
        agentState.resyncReason(meta.resyncRequested().orElse(null));
        agentState.instructionsLost(meta.instructionsLost());
        agentState.undecodable(meta.undecodable());
        agentState.instructionSeq(meta.instructionSeq());
        log.info("Target agent {}: installation epoch {}{}", name, agentState.epoch(),
                agentState.resyncReason() == null ? "" : ", waiting for a resync (" + agentState.resyncReason() + ")");
    }

    /**
     * Runs recorded by a previous process: a START acknowledged but never begun runs now (exactly once); a run that
     * was in progress is reported FAILED, not started again (its steps may have had effects).
     */
    private void recoverRuns(AgentStore store, boolean restored) {
        for (StoredRun run : store.runs()) {
            JobDefinition job = inventory.get(run.getJobId());
            boolean pending = run.getState().equals(AgentStore.PENDING);
            if (restored) {
                // runs recorded in a backup: the original installation ran or reported them already
                killed(run);
                reportRecovered(run, "the data directory was restored from a backup (or cloned); this run, recorded "
                        + "in it, was not started again");
                continue;
            }
            if (pending && job != null) {
                JobRun reserved = executor.reserve(run.getRunId(), job, run.getTrigger(), run.getStartStepId());
                if (reserved != null) {
                    log.info("Starting run {} of job {}, acknowledged before the agent stopped", run.getRunId(),
                            run.getJobId());
                    executor.start(reserved);
                    continue;
                }
            }
            String why = pending ? "job " + run.getJobId() + " was removed before the run began"
                    : "the agent stopped while this run was in progress; it was not started again" + killed(run);
            reportRecovered(run, why);
        }
    }

    /** Reports a run a previous process left behind as FAILED and forgets it, in one write. */
    private void reportRecovered(StoredRun run, String why) {
        Instant now = reporter.now();
        try {
            reporter.report(h -> JobOutcome.newBuilder().setHeader(h).setRunId(run.getRunId())
                    .setJobId(run.getJobId()).setTrigger(run.getTrigger()).setStatus(RunStatus.FAILED)
                    .setMessage(why).setStartedAt(now).setEndedAt(now).setDurationMillis(0).build(),
                    List.of(AgentStore.deleteRun(run.getRunId())), Priority.RESERVED);
        } catch (io.msx.spool.SpoolFullException e) {
            log.warn("Run {} of job {} left by the last stop is reported at the next start: the status spool is full",
                    run.getRunId(), run.getJobId());
        }
    }

    /**
     * Kills what survived of a run the previous process left in progress (its step process groups, and processes
     * carrying its MSX_RUN_ID), so the next START never runs beside it; says what it did for the run's report.
     */
    private static String killed(StoredRun run) {
        io.msx.agent.internal.job.Orphans.Result result = io.msx.agent.internal.job.Orphans.killSurvivors(run,
                ORPHAN_KILL_TIMEOUT);
        if (result.killed() == 0 && result.clean()) {
            return "";
        }
        return "; " + result.killed() + " process(es) it left running were killed"
                + (result.clean() ? "" : ", " + result.survivors() + " could not be killed");
    }

    private void fire(JobDefinition job, JobSchedule schedule) {
        String trigger = "schedule:" + schedule.getName();
        if (spool.stats().full()) {
            if (reporter.refusalFromReserve()) {
                reporter.skippedNow(job, trigger, reporter.outboxFull(), Priority.RESERVED);
            } else {
                log.warn("Schedule {} of job {} skipped: the status spool is full (not reported: the reserve is kept "
                        + "for outcomes)", schedule.getName(), job.getJobId());
            }
            return;
        }
        JobRun run = executor.reserve(UUID.randomUUID(), job, trigger, null);
        if (run == null) {
            JobRun current = executor.current(job.getJobId());
            reporter.skippedNow(job, trigger, StatusReporter.alreadyRunning(current == null ? null : current.runId()),
                    Priority.NORMAL);
            return;
        }
        executor.start(run);
    }

    private KafkaConsumer<byte[], byte[]> newConsumer() {
        Map<String, Object> configs = new HashMap<>(config.kafkaClientProperties());
        configs.put(ConsumerConfig.GROUP_ID_CONFIG, config.topics().targetConsumerGroup(name));
        configs.put(ConsumerConfig.CLIENT_ID_CONFIG, "msx-target-" + name + "-instructions");
        configs.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        // each poll is applied in one synced write: larger polls pay the sync less often
        configs.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000);
        configs.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // the loop always seeks itself; "none" makes an expired position an error it handles (never a silent reset)
        configs.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        return new KafkaConsumer<>(configs, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** Plain (not transactional), idempotent, acks=all; its sends are bounded so a down broker is retried later. */
    private KafkaProducer<byte[], byte[]> newDeadLetterProducer() {
        Map<String, Object> configs = new HashMap<>(config.kafkaClientProperties());
        configs.put(ProducerConfig.CLIENT_ID_CONFIG, "msx-target-" + name + "-dlq");
        configs.put(ProducerConfig.ACKS_CONFIG, "all");
        configs.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        configs.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000);
        configs.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        configs.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 15_000);
        return new KafkaProducer<>(configs, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private AgentHttpServer.Health health() {
        checkSpool();
        State current = state.get();
        boolean consuming = loop != null && loop.isConsuming();
        boolean connected = loop != null && loop.isConnected();
        boolean live = current != State.FAILED;
        boolean ready = current == State.RUNNING && consuming && connected;
        String reason = current == State.FAILED ? failure
                : current != State.RUNNING ? "agent is " + current
                : !consuming ? "not consuming its instruction topic yet"
                : !connected ? "the broker does not answer" : null;
        io.msx.spool.OutboxStats stats = spool.stats();
        com.fasterxml.jackson.databind.node.ObjectNode body = HEALTH_JSON.createObjectNode()
                .put("target", name).put("state", current.name()).put("live", live).put("ready", ready)
                .put("reason", reason).put("consuming", consuming).put("brokerConnected", connected)
                .put("epoch", agentState.epoch()).put("spoolDepth", stats.depth()).put("spoolFull", stats.full())
                .put("deadLetteredEvents", stats.deadLettered()).put("runningJobs", executor.runningJobs().size());
        return new AgentHttpServer.Health(live, ready, body.toString());
    }

    /** Fails the agent when its spool failed (a storage error, a dead spool thread). */
    private void checkSpool() {
        if (spool != null && state.get() == State.RUNNING) {
            spool.failure().ifPresent(reason -> fail(new TargetAgentException("status spool failed: " + reason)));
        }
    }

    /**
     * A loop cannot go on, a thread died, or the spool failed: the agent is FAILED (readiness and liveness 503 with
     * the reason) and {@link #awaitTermination} returns, so the owner closes it and exits non-zero.
     */
    private void fail(Throwable error) {
        if (state.compareAndSet(State.RUNNING, State.FAILED)) {
            failure = error.toString();
            log.error("Target agent {}: RUNNING -> FAILED: {}", name, failure);
            ended.countDown();
        }
    }

    /** DEFECT was applied: the agent stops taking instructions; its owner closes it (and exits 0). */
    private void defected() {
        loop.stopAfterCurrent();
        if (state.compareAndSet(State.RUNNING, State.DEFECTED)) {
            log.info("Target agent {}: RUNNING -> DEFECTED", name);
            ended.countDown();
        }
    }

    /**
     * Waits until the agent stops running by itself (DEFECTED, FAILED) or is closed, checking its spool meanwhile.
     *
     * @return the state then, or RUNNING when the timeout passed first
     */
    public State awaitTermination(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            checkSpool();
            long left = deadline - System.nanoTime();
            if (left <= 0 || ended.await(Math.min(left, TimeUnit.SECONDS.toNanos(1)), TimeUnit.NANOSECONDS)) {
                return state.get();
            }
        }
    }

    /**
     * True while this installation waits for the master's resync: a new installation, instructions lost to
     * retention, a restored directory. It asks in its check-ins until it applied one.
     */
    public boolean awaitingResync() {
        return agentState.resyncReason() != null;
    }

    /** This installation's epoch. */
    public String epoch() {
        return agentState.epoch();
    }

    /** How much the status spool holds, whether it is full, and what it dead-lettered. */
    public io.msx.spool.OutboxStats spoolStats() {
        return spool.stats();
    }

    /** Why the agent FAILED, or null. */
    public String failure() {
        return failure;
    }

    /** Port of /health and /metrics, or -1 when they are off. */
    public int httpPort() {
        return http == null ? -1 : http.port();
    }

    private void checkIn(CheckInTrigger trigger) {
        reporter.checkIn(trigger, null, config.timeZone(), MsxVersion.current());
    }

    public String name() {
        return name;
    }

    public State state() {
        return state.get();
    }

    /** Ids of the jobs this target holds. */
    public List<String> jobIds() {
        return inventory.all().stream().map(JobDefinition::getJobId).sorted().toList();
    }

    /** True once the master has created this target's topic and the agent consumes it. */
    public boolean awaitConsuming(Duration timeout) throws InterruptedException {
        return loop != null && loop.awaitAssigned(timeout);
    }

    private void transition(State from, State to) {
        if (!from.canMoveTo(to) || !state.compareAndSet(from, to)) {
            throw new TargetAgentException("target agent " + name + " cannot go from " + state.get() + " to " + to);
        }
        log.info("Target agent {}: {} -> {}", name, from, to);
    }

    @Override
    public void close() {
        close(config.shutdownGrace().plusSeconds(30));
    }

    /**
     * Stops taking instructions and schedule firings, lets running job steps finish for up to
     * {@code shutdown.grace.ms} (then cancels them), reports their outcomes, gives the spool the rest of
     * {@code timeout} to deliver, and releases everything. Undelivered events stay spooled for the next start.
     */
    public synchronized void close(Duration timeout) {
        State current = state.get();
        if (current == State.STOPPING || current == State.STOPPED) {
            return;
        }
        state.set(State.STOPPING);
        ended.countDown();
        log.info("Target agent {}: {} -> {}", name, current, State.STOPPING);
        long deadline = System.nanoTime() + timeout.toNanos();
        if (http != null) {
            http.close();
        }
        if (loop != null) {
            loop.shutdown();
            jobScheduler.stop();
            join(loopThread, deadline);
            join(schedulerThread, deadline);
        }
        if (deadLetters != null) {
            try {
                deadLetters.close(Duration.ofSeconds(5));
            } catch (RuntimeException e) {
                log.warn("Dead-letter producer of {} did not close cleanly: {}", name, e.toString());
            }
        }
        if (checkIns != null) {
            checkIns.close();
        }
        if (executor != null) {
            Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
            executor.shutdown(config.shutdownGrace().compareTo(left) < 0 ? config.shutdownGrace() : left);
        }
        RuntimeException first = null;
        if (spool != null) {
            try {
                spool.close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            } catch (RuntimeException e) {
                first = e;
            }
        }
        state.set(State.STOPPED);
        log.info("Target agent {}: {} -> {}", name, State.STOPPING, State.STOPPED);
        if (first != null) {
            throw first;
        }
    }

    private static void join(Thread thread, long deadlineNanos) {
        if (!Threads.joinUntil(thread, deadlineNanos)) {
            log.warn("{} did not stop in time", thread.getName());
        }
    }
}
