package io.msx.agent.internal;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.msx.agent.TargetAgentException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The agent's operational endpoints on the JDK's HTTP server, for Kubernetes probes: {@code GET /health/live} (200
 * unless the agent FAILED: never depends on the broker), {@code GET /health/ready} and {@code GET /health} (200 while
 * it runs, consumes its topic and the broker answers; 503 otherwise), each with the same JSON body saying why; and
 * {@code GET /metrics} in the Prometheus text format. One named worker thread, a bounded queue.
 */
public final class AgentHttpServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AgentHttpServer.class);

    /** What {@code /health} reports. */
    public record Health(boolean live, boolean ready, String json) {
    }

    private final HttpServer server;
    private final ThreadPoolExecutor executor;

    public AgentHttpServer(String host, int port, String target, Supplier<Health> health,
                           PrometheusMeterRegistry prometheus) {
        this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(50),
                r -> new Thread(r, "msx-target-" + target + "-http"), new ThreadPoolExecutor.AbortPolicy());
        try {
            this.server = HttpServer.create(new InetSocketAddress(host, port), 20);
        } catch (IOException e) {
            executor.shutdownNow();
            throw new TargetAgentException("cannot listen on " + host + ":" + port + " for health and metrics: "
                    + e.getMessage(), e);
        }
        server.setExecutor(executor);
        server.createContext("/health", exchange -> {
            Health h = health.get();
            boolean live = exchange.getRequestURI().getPath().equals("/health/live");
            send(exchange, (live ? h.live() : h.ready()) ? 200 : 503, "application/json", h.json());
        });
        server.createContext("/metrics", exchange ->
                send(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", prometheus.scrape()));
    }

    public void start() {
        server.start();
        log.info("Health and metrics on http://{}:{}/health and /metrics", server.getAddress().getHostString(), port());
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private static void send(HttpExchange exchange, int status, String type, String body) throws IOException {
        try (exchange) {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", type);
            exchange.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
