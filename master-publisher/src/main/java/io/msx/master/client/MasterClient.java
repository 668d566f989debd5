package io.msx.master.client;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.msx.master.TargetView;
import io.msx.master.internal.Json;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** Reads the master's views over its REST API. Thread-safe. */
public final class MasterClient {

    private final URI base;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final ObjectMapper json = Json.mapper();

    public MasterClient(String baseUrl) {
        this.base = URI.create(baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl);
    }

    public List<TargetView> targets() {
        return get("/targets", new TypeReference<List<TargetView>>() { }).orElseThrow();
    }

    public Optional<TargetView> target(String name) {
        return get("/targets/" + name, new TypeReference<TargetView>() { });
    }

    public List<io.msx.master.JobView> jobs() {
        return get("/jobs", new TypeReference<List<io.msx.master.JobView>>() { }).orElseThrow();
    }

    /** A job's runs on every target, or empty when the master knows no such job. */
    public Optional<List<io.msx.master.JobRunView>> history(String jobId) {
        return get("/jobs/" + jobId + "/history", new TypeReference<List<io.msx.master.JobRunView>>() { });
    }

    public java.util.Map<String, List<String>> groups() {
        return get("/groups", new TypeReference<java.util.Map<String, List<String>>>() { }).orElseThrow();
    }

    public List<io.msx.master.InstructionView> instructions(String target, String job) {
        StringBuilder path = new StringBuilder("/instructions?");
        if (target != null) {
            path.append("target=").append(java.net.URLEncoder.encode(target, java.nio.charset.StandardCharsets.UTF_8))
                    .append('&');
        }
        if (job != null) {
            path.append("job=").append(java.net.URLEncoder.encode(job, java.nio.charset.StandardCharsets.UTF_8));
        }
        return get(path.toString(), new TypeReference<List<io.msx.master.InstructionView>>() { }).orElseThrow();
    }

    /** One instruction's download-list row (its acknowledgement, and for a POLL the check-in answering it). */
    public Optional<io.msx.master.InstructionView> instruction(String target, String instructionId) {
        List<io.msx.master.InstructionView> rows = get("/instructions?target=" + java.net.URLEncoder.encode(target,
                java.nio.charset.StandardCharsets.UTF_8) + "&id=" + instructionId,
                new TypeReference<List<io.msx.master.InstructionView>>() { }).orElseThrow();
        return rows.stream().findFirst();
    }

    private <T> Optional<T> get(String path, TypeReference<T> type) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10))
                .GET().build();
        HttpResponse<byte[]> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new IllegalStateException("master REST API at " + base + " unreachable: " + e.getMessage()
                    + " (is `msx master run` running? set --master-url or MSX_MASTER_URL)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while calling the master", e);
        }
        if (response.statusCode() == 404) {
            return Optional.empty();
        }
        if (response.statusCode() != 200) {
            throw new IllegalStateException("master answered HTTP " + response.statusCode() + " for " + path + ": "
                    + new String(response.body(), java.nio.charset.StandardCharsets.UTF_8));
        }
        try {
            return Optional.of(json.readValue(response.body(), type));
        } catch (IOException e) {
            throw new IllegalStateException("master's answer for " + path + " is not valid: " + e.getMessage(), e);
        }
    }
}
