package io.msx.master;

import com.fasterxml.jackson.databind.JsonNode;
import io.msx.avro.command.ForcePoll;
import io.msx.http.BearerTokens;
import io.msx.http.ClientTls;
import io.msx.local.LocalCa;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import io.msx.master.cli.MsxCli;
import io.msx.master.internal.Json;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Commands over the REST API with a verified identity, against the real broker and registry, on a master serving
 * HTTPS (LocalCa) with a tokens file: an operator token's command reaches msx.commands with issuedBy
 * {@code rest:<token name>} whatever the body claims, and is decided; a read token gets 403, no token 401, and
 * neither writes anything.
 */
@ExtendWith(LocalStackExtension.class)
class RestCommandsIT {

    private static final String READ_TOKEN = "it-read-token";
    private static final String OPERATOR_TOKEN = "it-operator-token";

    @TempDir
    Path data;

    private Fleet fleet;
    private LocalCa.ServerFiles tls;
    private HttpClient http;
    private String base;

    @BeforeEach
    void start(LocalStack stack) throws Exception {
        tls = LocalCa.writeLocalhost(data.resolve("tls"));
        Path tokens = Files.writeString(data.resolve("tokens"), "grafana read " + BearerTokens.sha256Hex(READ_TOKEN)
                + "\nops operator " + BearerTokens.sha256Hex(OPERATOR_TOKEN) + "\n");
        fleet = Fleet.start(stack, data, Map.of(
                MasterConfig.HTTP_AUTH_TOKENS_FILE_CONFIG, tokens.toString(),
                MasterConfig.HTTP_TLS_KEYSTORE_PATH_CONFIG, tls.keystore().toString(),
                MasterConfig.HTTP_TLS_KEYSTORE_PASSWORD_CONFIG, tls.password()), "T1");
        http = HttpClient.newBuilder().sslContext(ClientTls.trustingPem(tls.caPem())).build();
        base = "https://localhost:" + fleet.master.httpPort();
    }

    @AfterEach
    void stop() {
        if (fleet != null) {
            fleet.close();
        }
    }

    private HttpResponse<String> postCommand(String body, String token) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + "/commands?wait=30s"))
                .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Every ForcePoll on the commands topic, by record key. */
    private Map<String, ForcePoll> forcePolls() {
        Map<String, ForcePoll> polls = new java.util.HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : fleet.readAll(fleet.topics.commands())) {
            Decoded decoded = fleet.codec.decode(MessageFamily.COMMAND, r.topic(), r.partition(), r.offset(),
                    r.value());
            if (decoded instanceof Decoded.Message m && m.value() instanceof ForcePoll poll) {
                polls.put(new String(r.key(), java.nio.charset.StandardCharsets.UTF_8), poll);
            }
        }
        return polls;
    }

    @Test
    void shouldWriteAnOperatorsCommandAsTheTokensNameAndRefuseOthers() throws Exception {
        String body = "{\"type\":\"ForcePoll\",\"command\":{\"header\":{\"issuedBy\":\"someone-else\"},"
                + "\"targets\":[\"T1\"]}}";

        HttpResponse<String> anonymous = postCommand(body, null);
        HttpResponse<String> reader = postCommand(body, READ_TOKEN);
        assertThat(anonymous.statusCode()).isEqualTo(401);
        assertThat(anonymous.headers().firstValue("WWW-Authenticate").orElseThrow()).startsWith("Bearer");
        assertThat(reader.statusCode()).isEqualTo(403);

        HttpResponse<String> operator = postCommand(body, OPERATOR_TOKEN);

        assertThat(operator.statusCode()).as(operator.body()).isEqualTo(200);
        JsonNode answer = Json.mapper().readTree(operator.body());
        assertThat(answer.get("status").asText()).as(operator.body()).isEqualTo("ACCEPTED");
        assertThat(answer.get("issuedBy").asText()).isEqualTo("rest:ops");
        assertThat(answer.get("instructions").get(0).get("target").asText()).isEqualTo("T1");
        assertThat(answer.get("instructions").get(0).get("operation").asText()).isEqualTo("POLL");
        String commandId = answer.get("commandId").asText();
        Map<String, ForcePoll> written = forcePolls();
        assertThat(written).as("only the operator's command reached the topic").hasSize(1).containsKey(commandId);
        assertThat(written.get(commandId).getHeader().getIssuedBy()).isEqualTo("rest:ops");
        assertThat(written.get(commandId).getTargets()).containsExactly("T1");
        String posted = answer.get("instructions").get(0).get("instructionId").asText();
        await().atMost(Duration.ofSeconds(60)).alias("T1 answers the REST force poll " + posted)
                .until(() -> posted.equals(fleet.master.target("T1").orElseThrow().lastAnsweredInstructionId()));
    }

    @Test
    void shouldLetTheCliPollAndWaitOverHttpsWithAnOperatorToken() throws Exception {
        Path token = Files.writeString(data.resolve("operator.token"), OPERATOR_TOKEN + "\n");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();

        int code = new CommandLine(new MsxCli()).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
                .execute("target", "poll", "T1", "--wait", "--timeout", "60s", "--submit-via", "rest",
                        "--master-url", base, "--token-file", token.toString(), "--ca-file", tls.caPem().toString());

        assertThat(code).as("exit code; stderr: %s", err).isZero();
        assertThat(out.toString()).contains("T1").contains("polled");
        assertThat(forcePolls().values()).extracting(p -> p.getHeader().getIssuedBy().toString())
                .containsExactly("rest:ops");
        await().atMost(Duration.ofSeconds(30)).alias("/health/ready answers 200 without a token, minimally")
                .until(() -> {
                    HttpResponse<String> ready = http.send(HttpRequest.newBuilder(URI.create(base
                            + "/health/ready")).build(), HttpResponse.BodyHandlers.ofString());
                    return ready.statusCode() == 200 && ready.body().equals("{\"live\":true,\"ready\":true}");
                });
        assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/targets")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
    }
}
