package io.msx.local;

import io.msx.local.internal.FreePorts;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A real Apicurio Registry (in-memory storage) in a child JVM on 127.0.0.1, serving the Confluent Schema Registry API
 * at {@link #url()}. The global compatibility is set to {@code FULL_TRANSITIVE} once it is ready, because Apicurio's
 * default is no check at all.
 *
 * <p>Where the unpacked Apicurio build lives is written into this module by its build; {@code -Dmsx.apicurio.home}
 * or {@code MSX_APICURIO_HOME} override it.
 *
 * <p>Thread-safe. {@link #close()} is idempotent; it stops the child process and waits for it.
 */
public final class EmbeddedSchemaRegistry implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedSchemaRegistry.class);
    public static final String CCOMPAT_PATH = "/apis/ccompat/v7";
    private static final int START_ATTEMPTS = 3;
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(20);

    private final Process process;
    private final Path workDir;
    private final String url;
    private final AtomicBoolean closed = new AtomicBoolean();

    private EmbeddedSchemaRegistry(Process process, Path workDir, String url) {
        this.process = process;
        this.workDir = workDir;
        this.url = url;
    }

    /**
     * Starts the registry, retrying on a new port if the chosen one was taken meanwhile.
     *
     * @throws LocalStackException when Apicurio is missing, Java is too old, or it never becomes ready
     */
    public static EmbeddedSchemaRegistry start() {
        Path runner = runnerJar();
        checkJavaVersion();
        LocalStackException last = null;
        for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
            try {
                return startOnce(runner);
            } catch (LocalStackException e) {
                last = e;
                log.warn("Apicurio Registry did not start (attempt {} of {}): {}", attempt, START_ATTEMPTS,
                        e.getMessage());
            }
        }
        throw last;
    }

    private static EmbeddedSchemaRegistry startOnce(Path runner) {
        int port = FreePorts.next();
        int managementPort = FreePorts.next();
        Path workDir;
        try {
            workDir = Files.createTempDirectory("msx-registry-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a work directory for the registry", e);
        }
        Path logFile = workDir.resolve("apicurio.log");
        List<String> command = new ArrayList<>(List.of(
                javaExecutable(),
                "-Xmx384m",
                "-XX:+UseSerialGC",
                "-Dquarkus.http.host=127.0.0.1",
                "-Dquarkus.http.port=" + port,
                "-Dquarkus.management.host=127.0.0.1",
                "-Dquarkus.management.port=" + managementPort,
                "-Dquarkus.log.level=WARN",
                "-Djava.io.tmpdir=" + workDir,
                "-jar", runner.toString()));
        Process process;
        try {
            process = new ProcessBuilder(command)
                    .directory(workDir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(logFile.toFile())
                    .start();
        } catch (IOException e) {
            throw new LocalStackException("cannot start Apicurio Registry (" + runner + "): " + e.getMessage(), e);
        }
        String url = "http://127.0.0.1:" + port + CCOMPAT_PATH;
        EmbeddedSchemaRegistry registry = new EmbeddedSchemaRegistry(process, workDir, url);
        try {
            registry.awaitReady(logFile);
            registry.setGlobalCompatibility("FULL_TRANSITIVE");
        } catch (RuntimeException e) {
            registry.close();
            throw e;
        }
        log.info("Apicurio Registry started at {} (pid {})", url, process.pid());
        return registry;
    }

    /** The unpacked Apicurio runner jar, or a clear error saying how to get it. */
    static Path runnerJar() {
        String home = System.getProperty("msx.apicurio.home", System.getenv("MSX_APICURIO_HOME"));
        Properties built = new Properties();
        try (InputStream in = EmbeddedSchemaRegistry.class.getResourceAsStream("msx-local.properties")) {
            if (in != null) {
                built.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read msx-local.properties", e);
        }
        if (home == null) {
            home = built.getProperty("apicurio.home");
        }
        String version = built.getProperty("apicurio.version", "2.6.13.Final");
        if (home == null) {
            throw new LocalStackException("Apicurio Registry location unknown: build deploy/local with Maven "
                    + "or set MSX_APICURIO_HOME to an unpacked apicurio-registry-app-" + version + "-all.tar.gz");
        }
        Path runner = Path.of(home, "apicurio-registry-app-" + version + "-runner.jar");
        if (!Files.isRegularFile(runner)) {
            throw new LocalStackException("Apicurio Registry not found at " + runner + ": run `./mvnw -pl deploy/local "
                    + "package` to unpack it, or set MSX_APICURIO_HOME to an unpacked apicurio-registry-app-"
                    + version + "-all.tar.gz");
        }
        return runner;
    }

    private static void checkJavaVersion() {
        int feature = Runtime.version().feature();
        if (feature < 17) {
            throw new LocalStackException("Apicurio Registry 2.6 needs Java 17 or newer; this JVM is Java " + feature
                    + " (" + System.getProperty("java.home") + "): set JAVA_HOME to a Java 17+ installation");
        }
    }

    private static String javaExecutable() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private void awaitReady(Path logFile) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest probe = HttpRequest.newBuilder(URI.create(url + "/subjects"))
                .timeout(Duration.ofSeconds(5)).GET().build();
        Instant deadline = Instant.now().plus(READY_TIMEOUT);
        while (Instant.now().isBefore(deadline)) {
            if (!process.isAlive()) {
                throw new LocalStackException("Apicurio Registry exited with status " + process.exitValue()
                        + " before it was ready; last lines of " + logFile + ":\n" + tail(logFile));
            }
            try {
                HttpResponse<Void> response = http.send(probe, HttpResponse.BodyHandlers.discarding());
                if (response.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LocalStackException("interrupted while waiting for Apicurio Registry", e);
            }
            try {
                // A child process gives no readiness signal but its port: polling it is the wait.
                process.waitFor(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LocalStackException("interrupted while waiting for Apicurio Registry", e);
            }
        }
        throw new LocalStackException("Apicurio Registry at " + url + " not ready within " + READY_TIMEOUT.toSeconds()
                + " s; last lines of " + logFile + ":\n" + tail(logFile));
    }

    private void setGlobalCompatibility(String level) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create(url + "/config"))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"compatibility\":\"" + level + "\"}"))
                .build();
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() / 100 != 2) {
                throw new LocalStackException("setting the registry's global compatibility to " + level
                        + " failed: HTTP " + response.statusCode() + " " + response.body());
            }
        } catch (IOException e) {
            throw new LocalStackException("setting the registry's global compatibility failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LocalStackException("interrupted while configuring Apicurio Registry", e);
        }
    }

    private static String tail(Path logFile) {
        try {
            List<String> lines = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(log unreadable: " + e.getMessage() + ")";
        }
    }

    /** Base URL of the Confluent-compatible API, e.g. {@code http://127.0.0.1:41234/apis/ccompat/v7}. */
    public String url() {
        return url;
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                log.warn("Apicurio Registry did not stop within {} s; killing it", STOP_TIMEOUT.toSeconds());
                process.destroyForcibly().waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            }
            log.info("Apicurio Registry at {} stopped", url);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            Directories.deleteRecursively(workDir);
        }
    }
}
