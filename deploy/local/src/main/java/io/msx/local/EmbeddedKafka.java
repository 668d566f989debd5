package io.msx.local;

import io.msx.local.internal.FreePorts;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Exit;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A real single-node Kafka broker in KRaft mode (combined broker and controller), running inside this JVM and
 * listening on 127.0.0.1 with ephemeral ports.
 *
 * <p>Kafka reacts to a fatal error by exiting the process. While an embedded broker runs, {@link Exit} is
 * redirected so that such an error is logged and thrown instead of killing the host JVM; a broker that must be killed
 * for a test belongs in a child JVM.
 *
 * <p>Thread-safe. {@link #close()} is idempotent and blocks until the broker has shut down.
 */
public final class EmbeddedKafka implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedKafka.class);
    private static final int START_ATTEMPTS = 3;
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    private final KafkaRaftServer server;
    private final Path dataDir;
    private final boolean deleteDataOnClose;
    private final String bootstrapServers;
    private final TcpProxy proxy;
    private final KafkaSecurity security;
    private final AtomicBoolean closed = new AtomicBoolean();

    private EmbeddedKafka(KafkaRaftServer server, Path dataDir, boolean deleteDataOnClose, String bootstrapServers,
                          TcpProxy proxy, KafkaSecurity security) {
        this.server = server;
        this.security = security;
        this.dataDir = dataDir;
        this.deleteDataOnClose = deleteDataOnClose;
        this.bootstrapServers = bootstrapServers;
        this.proxy = proxy;
    }

    /**
     * Starts a secured broker ({@link KafkaSecurity}: SASL SCRAM, ACLs) with its data in a new temporary directory,
     * deleted on close.
     */
    public static EmbeddedKafka start() {
        return start(KafkaSecurity.generate());
    }

    /** Starts a broker without authentication or ACLs (development only), data in a temporary directory. */
    public static EmbeddedKafka startPlaintext() {
        return start((KafkaSecurity) null);
    }

    private static EmbeddedKafka start(KafkaSecurity security) {
        try {
            return start(Files.createTempDirectory("msx-kafka-"), true, security);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a data directory for the embedded broker", e);
        }
    }

    /**
     * Starts a broker storing its log in {@code dataDir}, retrying with new ports when one was taken meanwhile.
     *
     * @throws LocalStackException when the broker cannot start or does not answer within 60 s
     */
    public static EmbeddedKafka start(Path dataDir, boolean deleteDataOnClose) {
        return start(dataDir, deleteDataOnClose, KafkaSecurity.generate());
    }

    /** As {@link #start(Path, boolean)}; {@code security} null starts it without authentication or ACLs. */
    public static EmbeddedKafka start(Path dataDir, boolean deleteDataOnClose, KafkaSecurity security) {
        redirectExit();
        LocalStackException last = null;
        for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
            Path attemptDir = dataDir.resolve("attempt-" + attempt);
            try {
                return startOnce(dataDir, attemptDir, deleteDataOnClose, security);
            } catch (LocalStackException e) {
                last = e;
                log.warn("Embedded Kafka broker did not start (attempt {} of {}): {}", attempt, START_ATTEMPTS,
                        e.getMessage());
                Directories.deleteRecursively(attemptDir);
            }
        }
        throw last;
    }

    private static EmbeddedKafka startOnce(Path rootDir, Path logDir, boolean deleteDataOnClose,
                                           KafkaSecurity security) {
        int brokerPort = FreePorts.next();
        int controllerPort = FreePorts.next();
        int proxiedPort = FreePorts.next();
        TcpProxy proxy = new TcpProxy(proxiedPort);
        Properties props = brokerProperties(logDir, brokerPort, controllerPort, proxiedPort, proxy.port());
        if (security != null) {
            security.applyTo(props, "CONTROLLER", "PLAINTEXT", "PROXIED");
        }
        Path configFile = writeConfig(logDir, props);
        try {
            format(configFile, security);
        } catch (RuntimeException e) {
            proxy.close();
            throw e;
        }

        KafkaRaftServer server;
        try {
            server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
            server.startup();
        } catch (RuntimeException e) {
            proxy.close();
            throw new LocalStackException("embedded Kafka broker failed to start on 127.0.0.1:" + brokerPort
                    + " (controller " + controllerPort + "): " + e, e);
        }
        String bootstrap = "127.0.0.1:" + brokerPort;
        proxy.start();
        EmbeddedKafka kafka = new EmbeddedKafka(server, rootDir, deleteDataOnClose, bootstrap, proxy, security);
        try {
            kafka.awaitReady();
        } catch (RuntimeException e) {
            kafka.close();
            throw e;
        }
        log.info("Embedded Kafka broker started at {} (KRaft, {}, data in {})", bootstrap,
                security == null ? "PLAINTEXT without ACLs" : "SASL SCRAM-SHA-512 with ACLs", logDir);
        return kafka;
    }

    /**
     * Besides PLAINTEXT, a second listener PROXIED advertises the port of a {@link TcpProxy} in front of it, so clients
     * that bootstrap through the proxy keep talking through it and a test can cut them off the broker.
     */
    static Properties brokerProperties(Path logDir, int brokerPort, int controllerPort, int proxiedPort,
                                       int proxyPort) {
        Properties p = brokerProperties(logDir, brokerPort, controllerPort);
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort
                + ",PROXIED://127.0.0.1:" + proxiedPort);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + ",PROXIED://127.0.0.1:" + proxyPort);
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,PROXIED:PLAINTEXT");
        return p;
    }

    /**
     * A combined broker and controller with a PLAINTEXT and a CONTROLLER listener on 127.0.0.1, sized for one node.
     * {@code broker.session.timeout.ms=3000} lets a broker restarted after SIGKILL be unfenced within seconds.
     */
    static Properties brokerProperties(Path logDir, int brokerPort, int controllerPort) {
        Properties p = new Properties();
        p.putAll(Map.ofEntries(
                Map.entry("process.roles", "broker,controller"),
                Map.entry("node.id", "1"),
                Map.entry("controller.quorum.voters", "1@127.0.0.1:" + controllerPort),
                Map.entry("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort
                        + ",CONTROLLER://127.0.0.1:" + controllerPort),
                Map.entry("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort),
                Map.entry("controller.listener.names", "CONTROLLER"),
                Map.entry("inter.broker.listener.name", "PLAINTEXT"),
                Map.entry("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"),
                Map.entry("log.dirs", logDir.toAbsolutePath().toString()),
                Map.entry("num.partitions", "1"),
                Map.entry("auto.create.topics.enable", "false"),
                Map.entry("offsets.topic.replication.factor", "1"),
                Map.entry("offsets.topic.num.partitions", "5"),
                Map.entry("transaction.state.log.replication.factor", "1"),
                Map.entry("transaction.state.log.min.isr", "1"),
                Map.entry("transaction.state.log.num.partitions", "5"),
                Map.entry("share.coordinator.state.topic.replication.factor", "1"),
                Map.entry("share.coordinator.state.topic.min.isr", "1"),
                Map.entry("group.initial.rebalance.delay.ms", "0"),
                Map.entry("log.cleaner.dedupe.buffer.size", "4194304"),
                Map.entry("broker.session.timeout.ms", "3000")));
        return p;
    }

    private static Path writeConfig(Path logDir, Properties props) {
        try {
            Files.createDirectories(logDir);
            Path file = logDir.resolve("server.properties");
            try (OutputStream out = Files.newOutputStream(file)) {
                props.store(out, "msx embedded KRaft broker");
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the embedded broker's configuration in " + logDir, e);
        }
    }

    private static void format(Path configFile, KafkaSecurity security) {
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        int rc;
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of(
                "format", "--cluster-id", Uuid.randomUuid().toString(), "--config", configFile.toString()));
        if (security != null) {
            args.addAll(java.util.List.of("--add-scram", security.scramFormatArgument()));
        }
        try (PrintStream print = new PrintStream(output, true, StandardCharsets.UTF_8)) {
            rc = StorageTool.execute(args.toArray(String[]::new), print);
        }
        if (rc != 0) {
            throw new LocalStackException("formatting the embedded broker's storage failed (exit " + rc + "): "
                    + output.toString(StandardCharsets.UTF_8).strip());
        }
    }

    private void awaitReady() {
        Properties p = new Properties();
        p.putAll(adminClientProperties());
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) READY_TIMEOUT.toMillis());
        try (Admin admin = Admin.create(p)) {
            int nodes = admin.describeCluster().nodes().get(READY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).size();
            if (nodes == 0) {
                throw new LocalStackException("embedded broker at " + bootstrapServers + " reports no nodes");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LocalStackException("interrupted while waiting for the embedded broker", e);
        } catch (Exception e) {
            throw new LocalStackException("embedded broker at " + bootstrapServers + " did not become ready within "
                    + READY_TIMEOUT.toSeconds() + " s: " + e, e);
        }
    }

    private static void redirectExit() {
        Exit.setExitProcedure((status, message) -> {
            log.error("Embedded Kafka asked to exit the JVM with status {}: {}", status, message);
            throw new LocalStackException("embedded Kafka requested exit(" + status + "): " + message);
        });
        Exit.setHaltProcedure((status, message) -> {
            log.error("Embedded Kafka asked to halt the JVM with status {}: {}", status, message);
            throw new LocalStackException("embedded Kafka requested halt(" + status + "): " + message);
        });
    }

    /** {@code host:port} of the PLAINTEXT listener. */
    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** Whether clients must authenticate (SASL SCRAM) and hold ACLs. */
    public boolean secured() {
        return security != null;
    }

    /** The broker's security, or null when it runs without. */
    public KafkaSecurity security() {
        return security;
    }

    /** Bootstrap servers and the super-user's credentials: what test fixtures and operators' tools connect with. */
    public Map<String, Object> adminClientProperties() {
        Map<String, Object> p = new java.util.HashMap<>();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        if (security != null) {
            p.putAll(security.adminSettings());
        }
        return p;
    }

    /** Bootstrap servers and {@code user}'s credentials (the user must have been created). */
    public Map<String, Object> clientProperties(String user, String password) {
        Map<String, Object> p = new java.util.HashMap<>();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        if (security != null) {
            p.putAll(KafkaSecurity.clientSettings(user, password));
        }
        return p;
    }

    /** The fault-injection proxy: clients bootstrapped with {@link #proxiedBootstrapServers()} go through it. */
    public TcpProxy proxy() {
        return proxy;
    }

    /** {@code host:port} of the proxy in front of the PROXIED listener. */
    public String proxiedBootstrapServers() {
        return "127.0.0.1:" + proxy.port();
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        proxy.close();
        try {
            server.shutdown();
            server.awaitShutdown();
            log.info("Embedded Kafka broker at {} stopped", bootstrapServers);
        } catch (RuntimeException e) {
            log.warn("Embedded Kafka broker at {} did not shut down cleanly: {}", bootstrapServers, e.toString());
        } finally {
            if (deleteDataOnClose) {
                Directories.deleteRecursively(dataDir);
            }
        }
    }
}
