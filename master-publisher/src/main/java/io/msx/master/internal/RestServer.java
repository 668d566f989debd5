package io.msx.master.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.msx.master.TargetView;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The master's read-only REST API on the JDK's built-in HTTP server (enough for a few JSON endpoints; no framework
 * needed yet): {@code GET /health}, {@code /targets}, {@code /targets/<name>}, {@code /jobs},
 * {@code /jobs/<id>/history}, {@code /instructions?target=&job=}. Two named worker threads and a
 * bounded queue; requests beyond it are refused with 503.
 */
public final class RestServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RestServer.class);

    private final HttpServer server;
    private final ThreadPoolExecutor executor;
    private final ObjectMapper json;

    public RestServer(String host, int port, String masterId, ObjectMapper json, Supplier<List<TargetView>> targets,
                      Function<String, Optional<TargetView>> target, Supplier<Map<String, Object>> health) {
        this(host, port, masterId, json, targets, target, health, List::of, id -> Optional.empty(), (t, j) -> List.of(),
                Map::of);
    }

    /**
     * @param jobs every job, for {@code GET /jobs}
     * @param history a job's runs on every target, for {@code GET /jobs/<id>/history}; empty for an unknown job
     */
    public RestServer(String host, int port, String masterId, ObjectMapper json, Supplier<List<TargetView>> targets,
                      Function<String, Optional<TargetView>> target, Supplier<Map<String, Object>> health,
                      Supplier<List<io.msx.master.JobView>> jobs,
                      Function<String, Optional<List<io.msx.master.JobRunView>>> history,
                      java.util.function.BiFunction<String, String, List<io.msx.master.InstructionView>> instructions,
                      Supplier<Map<String, List<String>>> groups) {
        this.json = json;
        AtomicInteger threads = new AtomicInteger();
        this.executor = new ThreadPoolExecutor(2, 2, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(100),
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
        server.createContext("/health", exchange -> respond(exchange, () -> Optional.of(health.get())));
        server.createContext("/targets", exchange -> {
            String path = exchange.getRequestURI().getPath();
            if (path.equals("/targets") || path.equals("/targets/")) {
                respond(exchange, () -> Optional.of(targets.get()));
            } else {
                String name = path.substring("/targets/".length());
                respond(exchange, () -> target.apply(name).map(Object.class::cast));
            }
        });
        jobsContext(jobs, history);
        server.createContext("/groups", exchange -> respond(exchange, () -> Optional.of(groups.get())));
        server.createContext("/instructions", exchange -> {
            Map<String, String> query = query(exchange.getRequestURI().getRawQuery());
            respond(exchange, () -> Optional.of(instructions.apply(query.get("target"), query.get("job"))));
        });
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> query = new java.util.HashMap<>();
        if (raw != null) {
            for (String pair : raw.split("&")) {
                int eq = pair.indexOf('=');
                if (eq > 0) {
                    query.put(java.net.URLDecoder.decode(pair.substring(0, eq), java.nio.charset.StandardCharsets.UTF_8),
                            java.net.URLDecoder.decode(pair.substring(eq + 1), java.nio.charset.StandardCharsets.UTF_8));
                }
            }
        }
        return query;
    }

    private void jobsContext(Supplier<List<io.msx.master.JobView>> jobs,
                             Function<String, Optional<List<io.msx.master.JobRunView>>> history) {
        server.createContext("/jobs", exchange -> {
            String path = exchange.getRequestURI().getPath();
            if (path.equals("/jobs") || path.equals("/jobs/")) {
                respond(exchange, () -> Optional.of(jobs.get()));
            } else if (path.endsWith("/history")) {
                String id = path.substring("/jobs/".length(), path.length() - "/history".length());
                respond(exchange, () -> history.apply(id).map(Object.class::cast));
            } else {
                respond(exchange, Optional::empty);
            }
        });
    }

    public void start() {
        server.start();
        log.info("REST API listening on http://{}:{}", server.getAddress().getHostString(), port());
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void respond(HttpExchange exchange, Supplier<Optional<Object>> body) throws IOException {
        try (exchange) {
            if (!"GET".equals(exchange.getRequestMethod())) {
                send(exchange, 405, Map.of("error", "only GET is supported"));
                return;
            }
            Optional<Object> value;
            try {
                value = body.get();
            } catch (RuntimeException e) {
                log.warn("REST {} failed: {}", exchange.getRequestURI(), e.toString());
                send(exchange, 500, Map.of("error", e.toString()));
                return;
            }
            if (value.isEmpty()) {
                send(exchange, 404, Map.of("error", "not found: " + exchange.getRequestURI().getPath()));
            } else {
                send(exchange, 200, value.get());
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
