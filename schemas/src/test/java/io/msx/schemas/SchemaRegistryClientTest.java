package io.msx.schemas;

import com.sun.net.httpserver.HttpServer;
import org.apache.avro.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Client behaviour the real registry cannot show: credentials on the wire, timeouts, 5xx. */
class SchemaRegistryClientTest {

    private static final Schema SCHEMA = new Schema.Parser().parse(
            "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}");

    private HttpServer server;
    private final CountDownLatch release = new CountDownLatch(1);

    private String start(com.sun.net.httpserver.HttpHandler handler) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", handler);
        server.start();
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/apis/ccompat/v7";
    }

    @AfterEach
    void tearDown() {
        release.countDown();
        if (server != null) {
            server.stop(0);
        }
    }

    private static void answer(com.sun.net.httpserver.HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Test
    void shouldTakeTheExistingIdWhenAConcurrentRegistrationWonTheRace() throws IOException {
        String url = start(exchange -> {
            if (exchange.getRequestURI().getPath().endsWith("/versions")) {
                answer(exchange, 409, "{\"error_code\":409,\"message\":\"An artifact with ID 'R' already exists\"}");
            } else {
                answer(exchange, 200, "{\"id\":11,\"version\":1,\"subject\":\"R\"}");
            }
        });
        SchemaRegistryClient client = new SchemaRegistryClient(SchemaRegistryConfig.of(url));

        assertThat(client.register("R", SCHEMA)).isEqualTo(11);
    }

    @Test
    void shouldStillRefuseAnIncompatibleSchemaWithItsConflict() throws IOException {
        String url = start(exchange -> {
            if (exchange.getRequestURI().getPath().endsWith("/versions")) {
                answer(exchange, 409, "{\"error_code\":409,\"message\":\"incompatible\"}");
            } else {
                answer(exchange, 404, "{\"error_code\":40403,\"message\":\"schema not found\"}");
            }
        });
        SchemaRegistryClient client = new SchemaRegistryClient(SchemaRegistryConfig.of(url));

        assertThatThrownBy(() -> client.register("R", SCHEMA)).isInstanceOf(SchemaRegistryException.class)
                .hasMessageContaining("HTTP 409").hasMessageContaining("incompatible");
    }

    @Test
    void shouldSendBasicAuthCredentials() throws IOException {
        AtomicReference<String> authorization = new AtomicReference<>();
        String url = start(exchange -> {
            authorization.set(exchange.getRequestHeaders().getFirst("Authorization"));
            answer(exchange, 200, "{\"id\":7}");
        });
        SchemaRegistryClient client = new SchemaRegistryClient(SchemaRegistryConfig.of(url).withBasicAuth("ops:s3cret"));

        assertThat(client.register("R", SCHEMA)).isEqualTo(7);
        assertThat(authorization.get()).isEqualTo("Basic b3BzOnMzY3JldA==");
        assertThat(client.config().toString()).doesNotContain("s3cret");
    }

    @Test
    void shouldTimeOutAsRetriableWhenTheRegistryHangs() throws IOException {
        String url = start(exchange -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        SchemaRegistryClient client = new SchemaRegistryClient(SchemaRegistryConfig.of(url)
                .withTimeouts(Duration.ofSeconds(1), Duration.ofMillis(300)));

        assertThatThrownBy(() -> client.schemaById(1))
                .isInstanceOf(SchemaRegistryUnavailableException.class)
                .hasMessageContaining("unreachable");
    }

    @Test
    void shouldTreatServerErrorsAsRetriableAndClientErrorsAsFinal() throws IOException {
        String url = start(exchange -> {
            if (exchange.getRequestURI().getPath().endsWith("/1")) {
                answer(exchange, 503, "{\"error_code\":50301,\"message\":\"storage down\"}");
            } else {
                answer(exchange, 401, "{\"error_code\":40101,\"message\":\"bad credentials\"}");
            }
        });
        SchemaRegistryClient client = new SchemaRegistryClient(SchemaRegistryConfig.of(url));

        assertThatThrownBy(() -> client.schemaById(1))
                .isInstanceOf(SchemaRegistryUnavailableException.class).hasMessageContaining("storage down");
        assertThatThrownBy(() -> client.schemaById(2))
                .isInstanceOf(SchemaRegistryException.class)
                .hasMessageContaining("HTTP 401 bad credentials")
                .satisfies(e -> assertThat(((SchemaRegistryException) e).errorCode()).isEqualTo(40101));
    }

    @Test
    void shouldRejectMalformedSettingsAtConstruction() {
        assertThatThrownBy(() -> SchemaRegistryConfig.of("ftp://x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("http or https");
        assertThatThrownBy(() -> SchemaRegistryConfig.of("http://x").withBasicAuth("nocolon"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("user:password");
    }
}
