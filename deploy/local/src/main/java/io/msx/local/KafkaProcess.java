package io.msx.local;

import io.msx.local.internal.FreePorts;
import io.msx.local.internal.KafkaProcessMain;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Uuid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A real single-node KRaft broker in a child JVM, so that a test can kill it with SIGKILL and start it again on the
 * same data directory and the same ports: clients configured with {@link #bootstrapServers()} find it again after a
 * {@link #restart()}.
 *
 * <p>Its ports are chosen once, at {@link #start(Path)}. Its data directory holds {@code server.properties}, the log
 * directory {@code log/} and {@code broker.log} (the child's output, appended across restarts). The child halts when
 * this JVM exits, however it exits.
 *
 * <p>Thread-safe; every method but {@link #bootstrapServers()} and {@link #dataDir()} blocks. {@link #close()} is
 * idempotent.
 */
public final class KafkaProcess implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(KafkaProcess.class);
    private static final int FIRST_START_ATTEMPTS = 3;
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    /** How long a restart retries while the old ports are not yet free again. */
    private static final Duration RESTART_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration KILL_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration PROBE_INTERVAL = Duration.ofMillis(200);

    private final Path dataDir;
    private final boolean deleteDataOnClose;
    private final String clusterId = Uuid.randomUuid().toString();
    private int brokerPort;
    private int controllerPort;
    private Process process;
    private boolean closed;

    private final KafkaSecurity security;

    private KafkaProcess(Path dataDir, boolean deleteDataOnClose) {
        this.security = KafkaSecurity.generate();
        this.dataDir = dataDir.toAbsolutePath();
        this.deleteDataOnClose = deleteDataOnClose;
    }

    /** Starts a broker storing its data in {@code dataDir} (created if missing), deleted on {@link #close()}. */
    public static KafkaProcess start(Path dataDir) {
        return start(dataDir, true);
    }

    /**
     * Starts a broker storing its data in {@code dataDir} (created if missing) and waits until it serves clients,
     * retrying with new ports when a chosen one was taken meanwhile.
     *
     * @throws LocalStackException when the broker does not become ready within 60 s per attempt
     */
    public static KafkaProcess start(Path dataDir, boolean deleteDataOnClose) {
        KafkaProcess kafka = new KafkaProcess(dataDir, deleteDataOnClose);
        LocalStackException last = null;
        for (int attempt = 1; attempt <= FIRST_START_ATTEMPTS; attempt++) {
            kafka.brokerPort = FreePorts.next();
            kafka.controllerPort = FreePorts.next();
            try {
                kafka.startOnce();
                return kafka;
            } catch (LocalStackException e) {
                last = e;
                log.warn("Kafka child process did not start (attempt {} of {}): {}", attempt, FIRST_START_ATTEMPTS,
                        e.getMessage());
                kafka.destroy();
            }
        }
        kafka.close();
        throw last;
    }

    /** Bootstrap servers and the super-user's credentials (the broker is secured as {@link EmbeddedKafka} is). */
    public Map<String, Object> adminClientProperties() {
        Map<String, Object> p = new java.util.HashMap<>();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        p.putAll(security.adminSettings());
        return p;
    }

    /** The super-user's security settings as configuration keys, to merge into a master's or an agent's. */
    public Map<String, String> adminSecuritySettings() {
        Map<String, String> p = new java.util.HashMap<>();
        security.adminSettings().forEach((k, v) -> p.put(k, v.toString()));
        return p;
    }

    /** {@code 127.0.0.1:port} of its client listener (SASL SCRAM); the same across restarts. */
    public String bootstrapServers() {
        return "127.0.0.1:" + brokerPort;
    }

    public Path dataDir() {
        return dataDir;
    }

    /** The file the child's stdout and stderr are appended to. */
    public Path logFile() {
        return dataDir.resolve("broker.log");
    }

    public synchronized boolean isAlive() {
        return process != null && process.isAlive();
    }

    /**
     * Kills the broker with SIGKILL (no shutdown, no flush) and waits until the process has gone. Does nothing when it
     * is not running.
     */
    public synchronized void kill() {
        if (process == null) {
            return;
        }
        boolean wasAlive = process.isAlive();
        destroy();
        if (wasAlive) {
            log.info("Kafka child process {} at {} killed", process.pid(), bootstrapServers());
        }
    }

    /**
     * Freezes the broker with SIGSTOP: its sockets stay open but nothing answers (a hung broker, a long GC pause, a
     * stalled disk), unlike {@link #kill()}. {@link #resume()} lets it go on.
     *
     * @throws LocalStackException when it is not running or the signal cannot be sent
     */
    public synchronized void pause() {
        signal("STOP");
    }

    /** Lets a {@link #pause() paused} broker go on (SIGCONT). */
    public synchronized void resume() {
        signal("CONT");
    }

    private void signal(String name) {
        if (process == null || !process.isAlive()) {
            throw new LocalStackException("Kafka child process at " + bootstrapServers() + " is not running");
        }
        try {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid()))
                    .redirectErrorStream(true).start();
            if (kill.waitFor() != 0) {
                throw new LocalStackException("kill -" + name + " " + process.pid() + " failed: "
                        + new String(kill.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
            }
            log.info("Kafka child process {} at {}: SIG{}", process.pid(), bootstrapServers(), name);
        } catch (java.io.IOException e) {
            throw new LocalStackException("cannot send SIG" + name + " to " + process.pid() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LocalStackException("interrupted while sending SIG" + name, e);
        }
    }

    /**
     * Starts the broker again on the same data directory and ports (killing it first if it still runs) and waits until
     * it serves clients. Retries while the old ports are still held by the kernel.
     *
     * @throws IllegalStateException after {@link #close()}
     * @throws LocalStackException when it is not ready within 60 s
     */
    public synchronized void restart() {
        if (closed) {
            throw new IllegalStateException("Kafka child process at " + bootstrapServers() + " is closed");
        }
        kill();
        long deadline = System.nanoTime() + RESTART_TIMEOUT.toNanos();
        while (true) {
            try {
                startOnce();
                return;
            } catch (LocalStackException e) {
                destroy();
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                log.warn("Kafka child process did not restart at {}; retrying: {}", bootstrapServers(), e.getMessage());
            }
        }
    }

    private void startOnce() {
        Path configFile = writeConfig();
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"),
                KafkaProcessMain.class.getName(), configFile.toString(), clusterId));
        try {
            Files.writeString(logFile(), "---- starting on " + bootstrapServers() + " (controller " + controllerPort
                    + ")\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            // stdin stays a pipe the child watches: it halts when this JVM goes away
            ProcessBuilder builder = new ProcessBuilder(command);
            builder.environment().put(KafkaProcessMain.SCRAM_ENV, security.scramFormatArgument());
            process = builder
                    .directory(dataDir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
                    .start();
        } catch (IOException e) {
            throw new LocalStackException("cannot start the Kafka child process in " + dataDir + ": " + e, e);
        }
        long started = System.nanoTime();
        awaitReady();
        log.info("Kafka child process {} ready at {} in {} ms (data in {})", process.pid(), bootstrapServers(),
                (System.nanoTime() - started) / 1_000_000, dataDir);
    }

    private Path writeConfig() {
        Properties props = EmbeddedKafka.brokerProperties(dataDir.resolve("log"), brokerPort, controllerPort);
        security.applyTo(props, "CONTROLLER", "PLAINTEXT");
        try {
            Files.createDirectories(dataDir);
            Path file = dataDir.resolve("server.properties");
            try (OutputStream out = Files.newOutputStream(file)) {
                props.store(out, "msx Kafka child process");
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the Kafka child process's configuration in " + dataDir, e);
        }
    }

    /**
     * Ready means an unfenced broker in the cluster's metadata, answered over the client listener. The port is probed
     * with a bare socket first, so that clients do not log a warning for every attempt while the JVM boots.
     */
    private void awaitReady() {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        try {
            while (!listening()) {
                pause(deadline);
            }
            Map<String, Object> probe = adminClientProperties();
            probe.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 200);
            probe.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2_000);
            probe.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 2_000);
            try (Admin admin = Admin.create(probe)) {
                while (true) {
                    try {
                        if (!admin.describeCluster(new DescribeClusterOptions().timeoutMs(2_000)).nodes()
                                .get(3, TimeUnit.SECONDS).isEmpty()) {
                            return;
                        }
                    } catch (ExecutionException | TimeoutException notYet) {
                        // not serving yet; pause() below bounds the wait
                    }
                    pause(deadline);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LocalStackException("interrupted while waiting for the Kafka child process", e);
        }
    }

    private boolean listening() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), brokerPort), 500);
            return true;
        } catch (IOException notYet) {
            return false;
        }
    }

    /** One probe interval, failing fast when the child has died or the deadline has passed. */
    private void pause(long deadline) throws InterruptedException {
        if (!process.isAlive()) {
            throw new LocalStackException("Kafka child process exited with status " + process.exitValue()
                    + " before it was ready at " + bootstrapServers() + "; see " + logFile());
        }
        if (System.nanoTime() > deadline) {
            throw new LocalStackException("Kafka child process at " + bootstrapServers() + " not ready within "
                    + READY_TIMEOUT.toSeconds() + " s; see " + logFile());
        }
        // A child process gives no readiness signal but its port: polling it is the wait.
        process.waitFor(PROBE_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void destroy() {
        if (process == null) {
            return;
        }
        process.destroyForcibly(); // SIGKILL on Linux
        try {
            if (!process.waitFor(KILL_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                throw new LocalStackException("Kafka child process " + process.pid() + " still alive "
                        + KILL_TIMEOUT.toSeconds() + " s after SIGKILL");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LocalStackException("interrupted while killing the Kafka child process", e);
        } finally {
            try {
                process.getOutputStream().close();
            } catch (IOException ignored) {
                // the pipe to a dead process: nothing to release beyond the descriptor
            }
        }
    }

    /** Kills the broker and, unless asked to keep it, deletes its data directory. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            kill();
        } finally {
            if (deleteDataOnClose) {
                Directories.deleteRecursively(dataDir);
            }
        }
    }
}
