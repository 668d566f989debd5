package io.msx.target;

import io.msx.avro.CheckInTrigger;
import io.msx.avro.Enlist;
import io.msx.avro.Instruction;
import io.msx.avro.StatusEvent;
import io.msx.schemas.AvroCodec;
import io.msx.schemas.SchemaRegistryClient;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.msx.spool.StatusSpool;
import io.msx.spool.StatusOutbox;
import io.msx.target.internal.AgentState;
import io.msx.target.internal.CheckInScheduler;
import io.msx.target.internal.InstructionApplier;
import io.msx.target.internal.InstructionLoop;
import io.msx.target.internal.StatusReporter;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A target server: consumes only its own instruction topic, applies instructions in order, and reports enlistment,
 * acknowledgements and check-ins to the status topic through its durable spool (nothing is lost while the broker is
 * unreachable).
 *
 * <p>Threads: {@code msx-target-<name>-instructions} (the consumer) and {@code msx-target-<name>-poller} (scheduled
 * check-ins). Thread-safe; {@link #close(Duration)} is idempotent.
 */
public final class TargetAgent implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TargetAgent.class);

    /** Lifecycle; transitions only forward. */
    public enum State {
        CREATED, RUNNING, STOPPING, STOPPED;

        boolean canMoveTo(State next) {
            return next.ordinal() > ordinal();
        }
    }

    private final TargetAgentConfig config;
    private final Clock clock;
    private final String name;
    private final AtomicReference<State> state = new AtomicReference<>(State.CREATED);
    private final AgentState agentState;
    private StatusOutbox outbox;
    private StatusReporter reporter;
    private CheckInScheduler scheduler;
    private InstructionLoop loop;
    private Thread loopThread;

    private final MeterRegistry meters;

    public TargetAgent(TargetAgentConfig config, Clock clock) {
        this(config, clock, new SimpleMeterRegistry());
    }

    public TargetAgent(TargetAgentConfig config, Clock clock, MeterRegistry meters) {
        this.config = config;
        this.clock = clock;
        this.meters = meters;
        this.name = config.targetName();
        this.agentState = new AgentState(config.pollInterval());
    }

    /**
     * Enlists with the master (through the status topic) and starts consuming instructions.
     *
     * @throws TargetAgentException when already started, or its state directory is unusable
     */
    public synchronized void start() {
        transition(State.CREATED, State.RUNNING);
        SchemaRegistryClient registry = new SchemaRegistryClient(
                config.schemaRegistry());
        outbox = StatusSpool.open(name, config.spool(), config.bootstrapServers(), config.topics().status(), clock,
                meters);
        reporter = new StatusReporter(name, outbox, AvroCodec.of(StatusEvent.class, registry, true), clock, agentState);
        scheduler = new CheckInScheduler("msx-target-" + name + "-poller", agentState, this::checkIn);
        InstructionApplier applier = new InstructionApplier(name, reporter, scheduler, agentState,
                config.timeZone(), AgentVersion.current());
        loop = new InstructionLoop(newConsumer(), config.topics().target(name),
                AvroCodec.of(Instruction.class, registry, false), applier);

        reporter.report(Enlist.newBuilder()
                .setLocation(config.location())
                .setAgentVersion(AgentVersion.current())
                .setTimeZone(config.timeZone().getId())
                .setPollingIntervalSeconds((int) agentState.pollInterval().toSeconds())
                .setCapabilities(List.of("force-poll", "set-poll-interval", "sync-time"))
                .build());
        checkIn(CheckInTrigger.STARTUP);
        loopThread = new Thread(loop, "msx-target-" + name + "-instructions");
        loopThread.start();
        scheduler.start();
        log.info("Target agent {} started (poll interval {}, data in {})", name, agentState.pollInterval(),
                config.dataDir());
    }

    private KafkaConsumer<byte[], byte[]> newConsumer() {
        Map<String, Object> configs = new HashMap<>();
        configs.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        configs.put(ConsumerConfig.GROUP_ID_CONFIG, consumerGroup(config.topics().prefix(), name));
        configs.put(ConsumerConfig.CLIENT_ID_CONFIG, "msx-target-" + name + "-instructions");
        configs.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        configs.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        configs.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return new KafkaConsumer<>(configs, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /**
     * The consumer group whose committed offset on {@code <prefix>target.<name>} marks what the target has applied;
     * the master reads unread instructions as this group's lag.
     */
    public static String consumerGroup(String topicPrefix, String target) {
        return topicPrefix + "target." + target;
    }

    private void checkIn(CheckInTrigger trigger) {
        reporter.checkIn(trigger, null, config.timeZone(), AgentVersion.current());
    }

    public String name() {
        return name;
    }

    public State state() {
        return state.get();
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
        close(Duration.ofSeconds(30));
    }

    /** Stops consuming, stops check-ins, sends what the outbox holds within {@code timeout}, releases everything. */
    public synchronized void close(Duration timeout) {
        State current = state.get();
        if (current == State.STOPPING || current == State.STOPPED) {
            return;
        }
        state.set(State.STOPPING);
        log.info("Target agent {}: {} -> {}", name, current, State.STOPPING);
        RuntimeException first = null;
        long deadline = System.nanoTime() + timeout.toNanos();
        if (loop != null) {
            loop.shutdown();
            try {
                loopThread.join(Math.max(1, Duration.ofNanos(deadline - System.nanoTime()).toMillis()));
                if (loopThread.isAlive()) {
                    log.warn("Instruction loop of {} did not stop within {}", name, timeout);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (scheduler != null) {
            scheduler.close();
        }
        if (outbox != null) {
            try {
                outbox.close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
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
}
