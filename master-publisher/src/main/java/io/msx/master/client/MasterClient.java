package io.msx.master.client;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.msx.avro.CommandResult;
import io.msx.avro.CommandStatus;
import io.msx.avro.PostedInstruction;
import io.msx.master.InstructionView;
import io.msx.master.JobRunView;
import io.msx.master.JobView;
import io.msx.master.TargetView;
import io.msx.master.internal.CommandJson;
import io.msx.master.internal.Json;
import org.apache.avro.specific.SpecificRecord;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Reads the master's views over its REST API and submits commands to it ({@code POST /commands}), with a bearer
 * token when given one, over HTTPS when the URL says so (trusting the given CA, or the JVM's CAs). Thread-safe.
 *
 * @throws IllegalStateException (from every call) when the master cannot be reached, refuses the request (401, 403:
 *                               the message names the problem) or answers an error
 */
public final class MasterClient {

    private final URI base;
    private final String token;
    private final HttpClient http;
    private final ObjectMapper json = Json.mapper();

    /** Plain calls without a token (and the JVM's CAs for https). */
    public MasterClient(String baseUrl) {
        this(baseUrl, null, null);
    }

    /**
     * @param token bearer token, or null
     * @param tls   trust for an https URL, or null for the JVM's trusted CAs
     */
    public MasterClient(String baseUrl, String token, SSLContext tls) {
        this.base = URI.create(baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl);
        this.token = token;
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
        if (tls != null) {
            builder.sslContext(tls);
        }
        this.http = builder.build();
    }

    public List<TargetView> targets() {
        return get("/targets", new TypeReference<List<TargetView>>() { }).orElseThrow();
    }

    public Optional<TargetView> target(String name) {
        return get("/targets/" + name, new TypeReference<TargetView>() { });
    }

    public List<JobView> jobs() {
        return get("/jobs", new TypeReference<List<JobView>>() { }).orElseThrow();
    }

    /** A job's runs on every target, or empty when the master knows no such job. */
    public Optional<List<JobRunView>> history(String jobId) {
        return get("/jobs/" + jobId + "/history", new TypeReference<List<JobRunView>>() { });
    }

    public Map<String, List<String>> groups() {
        return get("/groups", new TypeReference<Map<String, List<String>>>() { }).orElseThrow();
    }

    public List<InstructionView> instructions(String target, String job) {
        StringBuilder path = new StringBuilder("/instructions?");
        if (target != null) {
            path.append("target=").append(URLEncoder.encode(target, StandardCharsets.UTF_8)).append('&');
        }
        if (job != null) {
            path.append("job=").append(URLEncoder.encode(job, StandardCharsets.UTF_8));
        }
        return get(path.toString(), new TypeReference<List<InstructionView>>() { }).orElseThrow();
    }

    /** One instruction's download-list row (its acknowledgement, and for a POLL the check-in answering it). */
    public Optional<InstructionView> instruction(String target, String instructionId) {
        List<InstructionView> rows = get("/instructions?target=" + URLEncoder.encode(target, StandardCharsets.UTF_8)
                + "&id=" + instructionId, new TypeReference<List<InstructionView>>() { }).orElseThrow();
        return rows.stream().findFirst();
    }

    /**
     * Submits a command through {@code POST /commands} and waits up to {@code wait} for its result. The master writes
     * the command's header itself (a new command id, issuedBy {@code rest:<token name>}).
     *
     * @return the result, or empty when the master wrote the command but did not decide it within {@code wait}
     */
    public Optional<CommandResult> submit(SpecificRecord command, Duration wait) {
        byte[] body;
        try {
            body = json.writeValueAsBytes(CommandJson.write(command));
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the command as JSON: " + e.getMessage(), e);
        }
        String path = "/commands?wait=" + wait.toMillis() + "ms";
        HttpResponse<byte[]> response = send(request(path, wait.plusSeconds(15))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body)), path);
        if (response.statusCode() != 200 && response.statusCode() != 202) {
            throw failed(response, path);
        }
        JsonNode answer;
        try {
            answer = json.readTree(response.body());
        } catch (IOException e) {
            throw new IllegalStateException("master's answer for " + path + " is not valid: " + e.getMessage(), e);
        }
        if (response.statusCode() == 202) {
            return Optional.empty();
        }
        List<PostedInstruction> posted = new ArrayList<>();
        answer.path("instructions").forEach(p -> posted.add(PostedInstruction.newBuilder()
                .setTarget(p.path("target").asText())
                .setInstructionId(UUID.fromString(p.path("instructionId").asText()))
                .setOperation(p.path("operation").asText()).build()));
        String status = answer.path("status").asText();
        return Optional.of(CommandResult.newBuilder()
                .setCommandId(UUID.fromString(answer.path("commandId").asText()))
                .setProcessedAt(answer.hasNonNull("processedAt") ? Instant.parse(answer.get("processedAt").asText())
                        : Instant.EPOCH)
                .setStatus("ACCEPTED".equals(status) ? CommandStatus.ACCEPTED : CommandStatus.REJECTED)
                .setReason(answer.hasNonNull("reason") ? answer.get("reason").asText() : null)
                .setInstructions(posted).build());
    }

    private HttpRequest.Builder request(String path, Duration timeout) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(timeout);
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return request;
    }

    private <T> Optional<T> get(String path, TypeReference<T> type) {
        HttpResponse<byte[]> response = send(request(path, Duration.ofSeconds(10)).GET(), path);
        if (response.statusCode() == 404) {
            return Optional.empty();
        }
        if (response.statusCode() != 200) {
            throw failed(response, path);
        }
        try {
            return Optional.of(json.readValue(response.body(), type));
        } catch (IOException e) {
            throw new IllegalStateException("master's answer for " + path + " is not valid: " + e.getMessage(), e);
        }
    }

    private HttpResponse<byte[]> send(HttpRequest.Builder request, String path) {
        try {
            return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (SSLHandshakeException e) {
            throw new IllegalStateException("cannot establish TLS with the master at " + base + ": its certificate "
                    + "is not trusted (pass --ca-file with the CA that signed it, or set MSX_CA_FILE): "
                    + e.getMessage(), e);
        } catch (SSLException e) {
            throw new IllegalStateException("TLS with the master at " + base + " failed (does it serve HTTPS on "
                    + "this port?): " + e.getMessage(), e);
        } catch (IOException e) {
            throw new IllegalStateException("master REST API at " + base + " unreachable: " + e.getMessage()
                    + " (is `msx master run` running? set --master-url or MSX_MASTER_URL; a master with a TLS "
                    + "keystore needs an https:// URL)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while calling the master", e);
        }
    }

    /** What the master's refusal or error means, in one line. */
    private IllegalStateException failed(HttpResponse<byte[]> response, String path) {
        String said = new String(response.body(), StandardCharsets.UTF_8);
        try {
            JsonNode error = json.readTree(response.body());
            if (error != null && error.hasNonNull("error")) {
                said = error.get("error").asText();
            }
        } catch (IOException e) {
            // not JSON: quote the body as it is
        }
        return switch (response.statusCode()) {
            case 401 -> new IllegalStateException("the master refused the request (HTTP 401, not authenticated): "
                    + (token == null ? "no token was sent; pass --token-file FILE or set MSX_TOKEN"
                    : "the token was not accepted (unknown or revoked)") + " [" + said + "]");
            case 403 -> new IllegalStateException("the master refused the request (HTTP 403, not allowed): " + said);
            default -> new IllegalStateException("master answered HTTP " + response.statusCode() + " for " + path
                    + ": " + said);
        };
    }
}
