package io.msx.master;

import com.fasterxml.jackson.databind.JsonNode;
import io.msx.local.LocalStack;
import io.msx.master.internal.Json;
import io.msx.schemas.Topics;
import io.msx.security.TestKeys;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A master in a child JVM ({@link MasterChild}), to be killed with SIGKILL; its REST port is fixed at start. */
final class ChildMaster implements AutoCloseable {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    final String id;
    final int port;
    private final LocalStack stack;
    private final Topics topics;
    private final Path stateDir;
    /** Its settings besides the arguments: Kafka security and the signing key. */
    private final Path settings;
    private Process process;

    ChildMaster(LocalStack stack, Topics topics, String id, Path stateDir) throws IOException {
        this(stack, topics, id, stateDir, Map.of());
    }

    /** A child master with {@code extra} master settings. */
    ChildMaster(LocalStack stack, Topics topics, String id, Path stateDir, Map<String, ?> extra) throws IOException {
        this.stack = stack;
        this.topics = topics;
        this.id = id;
        this.stateDir = stateDir;
        Map<String, Object> values = new HashMap<>(stack.adminSecuritySettings());
        values.putAll(TestKeys.masterSettings());
        values.putAll(extra);
        Path file = Files.createTempFile("msx-child-master-", ".properties");
        file.toFile().deleteOnExit();
        this.settings = Configs.write(values, file);
        try (ServerSocket free = new ServerSocket(0)) {
            this.port = free.getLocalPort();
        }
    }

    ChildMaster start() throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Xmx256m", "-cp", System.getProperty("java.class.path"), MasterChild.class.getName(),
                stack.bootstrapServers(), stack.schemaRegistryUrl(), topics.prefix(), id, stateDir.toString(),
                Integer.toString(port), settings.toString()));
        process = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        return this;
    }

    /** SIGKILL, and wait until the process is gone. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    /** Its health body, or null when it does not answer. */
    JsonNode health() {
        return get("/health");
    }

    /** The JSON body of a GET, or null when it does not answer or answers with an error. */
    JsonNode get(String path) {
        try {
            HttpResponse<byte[]> response = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + path)).timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers
                    .ofByteArray());
            return response.statusCode() == 200 ? Json.mapper().readTree(response.body()) : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** Whether it runs the command sub-topology's task (0_0) now. */
    boolean runsCommands() {
        JsonNode health = health();
        if (health == null) {
            return false;
        }
        for (JsonNode task : health.path("activeTasks")) {
            if (task.asText().equals("0_0")) {
                return true;
            }
        }
        return false;
    }

    boolean ready() {
        JsonNode health = health();
        return health != null && health.path("ready").asBoolean(false);
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null) {
            kill();
        }
    }
}
