package io.msx.agent.internal;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.msx.agent.TargetAgentConfig;
import io.msx.agent.TargetAgentException;
import io.msx.http.BearerTokens;
import io.msx.http.ClientTls;
import io.msx.http.HttpSecurity;
import io.msx.local.LocalCa;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLHandshakeException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AgentHttpServerTest {

    private static final String FULL = "{\"target\":\"T1\",\"state\":\"RUNNING\",\"live\":true,\"ready\":false,"
            + "\"reason\":\"the broker does not answer\"}";

    @TempDir
    Path dir;

    private final PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AtomicReference<AgentHttpServer.Health> health = new AtomicReference<>(
            new AgentHttpServer.Health(true, false, FULL));
    private final HttpClient http = HttpClient.newHttpClient();
    private AgentHttpServer server;

    @AfterEach
    void close() {
        if (server != null) {
            server.close();
        }
    }

    private AgentHttpServer start(HttpSecurity security) {
        prometheus.counter("msx_test_total").increment();
        server = new AgentHttpServer("127.0.0.1", 0, "T1", security, health::get, prometheus);
        server.start();
        return server;
    }

    private HttpResponse<String> get(HttpClient client, String path, String token) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(server.scheme() + "://127.0.0.1:"
                + server.port() + path));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpSecurity tokens() throws Exception {
        return HttpSecurity.none().withTokens(BearerTokens.load(Files.writeString(dir.resolve("tokens"),
                "prometheus read " + BearerTokens.sha256Hex("scrape-me") + "\n")));
    }

    @Test
    void shouldServeEverythingToEveryoneWithoutTokens() throws Exception {
        start(HttpSecurity.none());

        HttpResponse<String> ready = get(http, "/health/ready", null);
        assertThat(ready.statusCode()).isEqualTo(503);
        assertThat(ready.body()).isEqualTo(FULL);
        assertThat(get(http, "/health", null).statusCode()).isEqualTo(503);
        assertThat(get(http, "/health/live", null).statusCode()).isEqualTo(200);
        health.set(new AgentHttpServer.Health(true, true, FULL));
        assertThat(get(http, "/health", null).statusCode()).isEqualTo(200);
        HttpResponse<String> metrics = get(http, "/metrics", null);
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/plain");
        assertThat(metrics.body()).contains("msx_test_total 1.0");
    }

    @Test
    void shouldNeedAReadTokenForMetricsAndKeepProbesOpenWithAMinimalBody() throws Exception {
        start(tokens());

        HttpResponse<String> metrics = get(http, "/metrics", null);
        assertThat(metrics.statusCode()).isEqualTo(401);
        assertThat(metrics.headers().firstValue("WWW-Authenticate").orElseThrow()).startsWith("Bearer");
        assertThat(get(http, "/metrics", "wrong").statusCode()).isEqualTo(401);
        assertThat(get(http, "/metrics", "scrape-me").body()).contains("msx_test_total 1.0");

        HttpResponse<String> live = get(http, "/health/live", null);
        assertThat(live.statusCode()).isEqualTo(200);
        assertThat(live.body()).isEqualTo("{\"live\":true,\"ready\":false}");
        HttpResponse<String> ready = get(http, "/health/ready", null);
        assertThat(ready.statusCode()).isEqualTo(503);
        assertThat(ready.body()).isEqualTo("{\"live\":true,\"ready\":false}");
        assertThat(get(http, "/health", "scrape-me").body()).isEqualTo(FULL);
    }

    @Test
    void shouldServeHttpsWhenTheConfigNamesAKeystore() throws Exception {
        LocalCa.ServerFiles files = LocalCa.writeLocalhost(dir.resolve("tls"));
        TargetAgentConfig config = new TargetAgentConfig(Map.of(
                TargetAgentConfig.TARGET_NAME_CONFIG, "T1",
                TargetAgentConfig.HTTP_TLS_KEYSTORE_PATH_CONFIG, files.keystore().toString(),
                TargetAgentConfig.HTTP_TLS_KEYSTORE_PASSWORD_CONFIG, files.password(),
                TargetAgentConfig.HTTP_AUTH_TOKENS_FILE_CONFIG, Files.writeString(dir.resolve("tokens"),
                        "prometheus read " + BearerTokens.sha256Hex("scrape-me")).toString()));
        start(config.httpSecurity());

        assertThat(server.scheme()).isEqualTo("https");
        HttpClient trusting = HttpClient.newBuilder().sslContext(ClientTls.trustingPem(files.caPem())).build();
        assertThat(get(trusting, "/metrics", "scrape-me").statusCode()).isEqualTo(200);
        assertThatThrownBy(() -> get(http, "/health/live", null)).isInstanceOf(SSLHandshakeException.class);
    }

    @Test
    void shouldNameTheAddressWhenThePortIsTaken() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> new AgentHttpServer("127.0.0.1", port, "T1", HttpSecurity.none(), health::get,
                    prometheus)).isInstanceOf(TargetAgentException.class)
                    .hasMessageContaining("cannot listen on 127.0.0.1:" + port + " for health and metrics");
        }
    }
}
