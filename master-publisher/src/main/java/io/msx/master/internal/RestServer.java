package io.msx.master.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.msx.master.InstructionView;
import io.msx.master.JobRunView;
import io.msx.master.JobView;
import io.msx.master.TargetView;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The master's read-only REST API on the JDK's built-in HTTP server: {@code GET /health}, {@code /health/live},
 * {@code /health/ready}, {@code /metrics}, {@code /targets}, {@code /targets/<name>}, {@code /jobs},
 * {@code /jobs/<id>/history?limit=}, {@code /groups}, {@code /instructions?target=&job=&id=&limit=}. A view query with
 * {@code scope=local} answers from this instance's stores only (how instances ask each other). While the stores are
 * not queryable (starting, rebalancing) a view answers 503. Eight named worker threads and a bounded queue of 100;
 * connections beyond it are closed.
 */
public final class RestServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RestServer.class);
    /** Rows of the download list returned when the request names no limit. */
    public static final int DEFAULT_INSTRUCTIONS_LIMIT = 1000;
    /** Runs of a job's history returned when the request names no limit (the newest). */
    public static final int DEFAULT_HISTORY_LIMIT = 10_000;
    static final int THREADS = 8;

    /** What the API serves. */
    public interface Api {
        List<TargetView> targets(boolean local);

        Optional<TargetView> target(String name, boolean local);

        List<JobView> jobs(boolean local);

        Optional<List<JobRunView>> history(String jobId, int limit, boolean local);

        List<InstructionView> instructions(String target, String job, String id, int limit, boolean local);

        Map<String, List<String>> groups(boolean local);

        /** The master's health: whether it is live and ready, and why not. */
        Health health();

        String metrics();
    }

    /** @param body state, last error, reasons */
    public record Health(boolean live, boolean ready, Map<String, Object> body) {
    }

    private final HttpServer server;
    private final ThreadPoolExecutor executor;
    private final ObjectMapper json;

    public RestServer(String host, int port, String masterId, ObjectMapper json, Api api) {
        this.json = json;
        AtomicInteger threads = new AtomicInteger();
        // enough threads that requests waiting on another instance do not starve that instance's scope=local calls
        this.executor = new ThreadPoolExecutor(THREADS, THREADS, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(100),
                r -> new Thread(r, "msx-master-" + masterId + "-http-" + threads.incrementAndGet()),
                new ThreadPoolExecutor.AbortPolicy());
        try {
            this.server = HttpServer.create(new InetSocketAddress(host, port), 50);
        } catch (IOException e) {
            executor.shutdownNow();
            throw new io.msx.master.MasterException("cannot listen on " + host + ":" + port + " for the REST API: "
                    + e.getMessage(), e);
        }
        server.setExecutor(executor);
        server.createContext("/health", exchange -> {
            String path = exchange.getRequestURI().getPath();
            Health health = api.health();
            int status = switch (path) {
                case "/health/live" -> health.live() ? 200 : 503;
                case "/health/ready" -> health.ready() ? 200 : 503;
                default -> 200;
            };
            respond(exchange, status, () -> Optional.of(health.body()));
        });
        server.createContext("/metrics", exchange -> {
            try (exchange) {
                byte[] bytes = api.metrics().getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
                exchange.sendResponseHeaders(200, bytes.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(bytes);
                }
            }
        });
        server.createContext("/targets", exchange -> {
            String path = exchange.getRequestURI().getPath();
            boolean local = local(exchange);
            if (path.equals("/targets") || path.equals("/targets/")) {
                respond(exchange, 200, () -> Optional.of(api.targets(local)));
            } else {
                String name = path.substring("/targets/".length());
                respond(exchange, 200, () -> api.target(name, local).map(Object.class::cast));
            }
        });
        server.createContext("/jobs", exchange -> {
            String path = exchange.getRequestURI().getPath();
            boolean local = local(exchange);
            if (path.equals("/jobs") || path.equals("/jobs/")) {
                respond(exchange, 200, () -> Optional.of(api.jobs(local)));
            } else if (path.endsWith("/history")) {
                String id = path.substring("/jobs/".length(), path.length() - "/history".length());
                int limit = limit(exchange, DEFAULT_HISTORY_LIMIT);
                if (limit < 1) {
                    respond(exchange, 400, () -> Optional.of(Map.of("error", "limit must be a positive integer")));
                    return;
                }
                respond(exchange, 200, () -> api.history(id, limit, local).map(Object.class::cast));
            } else {
                respond(exchange, 200, Optional::empty);
            }
        });
        server.createContext("/groups", exchange -> respond(exchange, 200,
                () -> Optional.of(api.groups(local(exchange)))));
        server.createContext("/instructions", exchange -> {
            Map<String, String> query = query(exchange.getRequestURI().getRawQuery());
            int limit = limit(exchange, DEFAULT_INSTRUCTIONS_LIMIT);
            if (limit < 1) {
                respond(exchange, 400, () -> Optional.of(Map.of("error", "limit must be a positive integer")));
                return;
            }
            int rows = limit;
            respond(exchange, 200, () -> Optional.of(api.instructions(query.get("target"), query.get("job"),
                    query.get("id"), rows, "local".equals(query.get("scope")))));
        });
    }

    /** The {@code limit} parameter, the default when absent, -1 when it is not a number. */
    private static int limit(HttpExchange exchange, int defaultLimit) {
        String raw = query(exchange.getRequestURI().getRawQuery()).get("limit");
        try {
            return raw == null ? defaultLimit : Integer.parseInt(raw);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static boolean local(HttpExchange exchange) {
        return "local".equals(query(exchange.getRequestURI().getRawQuery()).get("scope"));
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> query = new HashMap<>();
        if (raw != null) {
            for (String pair : raw.split("&")) {
                int eq = pair.indexOf('=');
                if (eq > 0) {
                    query.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                            URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
        }
        return query;
    }

    public void start() {
        server.start();
        log.info("REST API listening on http://{}:{}", server.getAddress().getHostString(), port());
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void respond(HttpExchange exchange, int okStatus, Supplier<Optional<Object>> body) throws IOException {
        try (exchange) {
            if (!"GET".equals(exchange.getRequestMethod())) {
                send(exchange, 405, Map.of("error", "only GET is supported"));
                return;
            }
            Optional<Object> value;
            try {
                value = body.get();
            } catch (InvalidStateStoreException e) {
                send(exchange, 503, Map.of("error", "the master's views are not queryable now (starting or "
                        + "rebalancing); try again: " + e.getMessage()));
                return;
            } catch (RuntimeException e) {
                log.warn("REST {} failed: {}", exchange.getRequestURI(), e.toString());
                send(exchange, 500, Map.of("error", e.toString()));
                return;
            }
            if (value.isEmpty()) {
                send(exchange, 404, Map.of("error", "not found: " + exchange.getRequestURI().getPath()));
            } else {
                send(exchange, okStatus, value.get());
            }
        }
    }

    private void send(HttpExchange exchange, int status, Object body) throws IOException {
        byte[] bytes = json.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
