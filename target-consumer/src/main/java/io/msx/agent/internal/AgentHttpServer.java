package io.msx.agent.internal;

import io.javalin.http.Context;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.msx.agent.TargetAgentException;
import io.msx.http.HttpSecurity;
import io.msx.http.MsxHttpServer;
import io.msx.http.MsxHttpServer.Access;

import java.io.UncheckedIOException;
import java.util.function.Supplier;

/**
 * The agent's operational endpoints, for Kubernetes probes and Prometheus: {@code GET /health/live} (200 unless the
 * agent FAILED: never depends on the broker), {@code GET /health/ready} and {@code GET /health} (200 while it runs,
 * consumes its topic and the broker answers; 503 otherwise), each with a JSON body saying why; and
 * {@code GET /metrics} in the Prometheus text format. With a tokens file (see {@link HttpSecurity}) the probes stay
 * open but answer only {@code live} and {@code ready} to a caller without a valid token, and {@code /metrics} needs
 * the read role. Up to four named threads ({@code msx-target-<name>-http-N}), a bounded queue. {@link #close()} is
 * idempotent.
 */
public final class AgentHttpServer implements AutoCloseable {

    private static final int THREADS = 4;
    private static final int QUEUE = 50;

    /** What {@code /health} reports. */
    public record Health(boolean live, boolean ready, String json) {
    }

    private final MsxHttpServer server;

    /**
     * Binds the port.
     *
     * @throws TargetAgentException naming the address when it cannot listen there
     */
    public AgentHttpServer(String host, int port, String target, HttpSecurity security, Supplier<Health> health,
                           PrometheusMeterRegistry prometheus) {
        try {
            this.server = new MsxHttpServer(new MsxHttpServer.Settings("Health and metrics of " + target, host, port,
                    "msx-target-" + target + "-http", THREADS, QUEUE), security);
        } catch (UncheckedIOException e) {
            throw new TargetAgentException("cannot listen on " + host + ":" + port + " for health and metrics: "
                    + e.getCause().getMessage(), e);
        }
        server.get("/health/live", Access.OPEN, ctx -> {
            Health h = health.get();
            send(ctx, h.live(), h);
        });
        server.get("/health/ready", Access.OPEN, ctx -> {
            Health h = health.get();
            send(ctx, h.ready(), h);
        });
        server.get("/health", Access.OPEN, ctx -> {
            Health h = health.get();
            send(ctx, h.ready(), h);
        });
        server.get("/metrics", Access.READ, ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8")
                .result(prometheus.scrape()));
    }

    /** The full body for a known caller (or when no tokens are configured); only live and ready for anyone else. */
    private static void send(Context ctx, boolean ok, Health h) {
        String body = MsxHttpServer.principal(ctx).isPresent() ? h.json()
                : "{\"live\":" + h.live() + ",\"ready\":" + h.ready() + "}";
        ctx.status(ok ? 200 : 503).contentType("application/json").result(body);
    }

    public void start() {
        server.start();
    }

    public int port() {
        return server.port();
    }

    /** {@code https} when a keystore is configured, else {@code http}. */
    public String scheme() {
        return server.scheme();
    }

    @Override
    public void close() {
        server.close();
    }
}
