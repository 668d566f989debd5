package io.msx.bench;

import io.msx.local.LocalStack;
import io.msx.master.MasterConfig;
import io.msx.master.MasterPublisher;
import io.msx.master.TargetView;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.schemas.SchemaRegistryConfig;
import io.msx.schemas.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

/**
 * The master at fleet scale, in one run on the local stack (in-JVM KRaft broker, Apicurio in a child JVM), with
 * {@code msx.bench.targets} simulated targets (default 10,000) whose status events are written straight to the
 * status topic with a raw producer, as their agents' spools would:
 * <ol>
 *   <li>memory per target: every target enlisted with {@value #RUNS_PER_TARGET} runs of job history; RSS and heap
 *       after a full GC before the master starts, once it started, and once its views hold everything. The broker
 *       runs in this JVM, so the master's share is the growth from before its start (the broker's own growth
 *       included);</li>
 *   <li>restart to ready (a new master on the same {@code state.dir}: start() until targets() lists every target)
 *       with {@code msx.bench.status.events} check-ins (default 1,000,000) behind it, against the same restart with
 *       only the Enlists behind it;</li>
 *   <li>fan-out of one job to every target vs a raw idempotent producer writing the same records;</li>
 *   <li>force-poll round trip at 200 targets vs two raw produce-consume hops, and Kafka's own EndToEndLatency when
 *       kafka-tools is on the class path.</li>
 * </ol>
 * Prints one table (baseline, msx, msx/baseline), then whether the goals are met and the details.
 */
final class MasterBench {

    static final String TARGETS_PROPERTY = "msx.bench.targets";
    static final String STATUS_EVENTS_PROPERTY = "msx.bench.status.events";
    static final String FANOUT_ROUNDS_PROPERTY = "msx.bench.fanout.rounds";
    /** {@code -Dmsx.bench.master.<key>=<value>} sets a {@link MasterConfig} key of the master under test. */
    static final String MASTER_PROPERTY_PREFIX = "msx.bench.master.";
    private static final int RUNS_PER_TARGET = 100;
    private static final int POLL_TARGETS = 200;
    private static final long GOAL_BYTES_PER_TARGET = 20 * 1024;
    private static final Duration GOAL_RESTART = Duration.ofSeconds(10);
    private static final double GOAL_FANOUT_RATIO = 0.8;
    private static final String E2E_TOPIC = "bench.e2e";
    /** Topics per CreateTopics request: far below the controller's limit of records per request. */
    private static final int TOPICS_PER_REQUEST = 1000;
    /** Open files of this JVM besides the target topics' segments (jars, sockets, RocksDB, internal topics): about. */
    private static final int FILES_BESIDES_TARGETS = 700;
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

    private MasterBench() {
    }

    /** A master started again on the same state, and how long it took. */
    private record Restart(MasterPublisher master, long startNanos, long readyNanos) {
    }

    static void main() throws Exception {
        int n = Integer.getInteger(TARGETS_PROPERTY, 10_000);
        long statusEvents = Long.getLong(STATUS_EVENTS_PROPERTY, 1_000_000L);
        int rounds = Integer.getInteger(FANOUT_ROUNDS_PROPERTY, 3);
        if (n < 1 || statusEvents < 0 || rounds < 1) {
            throw new IllegalArgumentException(TARGETS_PROPERTY + " must be >= 1, " + STATUS_EVENTS_PROPERTY
                    + " >= 0, " + FANOUT_ROUNDS_PROPERTY + " >= 1");
        }
        warnIfTooFewFiles(n);
        Path stateDir = Files.createTempDirectory("msx-bench-master-");
        try (LocalStack stack = LocalStack.start()) {
            run(stack, stateDir, n, statusEvents, rounds);
        } finally {
            deleteRecursively(stateDir);
        }
    }

