package io.msx.http;

import io.msx.local.LocalCa;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLHandshakeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
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
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class MsxHttpServerTest {

    private static final String READ_TOKEN = "read-token-1";
    private static final String OPERATOR_TOKEN = "operator-token-1";

    @TempDir
    Path dir;

    private final List<MsxHttpServer> servers = new ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();

    @AfterEach
    void closeServers() {
        servers.forEach(MsxHttpServer::close);
    }

    private MsxHttpServer start(HttpSecurity security) {
        MsxHttpServer server = new MsxHttpServer(new MsxHttpServer.Settings("test API", "127.0.0.1", 0,
                "msx-test-http", 4, 10), security);
        servers.add(server);
        server.get("/probe", MsxHttpServer.Access.OPEN, ctx -> ctx.result(MsxHttpServer.principal(ctx)
                        .map(p -> "detail for " + p.name()).orElse("minimal")))
                .get("/read", MsxHttpServer.Access.READ, ctx -> ctx.result("read by "
                        + MsxHttpServer.principal(ctx).orElseThrow().name() + " on "
                        + Thread.currentThread().getName()))
                .post("/operate", MsxHttpServer.Access.OPERATOR, ctx -> ctx.result("operated by "
                        + MsxHttpServer.principal(ctx).orElseThrow().name()))
                .get("/fail", MsxHttpServer.Access.READ, ctx -> {
                    throw new IllegalStateException("boom");
                });
        server.start();
        return server;
    }

    private HttpSecurity withTokens() throws IOException {
        Path file = Files.writeString(dir.resolve("tokens"), "reader read " + BearerTokens.sha256Hex(READ_TOKEN)
                + "\nops operator " + BearerTokens.sha256Hex(OPERATOR_TOKEN) + "\n");
        return HttpSecurity.none().withTokens(BearerTokens.load(file));
    }

    private HttpResponse<String> send(MsxHttpServer server, String method, String path, String token)
            throws Exception {
        return send(http, server.scheme() + "://127.0.0.1:" + server.port(), method, path, token);
    }

    private static HttpResponse<String> send(HttpClient client, String base, String method, String path,
                                             String token) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void shouldServeEveryoneAsAnonymousWithoutTokens() throws Exception {
        MsxHttpServer server = start(HttpSecurity.none());

        HttpResponse<String> read = send(server, "GET", "/read", null);
        assertThat(read.statusCode()).isEqualTo(200);
        assertThat(read.body()).startsWith("read by anonymous on msx-test-http-");
        assertThat(send(server, "POST", "/operate", "whatever").body()).isEqualTo("operated by anonymous");
        assertThat(send(server, "GET", "/probe", null).body()).isEqualTo("detail for anonymous");
        assertThat(server.scheme()).isEqualTo("http");
    }

    @Test
    void shouldAnswer401WithoutAKnownTokenAnd403WhenTheRoleIsTooSmall() throws Exception {
        MsxHttpServer server = start(withTokens());

        HttpResponse<String> none = send(server, "GET", "/read", null);
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.headers().firstValue("WWW-Authenticate")).contains("Bearer realm=\"msx\"");
        assertThat(none.body()).contains("no bearer token");
        HttpResponse<String> unknown = send(server, "GET", "/read", "not-a-token");
        assertThat(unknown.statusCode()).isEqualTo(401);
        assertThat(unknown.headers().firstValue("WWW-Authenticate").orElseThrow()).startsWith("Bearer")
                .contains("invalid_token");
        HttpResponse<String> basic = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + server.port() + "/read")).header("Authorization", "Basic dXNlcjpwYXNz").build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(basic.statusCode()).isEqualTo(401);
        assertThat(basic.body()).contains("is not 'Bearer <token>'");

        HttpResponse<String> readOnly = send(server, "POST", "/operate", READ_TOKEN);
        assertThat(readOnly.statusCode()).isEqualTo(403);
        assertThat(readOnly.body()).isEqualTo("{\"error\":\"token 'reader' has the read role; POST /operate needs "
                + "operator\"}");

        assertThat(send(server, "GET", "/read", READ_TOKEN).body()).startsWith("read by reader");
        assertThat(send(server, "GET", "/read", OPERATOR_TOKEN).body()).startsWith("read by ops");
        HttpResponse<String> operated = send(server, "POST", "/operate", OPERATOR_TOKEN);
        assertThat(operated.statusCode()).isEqualTo(200);
        assertThat(operated.body()).isEqualTo("operated by ops");
    }

    @Test
    void shouldTakeTheTokenFromTheCookieOnlyUnderItsPrefixWithTheSameRoles() throws Exception {
        MsxHttpServer server = new MsxHttpServer(new MsxHttpServer.Settings("test API", "127.0.0.1", 0,
                "msx-test-http", 4, 10), withTokens());
        servers.add(server);
        server.tokenCookie("/console", "msx_token")
                .get("/console/page", MsxHttpServer.Access.READ, ctx -> ctx.result("page for "
                        + MsxHttpServer.principal(ctx).orElseThrow().name()))
                .post("/console/act", MsxHttpServer.Access.OPERATOR, ctx -> ctx.result("acted"))
                .get("/read", MsxHttpServer.Access.READ, ctx -> ctx.result("read"));
        server.start();
        String base = "http://127.0.0.1:" + server.port();

        HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create(base + "/console/page"))
                .header("Cookie", "msx_token=" + READ_TOKEN).build(), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> act = http.send(HttpRequest.newBuilder(URI.create(base + "/console/act"))
                .header("Cookie", "msx_token=" + READ_TOKEN).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> elsewhere = http.send(HttpRequest.newBuilder(URI.create(base + "/read"))
                .header("Cookie", "msx_token=" + READ_TOKEN).build(), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> forged = http.send(HttpRequest.newBuilder(URI.create(base + "/console/page"))
                .header("Cookie", "msx_token=not-a-token").build(), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> behindProxy = http.send(HttpRequest.newBuilder(URI.create(base + "/console/page"))
                .header("Authorization", "Basic dXNlcjpwYXNz").header("Cookie", "msx_token=" + READ_TOKEN).build(),
                HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> bearerWins = http.send(HttpRequest.newBuilder(URI.create(base + "/console/act"))
                .header("Authorization", "Bearer " + OPERATOR_TOKEN).header("Cookie", "msx_token=" + READ_TOKEN)
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());

        assertThat(page.body()).isEqualTo("page for reader");
        assertThat(behindProxy.body()).as("a proxy's Basic header does not hide the cookie")
                .isEqualTo("page for reader");
        assertThat(bearerWins.body()).as("a bearer header wins over the cookie").isEqualTo("acted");
        assertThat(act.statusCode()).as("a read token's cookie may not act").isEqualTo(403);
        assertThat(elsewhere.statusCode()).as("the cookie counts only under its prefix").isEqualTo(401);
        assertThat(forged.statusCode()).isEqualTo(401);
    }

    @Test
    void shouldLeaveOpenRoutesOpenSayingMoreToAKnownToken() throws Exception {
        MsxHttpServer server = start(withTokens());

        HttpResponse<String> probe = send(server, "GET", "/probe", null);
        assertThat(probe.statusCode()).isEqualTo(200);
        assertThat(probe.body()).isEqualTo("minimal");
        assertThat(send(server, "GET", "/probe", "wrong").body()).isEqualTo("minimal");
        assertThat(send(server, "GET", "/probe", READ_TOKEN).body()).isEqualTo("detail for reader");
    }

    @Test
    void shouldAnswerAFailingHandlerWithJson500AndAWrongMethodWith405() throws Exception {
        MsxHttpServer server = start(HttpSecurity.none());

        HttpResponse<String> failed = send(server, "GET", "/fail", null);
        assertThat(failed.statusCode()).isEqualTo(500);
        assertThat(failed.body()).isEqualTo("{\"error\":\"java.lang.IllegalStateException: boom\"}");
        assertThat(send(server, "DELETE", "/read", null).statusCode()).isEqualTo(405);
    }

    @Test
    void shouldServeHttpsOnlyWithTheKeystoreTrustedThroughTheCa() throws Exception {
        LocalCa.ServerFiles files = LocalCa.writeLocalhost(dir.resolve("tls"));
        MsxHttpServer server = start(withTokens().withTls(new TlsKeyStore(files.keystore(), files.password(),
                files.type())));
        assertThat(server.scheme()).isEqualTo("https");

        HttpClient trusting = HttpClient.newBuilder().sslContext(ClientTls.trustingPem(files.caPem())).build();
        for (String host : List.of("127.0.0.1", "localhost")) {
            HttpResponse<String> ok = send(trusting, "https://" + host + ":" + server.port(), "GET", "/read",
                    READ_TOKEN);
            assertThat(ok.statusCode()).as(host).isEqualTo(200);
            assertThat(send(trusting, "https://" + host + ":" + server.port(), "GET", "/read", null).statusCode())
                    .as(host).isEqualTo(401);
        }
        assertThatThrownBy(() -> send(http, "https://127.0.0.1:" + server.port(), "GET", "/read", READ_TOKEN))
                .isInstanceOf(SSLHandshakeException.class);
        HttpClient otherCa = HttpClient.newBuilder().sslContext(ClientTls.trusting(List.of(
                LocalCa.create("another CA").certificate()))).build();
        assertThatThrownBy(() -> send(otherCa, "https://127.0.0.1:" + server.port(), "GET", "/read", READ_TOKEN))
                .isInstanceOf(SSLHandshakeException.class);
        assertThatThrownBy(() -> send(http, "http://127.0.0.1:" + server.port(), "GET", "/read", READ_TOKEN))
                .as("plain HTTP to the TLS port").isInstanceOf(IOException.class);
    }

    @Test
    void shouldNameTheAddressWhenThePortIsTakenAndReleaseItWhenClosedUnstarted() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> new MsxHttpServer(new MsxHttpServer.Settings("test API", "127.0.0.1", port,
                    "msx-test-http", 4, 10), HttpSecurity.none()))
                    .isInstanceOf(UncheckedIOException.class)
                    .hasMessageContaining("cannot listen on 127.0.0.1:" + port);
        }
        MsxHttpServer unstarted = new MsxHttpServer(new MsxHttpServer.Settings("test API", "127.0.0.1", 0,
                "msx-test-http", 4, 10), HttpSecurity.none());
        int port = unstarted.port();
        assertThat(port).isPositive();
        unstarted.close();
        unstarted.close();
        try (ServerSocket again = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            assertThat(again.getLocalPort()).isEqualTo(port);
        }
    }

    @Test
    void shouldRunOnlyThreadsNamedAfterItAndStopThemOnClose() throws Exception {
        Set<Thread> before = Thread.getAllStackTraces().keySet();
        MsxHttpServer server = start(HttpSecurity.none());
        HttpClient client = HttpClient.newHttpClient();
        assertThat(send(client, "http://127.0.0.1:" + server.port(), "GET", "/read", null).statusCode())
                .isEqualTo(200);

        Set<String> started = Thread.getAllStackTraces().keySet().stream().filter(t -> !before.contains(t))
                .map(Thread::getName).filter(name -> !name.startsWith("HttpClient-")).collect(Collectors.toSet());
        assertThat(started).isNotEmpty().allMatch(name -> name.startsWith("msx-test-http-"));
        server.close();
        await().atMost(Duration.ofSeconds(10)).alias("the server's threads end").until(() -> Thread
                .getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().startsWith("msx-test-http-")));
    }

    @Test
    void shouldCloseIdempotentlyAndRefuseToStartAgain() throws Exception {
        MsxHttpServer server = start(HttpSecurity.none());
        int port = server.port();
        server.close();
        server.close();
        assertThatThrownBy(server::start).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> send(http, "http://127.0.0.1:" + port, "GET", "/read", null))
                .isInstanceOf(IOException.class);
    }

    @Test
    void shouldReadTheSecurityKeysNamingWhatIsWrong() throws Exception {
        ConfigDef definition = HttpSecurityConfig.define(new ConfigDef(), "the test API");
        assertThat(HttpSecurityConfig.security(config(definition, Map.of())))
                .isEqualTo(HttpSecurity.none());

        LocalCa.ServerFiles files = LocalCa.writeLocalhost(dir.resolve("tls"));
        assertThatThrownBy(() -> HttpSecurityConfig.security(config(definition, Map.of(
                HttpSecurityConfig.TLS_KEYSTORE_PATH_CONFIG, files.keystore().toString()))))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("http.tls.keystore.password is required with http.tls.keystore.path");
        assertThatThrownBy(() -> HttpSecurityConfig.security(config(definition, Map.of(
                HttpSecurityConfig.TLS_KEYSTORE_PATH_CONFIG, files.keystore().toString(),
                HttpSecurityConfig.TLS_KEYSTORE_PASSWORD_CONFIG, "wrong"))))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("cannot open the TLS keystore " + files.keystore() + " as PKCS12");
        assertThatThrownBy(() -> HttpSecurityConfig.security(config(definition, Map.of(
                HttpSecurityConfig.TLS_KEYSTORE_PATH_CONFIG, dir.resolve("nope.p12").toString(),
                HttpSecurityConfig.TLS_KEYSTORE_PASSWORD_CONFIG, "x"))))
                .hasMessageContaining("does not exist");

        Path tokens = Files.writeString(dir.resolve("tokens"), "ops operator " + BearerTokens.sha256Hex("t"));
        HttpSecurity security = HttpSecurityConfig.security(config(definition, Map.of(
                HttpSecurityConfig.TLS_KEYSTORE_PATH_CONFIG, files.keystore().toString(),
                HttpSecurityConfig.TLS_KEYSTORE_PASSWORD_CONFIG, files.password(),
                HttpSecurityConfig.AUTH_TOKENS_FILE_CONFIG, tokens.toString())));
        assertThat(security.scheme()).isEqualTo("https");
        assertThat(security.tokens().orElseThrow().authenticate("t")).isPresent();
        assertThat(security.tls().orElseThrow().chainCertificates()).hasSize(2);
    }

    private static AbstractConfig config(ConfigDef definition, Map<String, Object> values) {
        return new AbstractConfig(definition, new HashMap<>(values), false);
    }
}
