package io.msx.master.internal;

import com.fasterxml.jackson.databind.JsonNode;
import io.msx.MsxRetriableException;
import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.avro.CommandStatus;
import io.msx.avro.PostedInstruction;
import io.msx.avro.command.ForcePoll;
import io.msx.http.BearerTokens;
import io.msx.http.HttpSecurity;
import io.msx.http.TlsKeyStore;
import io.msx.local.LocalCa;
import io.msx.master.JobView;
import io.msx.master.MasterException;
import io.msx.master.client.MasterClient;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RestServerTest {

    static final String READ_TOKEN = "reader-secret";
    static final String OPERATOR_TOKEN = "operator-secret";
    private static final Instant NOW = Instant.parse("2030-01-31T02:00:00Z");

    @TempDir
    Path dir;

    private final FakeRestApi api = new FakeRestApi();
    private final HttpClient http = HttpClient.newHttpClient();
    private RestServer server;

    @AfterEach
    void close() {
        if (server != null) {
            server.close();
        }
    }

    private RestServer start(HttpSecurity security) {
        server = new RestServer("127.0.0.1", 0, "m1", Json.mapper(), api, security,
                Clock.fixed(NOW, ZoneOffset.UTC));
        server.start();
        return server;
    }

    private HttpSecurity tokens() throws Exception {
        return HttpSecurity.none().withTokens(BearerTokens.load(writeTokens(dir)));
    }

    static Path writeTokens(Path dir) throws Exception {
        return Files.writeString(dir.resolve("tokens"), "# REST API tokens\n"
                + "grafana read " + BearerTokens.sha256Hex(READ_TOKEN) + "\n"
                + "ops operator " + BearerTokens.sha256Hex(OPERATOR_TOKEN) + "\n");
    }

    private HttpResponse<String> get(String path, String token) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String body, String token) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> response) throws Exception {
        return Json.mapper().readTree(response.body());
    }

    @Test
    void shouldNameTheAddressWhenThePortIsTaken() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> new RestServer("127.0.0.1", port, "m", Json.mapper(), null))
                    .isInstanceOf(MasterException.class)
                    .hasMessageContaining("cannot listen on 127.0.0.1:" + port + " for the REST API");
        }
    }

    @Test
    void shouldServeTheViewsWithTheirStatusesWithoutTokens() throws Exception {
        start(HttpSecurity.none());

        HttpResponse<String> jobs = get("/jobs", null);
        assertThat(jobs.statusCode()).isEqualTo(200);
        assertThat(jobs.headers().firstValue("Content-Type")).contains("application/json");
        assertThat(json(jobs).get(0).get("jobId").asText()).isEqualTo("backup");
        assertThat(get("/jobs/?scope=local", null).statusCode()).isEqualTo(200);
        assertThat(api.localFlags).containsExactly(false, true);
        assertThat(json(get("/groups", null)).get("databases").size()).isEqualTo(2);
        assertThat(get("/jobs/backup/history", null).statusCode()).isEqualTo(200);
        HttpResponse<String> unknown = get("/jobs/nope/history", null);
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(json(unknown).get("error").asText()).isEqualTo("not found: /jobs/nope/history");
        assertThat(get("/targets/T9", null).statusCode()).isEqualTo(404);
        HttpResponse<String> definition = get("/jobs/backup", null);
        assertThat(definition.statusCode()).isEqualTo(200);
        assertThat(json(definition).get("steps").get(0).get("command").get(0).asText()).isEqualTo("pg_dump");
        assertThat(json(definition).get("steps").get(0).get("envNames").get(0).asText()).isEqualTo("PGPASSWORD");
        assertThat(get("/jobs/nope", null).statusCode()).isEqualTo(404);
        for (String bad : List.of("/jobs/backup/history?limit=0", "/instructions?limit=ten")) {
            HttpResponse<String> response = get(bad, null);
            assertThat(response.statusCode()).as(bad).isEqualTo(400);
            assertThat(json(response).get("error").asText()).isEqualTo("limit must be a positive integer");
        }
        HttpResponse<String> metrics = get("/metrics", null);
        assertThat(metrics.body()).isEqualTo("msx_master_up 1.0\n");
        assertThat(metrics.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/plain");
        HttpResponse<String> health = get("/health", null);
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(json(health).get("reason").asText()).isEqualTo("Kafka Streams is REBALANCING");
        assertThat(get("/health/ready", null).statusCode()).isEqualTo(503);
        assertThat(get("/health/live", null).statusCode()).isEqualTo(200);
    }

    @Test
    void shouldAnswer503WhileTheStoresAreNotQueryable() throws Exception {
        start(HttpSecurity.none());
        api.failure = new InvalidStateStoreException("rebalancing");

        HttpResponse<String> targets = get("/targets", null);

        assertThat(targets.statusCode()).isEqualTo(503);
        assertThat(json(targets).get("error").asText()).startsWith("the master's views are not queryable now")
                .endsWith("rebalancing");
    }

    @Test
    void shouldNeedTokensForViewsAndKeepProbesOpenWithAMinimalBody() throws Exception {
        start(tokens());

        for (String path : List.of("/targets", "/jobs", "/jobs/backup/history", "/groups", "/instructions",
                "/metrics")) {
            HttpResponse<String> response = get(path, null);
            assertThat(response.statusCode()).as(path).isEqualTo(401);
            assertThat(response.headers().firstValue("WWW-Authenticate").orElseThrow()).as(path).startsWith("Bearer");
            assertThat(get(path, "guessed").statusCode()).as(path).isEqualTo(401);
            assertThat(get(path, READ_TOKEN).statusCode()).as(path).isEqualTo(200);
            assertThat(get(path, OPERATOR_TOKEN).statusCode()).as(path).isEqualTo(200);
        }
        HttpResponse<String> health = get("/health", null);
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).isEqualTo("{\"live\":true,\"ready\":false}");
        assertThat(get("/health/ready", null).statusCode()).isEqualTo(503);
        assertThat(get("/health/live", null).statusCode()).isEqualTo(200);
        assertThat(json(get("/health", READ_TOKEN)).get("masterId").asText()).isEqualTo("m1");
    }

    @Test
    void shouldRefuseCommandsWithoutAnOperatorToken() throws Exception {
        start(tokens());
        String body = "{\"type\":\"ForcePoll\",\"command\":{\"targets\":[\"T1\"]}}";

        HttpResponse<String> anonymous = post("/commands", body, null);
        assertThat(anonymous.statusCode()).isEqualTo(401);
        assertThat(anonymous.headers().firstValue("WWW-Authenticate").orElseThrow()).startsWith("Bearer");
        HttpResponse<String> reader = post("/commands", body, READ_TOKEN);
        assertThat(reader.statusCode()).isEqualTo(403);
        assertThat(json(reader).get("error").asText())
                .isEqualTo("token 'grafana' has the read role; POST /commands needs operator");
        assertThat(api.submitted).isEmpty();
    }

    @Test
    void shouldSubmitACommandAsTheOperatorTokensNameWhateverTheBodyClaims() throws Exception {
        start(tokens());
        UUID instruction = UUID.randomUUID();
        api.result = Optional.of(CommandResult.newBuilder().setCommandId(UUID.randomUUID()).setProcessedAt(NOW)
                .setStatus(CommandStatus.ACCEPTED).setInstructions(List.of(PostedInstruction.newBuilder()
                        .setTarget("T1").setInstructionId(instruction).setOperation("POLL").build())).build());

        HttpResponse<String> response = post("/commands?wait=5s", "{\"type\":\"ForcePoll\",\"command\":{"
                + "\"header\":{\"commandId\":\"" + UUID.randomUUID() + "\",\"issuedAt\":0,\"issuedBy\":\"mallory\"},"
                + "\"targets\":[\"T1\"]}}", OPERATOR_TOKEN);

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        ForcePoll submitted = (ForcePoll) api.submitted.get(0);
        assertThat(submitted.getHeader().getIssuedBy()).isEqualTo("rest:ops");
        assertThat(submitted.getHeader().getIssuedAt()).isEqualTo(NOW);
        assertThat(submitted.getTargets()).containsExactly("T1");
        assertThat(api.lastWait).isEqualTo(Duration.ofSeconds(5));
        JsonNode answer = json(response);
        assertThat(answer.get("commandId").asText()).isEqualTo(submitted.getHeader().getCommandId().toString());
        assertThat(answer.get("issuedBy").asText()).isEqualTo("rest:ops");
        assertThat(answer.get("status").asText()).isEqualTo("ACCEPTED");
        assertThat(answer.get("processedAt").asText()).isEqualTo(NOW.toString());
        assertThat(answer.get("instructions").get(0).get("instructionId").asText()).isEqualTo(instruction.toString());
    }

    @Test
    void shouldAnswer202WhenNoResultCameWithinTheWaitAnd400ForABadCommand() throws Exception {
        start(HttpSecurity.none());

        HttpResponse<String> pending = post("/commands?wait=0", "{\"type\":\"SyncClocks\"}", null);
        assertThat(pending.statusCode()).isEqualTo(202);
        assertThat(json(pending).get("status").asText()).isEqualTo("PENDING");
        assertThat(json(pending).get("issuedBy").asText()).isEqualTo("rest:anonymous");
        assertThat(api.lastWait).isZero();

        Map<String, String> bad = Map.of(
                "not json", "the body is not JSON",
                "{\"type\":\"Reboot\"}", "unknown command type 'Reboot': one of [ForcePoll,",
                "{\"type\":\"StartJob\",\"command\":{}}", "command.jobId: required",
                "{\"type\":\"StartJob\",\"command\":{\"jobId\":\"j\",\"step\":2}}",
                "command.step: unknown field of StartJob (known: [jobId, targets, startStepId])",
                "{\"type\":\"SetPollingInterval\",\"command\":{\"intervalSeconds\":\"30s\"}}",
                "command.intervalSeconds: expected an integer, found string \"30s\"");
        for (Map.Entry<String, String> entry : bad.entrySet()) {
            HttpResponse<String> response = post("/commands", entry.getKey(), null);
            assertThat(response.statusCode()).as(entry.getKey()).isEqualTo(400);
            assertThat(json(response).get("error").asText()).as(entry.getKey()).contains(entry.getValue());
        }
        assertThat(post("/commands?wait=forever", "{\"type\":\"SyncClocks\"}", null).body())
                .contains("wait must be a duration");
        assertThat(post("/commands?wait=1h", "{\"type\":\"SyncClocks\"}", null).body())
                .contains("wait must be between 0 and 5 minutes");
        api.failure = new MsxRetriableException("cannot write the command to msx.commands: broker away");
        HttpResponse<String> unavailable = post("/commands", "{\"type\":\"SyncClocks\"}", null);
        assertThat(unavailable.statusCode()).isEqualTo(503);
        assertThat(json(unavailable).get("error").asText()).contains("broker away");
    }

    @Test
    void shouldLetMasterClientReadAndSubmitOverHttpsWithTheCaTrustedAndAToken() throws Exception {
        LocalCa.ServerFiles files = LocalCa.writeLocalhost(dir.resolve("tls"));
        start(tokens().withTls(new TlsKeyStore(files.keystore(), files.password(), files.type())));
        assertThat(server.scheme()).isEqualTo("https");
        String url = "https://localhost:" + server.port();
        api.result = Optional.of(CommandResult.newBuilder().setCommandId(UUID.randomUUID()).setProcessedAt(NOW)
                .setStatus(CommandStatus.REJECTED).setReason("unknown target T9").build());

        MasterClient operator = new MasterClient(url, OPERATOR_TOKEN,
                io.msx.http.ClientTls.trustingPem(files.caPem()));
        assertThat(operator.jobs()).extracting(JobView::jobId).containsExactly("backup");
        CommandResult result = operator.submit(ForcePoll.newBuilder().setHeader(CommandHeader.newBuilder()
                .setCommandId(UUID.randomUUID()).setIssuedAt(Instant.EPOCH).setIssuedBy("cli").build())
                .setTargets(List.of("T9")).build(), Duration.ofSeconds(5)).orElseThrow();
        assertThat(result.getStatus()).isEqualTo(CommandStatus.REJECTED);
        assertThat(result.getReason()).isEqualTo("unknown target T9");
        assertThat(((ForcePoll) api.submitted.get(0)).getHeader().getIssuedBy()).isEqualTo("rest:ops");

        assertThatThrownBy(() -> new MasterClient(url, OPERATOR_TOKEN, null).jobs())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot establish TLS with the master at " + url)
                .hasMessageContaining("not trusted (pass --ca-file");
        assertThatThrownBy(() -> new MasterClient("http://localhost:" + server.port(), OPERATOR_TOKEN, null).jobs())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("https://");
    }

    @Test
    void shouldExplainARefusalInMasterClientErrors() throws Exception {
        start(tokens());
        String url = "http://127.0.0.1:" + server.port();
        ForcePoll poll = ForcePoll.newBuilder().setHeader(CommandHeader.newBuilder().setCommandId(UUID.randomUUID())
                .setIssuedAt(Instant.EPOCH).build()).build();

        assertThatThrownBy(() -> new MasterClient(url).targets()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("HTTP 401").hasMessageContaining("no token was sent; pass --token-file");
        assertThatThrownBy(() -> new MasterClient(url, "revoked", null).targets())
                .hasMessageContaining("HTTP 401").hasMessageContaining("the token was not accepted");
        assertThatThrownBy(() -> new MasterClient(url, READ_TOKEN, null).submit(poll, Duration.ofSeconds(1)))
                .hasMessageContaining("HTTP 403")
                .hasMessageContaining("token 'grafana' has the read role; POST /commands needs operator");
    }
}