    private static void run(LocalStack stack, Path stateDir, int n, long statusEvents, int rounds) throws Exception {
        // bootstrap servers and the super-user's credentials: the broker is secured (SASL SCRAM, ACLs)
        Map<String, Object> kafka = stack.adminClientProperties();
        Topics topics = new Topics("bench.");
        SimulatedFleet fleet = new SimulatedFleet(n);
        progress("creating %,d target topics and their dead-letter topics", n);
        createTopics(kafka, topics, fleet.names());
        SchemaRegistryClient registry = new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl()));
        MsxCodec codec = MsxCodec.of(registry, true);
        Map<String, Object> settings = new HashMap<>(Map.of(
                MasterConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
                MasterConfig.SCHEMA_REGISTRY_URL_CONFIG, stack.schemaRegistryUrl(),
                MasterConfig.TOPIC_PREFIX_CONFIG, topics.prefix(),
                MasterConfig.MASTER_ID_CONFIG, "bench-master",
                MasterConfig.HTTP_PORT_CONFIG, 0,
                MasterConfig.STATE_DIR_CONFIG, stateDir.toString(),
                MasterConfig.HISTORY_RUNS_PER_JOB_CONFIG, RUNS_PER_TARGET,
                // the key it signs instructions with, kept with its state
                MasterConfig.SIGNING_KEY_FILE_CONFIG, Clients.masterKey(stateDir).toString()));
        settings.putAll(stack.adminSecuritySettings());
        System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith(MASTER_PROPERTY_PREFIX))
                .forEach(k -> settings.put(k.substring(MASTER_PROPERTY_PREFIX.length()), System.getProperty(k)));
        MasterConfig config = new MasterConfig(settings);
        progress("master settings: %s", settings.keySet().stream().filter(k -> !k.contains("bootstrap")
                && !k.contains("url") && !k.startsWith("sasl.")).sorted().map(k -> k + "=" + settings.get(k))
                .toList());

        Memory.Point before = Memory.afterGc();
        progress("before master start: %s", before.describe());
        MasterPublisher master = new MasterPublisher(config, Clock.systemUTC());
        try {
            master.start();
            Memory.Point idle = Memory.afterGc();
            progress("master started, no targets: %s", idle.describe());

            // 1. enlist every target, then (2, baseline) restart with only the Enlists behind it
            long enlistStart = System.nanoTime();
            try (StatusWriter writer = StatusWriter.bulk(kafka, topics, codec, fleet)) {
                fleet.names().forEach(writer::enlist);
                writer.flush();
            }
            awaitEnlisted(master, n);
            long enlistNanos = System.nanoTime() - enlistStart;
            progress("%,d targets enlisted in %.1f s; restarting the master (Enlists only behind it)", n,
                    enlistNanos / 1e9);
            Restart baselineRestart = restart(master, config, n);
            master = baselineRestart.master();
            progress("ready again in %,d ms", baselineRestart.readyNanos() / 1_000_000);

            // 1. job history: RUNS_PER_TARGET JobOutcomes per target, then memory once the views hold them
            long historyStart = System.nanoTime();
            long outcomes = (long) n * RUNS_PER_TARGET;
            progress("writing %,d JobOutcomes (%d per target)", outcomes, RUNS_PER_TARGET);
            Map<Integer, String> sentinels;
            try (StatusWriter writer = StatusWriter.bulk(kafka, topics, codec, fleet)) {
                Instant base = Instant.now().minus(RUNS_PER_TARGET + 1, ChronoUnit.MINUTES);
                for (int run = 1; run <= RUNS_PER_TARGET; run++) {
                    for (String target : fleet.names()) {
                        writer.outcome(target, run, base);
                    }
                }
                writer.flush();
                sentinels = writer.lastByPartition();
            } // closed before measuring: its buffers are not the master's
            awaitApplied(master, fleet, sentinels, "JobOutcomes", outcomes);
            long historyNanos = System.nanoTime() - historyStart;
            for (String target : List.of(fleet.names().get(0), fleet.names().get(n - 1))) {
                int runs = master.history(StatusWriter.jobOf(target)).map(List::size).orElse(0);
                if (runs != RUNS_PER_TARGET) {
                    throw new IllegalStateException("history of " + StatusWriter.jobOf(target) + " on " + target
                            + " has " + runs + " runs, expected " + RUNS_PER_TARGET);
                }
            }
            Memory.Point loaded = Memory.afterGc();
            RocksDbUsage rocksDb = RocksDbUsage.await(master.httpPort(), Duration.ofSeconds(75));
            progress("views loaded (%,d JobOutcomes in %.1f s): %s; RocksDB: %s", outcomes, historyNanos / 1e9,
                    loaded.describe(), rocksDb.describe());

            // 2. status events behind the master, then the restart measured
            long checkInStart = System.nanoTime();
            progress("writing %,d check-ins spread over the targets", statusEvents);
            try (StatusWriter writer = StatusWriter.bulk(kafka, topics, codec, fleet)) {
                for (long i = 0; i < statusEvents; i++) {
                    writer.checkIn(fleet.names().get((int) (i % n)));
                }
                writer.flush();
                sentinels = writer.lastByPartition();
            }
            awaitApplied(master, fleet, sentinels, "check-ins", statusEvents);
            long checkInNanos = System.nanoTime() - checkInStart;
            long behind = n + outcomes + statusEvents;
            progress("check-ins applied in %.1f s; restarting the master (%,d status events behind it)",
                    checkInNanos / 1e9, behind);
            Restart restart = restart(master, config, n);
            master = restart.master();
            progress("ready again in %,d ms", restart.readyNanos() / 1_000_000);

            // 4. force polls (simulated targets answer) vs two raw hops
            List<String> pollTargets = fleet.names().subList(0, Math.min(POLL_TARGETS, n));
            progress("force polls: %d targets, vs two raw hops", pollTargets.size());
            long[] hops = ForcePolls.rawTwoHops(kafka);
            long[] polls;
            SimulatedTargets simulator = new SimulatedTargets(kafka, topics, codec, fleet, pollTargets);
            Thread simulatorThread = new Thread(simulator, "bench-simulated-targets");
            simulatorThread.start();
            try {
                polls = ForcePolls.forcePolls(kafka, topics, codec, master, pollTargets);
            } finally {
                simulator.stop();
                simulatorThread.join(10_000);
            }

            // 3. fan-out of one job to every target vs a raw producer
            progress("fan-out to %,d targets: raw producer, then the master (%d rounds each after a warm-up)", n,
                    rounds);
            double rawFanOut = FanOuts.raw(kafka, topics, codec, fleet.names(), rounds);
            double fanOut;
            String fanOutFailure = null;
            try {
                fanOut = FanOuts.master(kafka, topics, registry, fleet.names(), rounds);
            } catch (RuntimeException e) { // the other figures are still worth printing
                fanOut = Double.NaN;
                fanOutFailure = e.getMessage();
                progress("the master's fan-out failed: %s", e);
            }
            master.close();

            progress("Kafka's EndToEndLatency");
            String kafkaE2e = KafkaEndToEnd.run(kafka, E2E_TOPIC, 1000, 100);

            print(new Results(n, statusEvents, before, idle, loaded, rocksDb, baselineRestart, restart, behind,
                    rawFanOut, fanOut, fanOutFailure, hops, polls, kafkaE2e, enlistNanos, historyNanos,
                    checkInNanos));
        } finally {
            master.close();
        }
    }

    /** Every figure of one run. */
    private record Results(int n, long statusEvents, Memory.Point before, Memory.Point idle, Memory.Point loaded,
                           RocksDbUsage rocksDb, Restart baselineRestart, Restart restart, long behind,
                           double rawFanOut, double fanOut, String fanOutFailure, long[] hops, long[] polls,
                           String kafkaE2e, long enlistNanos, long historyNanos, long checkInNanos) {
    }

    private static void print(Results r) {
        int n = r.n();
        long statusEvents = r.statusEvents();
        Memory.Point before = r.before();
        Memory.Point idle = r.idle();
        Memory.Point loaded = r.loaded();
        RocksDbUsage rocksDb = r.rocksDb();
        Restart baselineRestart = r.baselineRestart();
        Restart restart = r.restart();
        long behind = r.behind();
        double rawFanOut = r.rawFanOut();
        double fanOut = r.fanOut();
        String fanOutFailure = r.fanOutFailure();
        long[] hops = r.hops();
        long[] polls = r.polls();
        String kafkaE2e = r.kafkaE2e();
        long enlistNanos = r.enlistNanos();
        long historyNanos = r.historyNanos();
        long checkInNanos = r.checkInNanos();
        double perTarget = (double) (loaded.rss() - before.rss()) / n;
        double perTargetOverIdle = (double) (loaded.rss() - idle.rss()) / n;
        double heapPerTarget = (double) (loaded.heapUsed() - before.heapUsed()) / n;
        double heapCommittedPerTarget = (double) (loaded.heapCommitted() - before.heapCommitted()) / n;
        double offHeapPerTarget = perTarget - heapCommittedPerTarget;
        String goal = String.format("%,d B (goal)", GOAL_BYTES_PER_TARGET);
        double restartMs = restart.readyNanos() / 1e6;
        double baselineRestartMs = baselineRestart.readyNanos() / 1e6;
        int pollTargets = Math.min(POLL_TARGETS, n);

        Table table = new Table();
        table.add("JVM RSS after full GC: before master start (in-JVM broker, registry client) vs master started, "
                + "0 targets", "KiB", before.rss() / 1024.0, idle.rss() / 1024.0);
        table.add(String.format("JVM RSS after full GC: before master start vs %,d targets x %d runs in the views",
                n, RUNS_PER_TARGET), "KiB", before.rss() / 1024.0, loaded.rss() / 1024.0);
        table.addRaw("master's RSS per target = (loaded - before master start) / N; includes RocksDB's bounded "
                + "caches and the in-JVM broker's growth", goal, bytes(perTarget), perTarget / GOAL_BYTES_PER_TARGET);
        table.addRaw("  of which Java heap committed (G1's sizing; every JVM part shares the heap)", goal,
                bytes(heapCommittedPerTarget), heapCommittedPerTarget / GOAL_BYTES_PER_TARGET);
        table.addRaw("  of which outside the heap, RSS - heap committed (RocksDB, malloc arenas, JIT code, ...)",
                goal, bytes(offHeapPerTarget), offHeapPerTarget / GOAL_BYTES_PER_TARGET);
        table.addRaw("heap used after full GC (live objects) per target = (loaded - before master start) / N", goal,
                bytes(heapPerTarget), heapPerTarget / GOAL_BYTES_PER_TARGET);
        if (rocksDb.blockCache() >= 0) {
            double cachePerTarget = (double) (rocksDb.blockCache() + rocksDb.tableReaders()) / n;
            table.addRaw("RocksDB as the master's stores report it: block cache in use (memtables charged to it) + "
                    + "table readers, per target", goal, bytes(cachePerTarget), cachePerTarget
                    / GOAL_BYTES_PER_TARGET);
        }
        table.add(String.format("restart to ready (start() until targets() lists %,d): %,d Enlists vs %,d events "
                + "behind it (goal < %d s)", n, n, behind, GOAL_RESTART.toSeconds()), "ms", baselineRestartMs,
                restartMs);
        String fanOutLabel = String.format("fan-out of one job to %,d targets (command to committed result) vs raw "
                + "idempotent producer, same records (goal >= %.1fx)", n, GOAL_FANOUT_RATIO);
        if (fanOutFailure == null) {
            table.add(fanOutLabel, "instr/s", rawFanOut, fanOut);
        } else {
            table.addText(fanOutLabel, String.format("%,.0f instr/s", rawFanOut), "FAILED", "-");
        }
        table.addRaw("force-poll round trip p50, " + pollTargets + " targets, vs 2 raw produce-consume hops",
                ms(ForcePolls.percentile(hops, 50)), ms(ForcePolls.percentile(polls, 50)),
                (double) ForcePolls.percentile(polls, 50) / ForcePolls.percentile(hops, 50));
        table.addRaw("force-poll round trip p99", ms(ForcePolls.percentile(hops, 99)),
                ms(ForcePolls.percentile(polls, 99)),
                (double) ForcePolls.percentile(polls, 99) / ForcePolls.percentile(hops, 99));

        System.out.println();
        System.out.printf("msx master benchmark: %,d targets, %,d runs of history each, %,d status events; %d cores; "
                        + "memory is lower-is-better against the goal, restart and round trips are latencies "
                        + "(lower is better), fan-out is throughput (higher is better)%n", n, RUNS_PER_TARGET,
                statusEvents, Runtime.getRuntime().availableProcessors());
        table.print("baseline (goal / Enlists-only restart / raw producer / 2 raw hops)");
        System.out.println();
        System.out.println("Goals, from this run:");
        System.out.printf("  memory <= %,d B per target (RocksDB's bounded caches included): %s: %s per target "
                        + "at %,d targets; the idle master's fixed cost alone is %,d KiB (%s per target at this N), "
                        + "what the views' contents added is %s per target; without G1's heap sizing (growth "
                        + "outside the heap + growth of the heap used) %s per target%n", GOAL_BYTES_PER_TARGET,
                perTarget <= GOAL_BYTES_PER_TARGET ? "MET" : "NOT MET", bytes(perTarget), n,
                (idle.rss() - before.rss()) / 1024, bytes((double) (idle.rss() - before.rss()) / n),
                bytes(perTargetOverIdle), bytes(offHeapPerTarget + heapPerTarget));
        System.out.printf("  restart to ready < %d s: %s: %,.0f ms with %,d events behind it, %,.0f ms with %,d "
                        + "(ratio %.2f)%n", GOAL_RESTART.toSeconds(),
                restartMs < GOAL_RESTART.toMillis() ? "MET" : "NOT MET", restartMs, behind, baselineRestartMs, n,
                restartMs / baselineRestartMs);
        if (fanOutFailure == null) {
            System.out.printf("  fan-out >= %.1fx a raw producer: %s: %.2fx%n", GOAL_FANOUT_RATIO,
                    fanOut / rawFanOut >= GOAL_FANOUT_RATIO ? "MET" : "NOT MET", fanOut / rawFanOut);
        } else {
            System.out.printf("  fan-out >= %.1fx a raw producer: NOT MET: the master's fan-out failed: %s%n",
                    GOAL_FANOUT_RATIO, fanOutFailure);
        }
        System.out.println("Kafka's own EndToEndLatency: " + kafkaE2e);
        System.out.println("Memory, each after a full GC (one JVM: broker, master, bench clients; the registry is a "
                + "child JVM):");
        System.out.println("  before master start:  " + before.describe());
        System.out.println("  master started:       " + idle.describe());
        System.out.println("  views loaded:         " + loaded.describe());
        System.out.println("  RocksDB, views loaded: " + rocksDb.describe());
        System.out.printf("Views applied: %,d Enlists (registered) in %.1f s; %,d JobOutcomes in %.1f s (%,.0f/s); "
                        + "%,d check-ins in %.1f s (%,.0f/s); each from the first write%n", n, enlistNanos / 1e9,
                (long) n * RUNS_PER_TARGET, historyNanos / 1e9, n * RUNS_PER_TARGET / (historyNanos / 1e9),
                statusEvents, checkInNanos / 1e9, statusEvents / (checkInNanos / 1e9));
        System.out.printf("Restarts: start() returned after %,d ms (Enlists only) and %,d ms (all events), "
                + "targets() listed every target after %,.0f ms and %,.0f ms%n", baselineRestart.startNanos()
                / 1_000_000, restart.startNanos() / 1_000_000, baselineRestartMs, restartMs);
    }

    /** Closes the master and starts a new one on the same state.dir: start() until targets() lists every target. */
    private static Restart restart(MasterPublisher running, MasterConfig config, int n) {
        running.close();
        long start = System.nanoTime();
        MasterPublisher next = new MasterPublisher(config, Clock.systemUTC());
        try {
            next.start();
            long started = System.nanoTime() - start;
            long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
            while (countTargets(next) != n) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("restarted master lists " + countTargets(next) + " of " + n
                            + " targets after 5 minutes");
                }
                LockSupport.parkNanos(1_000_000);
            }
            return new Restart(next, started, System.nanoTime() - start);
        } catch (RuntimeException e) {
            next.close();
            throw e;
        }
    }

    /** Targets the master lists; -1 while its stores are not queryable. */
    private static int countTargets(MasterPublisher master) {
        try {
            return master.targets().size();
        } catch (RuntimeException e) {
            return -1;
        }
    }

    private static void awaitEnlisted(MasterPublisher master, int n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos() + n * 50_000_000L;
        long report = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (countTargets(master) != n) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("targets did not enlist: " + countTargets(master) + " of " + n);
            }
            if (System.nanoTime() > report) {
                progress("  %,d of %,d targets registered", countTargets(master), n);
                report = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            }
            Thread.sleep(200);
        }
    }

    /**
     * Waits until the views applied every event written: first until the last target written to each partition
     * shows its last seq (cheap), then until every target does.
     */
    private static void awaitApplied(MasterPublisher master, SimulatedFleet fleet, Map<Integer, String> sentinels,
                                     String what, long events) throws InterruptedException {
        long started = System.nanoTime();
        long deadline = started + Duration.ofMinutes(10).toNanos() + events * 2_000_000L; // at least 500/s
        long report = started + Duration.ofSeconds(30).toNanos();
        while (!(caughtUp(master, fleet, sentinels) && allApplied(master, fleet))) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the views did not apply the " + what + " in time: "
                        + appliedSummary(master, fleet));
            }
            if (System.nanoTime() > report) {
                progress("  waiting for the views to apply the %s: %s", what, appliedSummary(master, fleet));
                report = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            }
            Thread.sleep(250);
        }
    }

    private static boolean caughtUp(MasterPublisher master, SimulatedFleet fleet, Map<Integer, String> sentinels) {
        try {
            return sentinels.values().stream().allMatch(t -> master.target(t).map(TargetView::lastSeq).orElse(-1L)
                    >= fleet.last(t));
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static boolean allApplied(MasterPublisher master, SimulatedFleet fleet) {
        try {
            List<TargetView> views = master.targets();
            return views.size() == fleet.size() && views.stream().allMatch(v -> v.lastSeq() == fleet.last(v.name()));
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static String appliedSummary(MasterPublisher master, SimulatedFleet fleet) {
        try {
            long applied = master.targets().stream().mapToLong(TargetView::lastSeq).sum();
            long written = fleet.names().stream().mapToLong(fleet::last).sum();
            return String.format("%,d of %,d events written so far", applied, written);
        } catch (RuntimeException e) {
            return "views not queryable: " + e.getMessage();
        }
    }

    /** Each target's topic and its dead-letter topic (one partition), the force-poll hops and Kafka's e2e topic. */
    private static void createTopics(Map<String, Object> kafka, Topics topics, List<String> targets)
            throws Exception {
        List<NewTopic> all = new ArrayList<>();
        for (String target : targets) {
            all.add(new NewTopic(topics.target(target), 1, (short) 1));
            all.add(new NewTopic(Topics.deadLetter(topics.target(target)), 1, (short) 1));
        }
        all.add(new NewTopic(ForcePolls.HOP_A, 1, (short) 1));
        all.add(new NewTopic(ForcePolls.HOP_B, 1, (short) 1));
        all.add(new NewTopic(E2E_TOPIC, 1, (short) 1));
        try (Admin admin = Admin.create(kafka)) {
            for (int from = 0; from < all.size(); from += TOPICS_PER_REQUEST) {
                admin.createTopics(all.subList(from, Math.min(all.size(), from + TOPICS_PER_REQUEST))).all().get();
            }
        }
    }

    /**
     * The broker runs in this JVM and keeps every partition's active log segment open: two partitions per target (its
     * topic and its dead-letter topic), besides the master's RocksDB files and sockets.
     */
    private static void warnIfTooFewFiles(int n) {
        long needed = 2L * n + FILES_BESIDES_TARGETS;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
                if (line.startsWith("Max open files")) {
                    String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
                    if (!soft.equals("unlimited") && Long.parseLong(soft) < needed) {
                        progress("WARNING: %,d targets need about %,d open files in this JVM (the in-JVM broker "
                                + "holds a log segment open for each target topic and its dead-letter topic); "
                                + "this process may open %s (ulimit -n): expect 'Too many open files'", n, needed,
                                soft);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: nothing to check
        }
    }

    private static String ms(long nanos) {
        return String.format("%.2f ms", nanos / 1e6);
    }

    private static String bytes(double value) {
        return String.format("%,.0f B", value);
    }

    private static void progress(String format, Object... args) {
        System.err.printf("[bench %s] %s%n", LocalTime.now().format(CLOCK), String.format(format, args));
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
