package io.msx.master.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.http.Context;
import io.msx.MsxRetriableException;
import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.http.HttpSecurity;
import io.msx.http.MsxHttpServer;
import io.msx.http.MsxHttpServer.Access;
import io.msx.http.Principal;
import io.msx.master.InstructionView;
import io.msx.master.JobDetail;
import io.msx.master.JobRunView;
import io.msx.master.JobView;
import io.msx.master.MasterException;
import io.msx.master.TargetView;
import io.msx.master.internal.console.Console;
import io.msx.schemas.MessageFamily;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.streams.errors.InvalidStateStoreException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * The master's REST API: {@code GET /health}, {@code /health/live}, {@code /health/ready}, {@code /metrics},
 * {@code /targets}, {@code /targets/{name}}, {@code /jobs}, {@code /jobs/{id}/history?limit=}, {@code /groups},
 * {@code /instructions?target=&job=&id=&limit=}, and {@code POST /commands?wait=} (see {@link CommandJson} for the
 * body). A view query with {@code scope=local} answers from this instance's stores only (how instances ask each
 * other). While the stores are not queryable (starting, rebalancing) a view answers 503.
 *
 * <p>The web console ({@link Console}) is served under {@code /console} from the same {@link Api}; {@code /}
 * redirects to it.
 *
 * <p>Security ({@link HttpSecurity}): HTTPS only with a keystore; with a tokens file the views, history, metrics
 * and instructions need the read role, commands the operator role, and the probes stay open but answer only live
 * and ready to a caller without a valid token. A command's {@code issuedBy} is always {@code rest:<token name>}
 * ({@code rest:anonymous} without tokens), whatever the body says.
 *
 * <p>Binds its port in the constructor (known before Kafka Streams is configured with it), serves after
 * {@link #start()}. Up to {@value #THREADS} named threads ({@code msx-master-<id>-http-N}, a waiting command holds
 * one) and a bounded queue. {@link #close()} is idempotent.
 */
public final class RestServer implements AutoCloseable {

    /** Rows of the download list returned when the request names no limit. */
    public static final int DEFAULT_INSTRUCTIONS_LIMIT = 1000;
    /** Runs of a job's history returned when the request names no limit (the newest). */
    public static final int DEFAULT_HISTORY_LIMIT = 10_000;
    /** How long {@code POST /commands} waits for the result when the request names no {@code wait}. */
    public static final Duration DEFAULT_COMMAND_WAIT = Duration.ofSeconds(30);
    public static final Duration MAX_COMMAND_WAIT = Duration.ofMinutes(5);
    /**
     * Threads, including Jetty's acceptor and selector: enough that requests waiting on another instance (or on a
     * command's result) do not starve that instance's scope=local calls.
     */
    static final int THREADS = 16;
    private static final int QUEUE = 100;

    /** What the API serves. */
    public interface Api {
        List<TargetView> targets(boolean local);

        Optional<TargetView> target(String name, boolean local);

        List<JobView> jobs(boolean local);

        /** A job's whole definition; empty when no such job is defined. */
        Optional<JobDetail> job(String jobId, boolean local);

        Optional<List<JobRunView>> history(String jobId, int limit, boolean local);

        List<InstructionView> instructions(String target, String job, String id, int limit, boolean local);

        Map<String, List<String>> groups(boolean local);

        /** The master's health: whether it is live and ready, and why not. */
        Health health();

        String metrics();

        /**
         * Writes a command (its header already set) to the commands topic and waits up to {@code wait} for the
         * master's answer.
         *
         * @return empty when no answer came within {@code wait} (the command is written)
         * @throws MsxRetriableException when the command cannot be written now
         */
        Optional<CommandResult> submit(SpecificRecord command, Duration wait) throws InterruptedException;
    }

    /** @param body state, last error, reasons */
    public record Health(boolean live, boolean ready, Map<String, Object> body) {
    }

    private final MsxHttpServer server;
    private final ObjectMapper json;
    private final Api api;
    private final Clock clock;

    /** Plain HTTP without authentication. */
    public RestServer(String host, int port, String masterId, ObjectMapper json, Api api) {
        this(host, port, masterId, json, api, HttpSecurity.none(), Clock.systemUTC());
    }

    /**
     * Binds the port.
     *
     * @throws MasterException naming the address when it cannot listen there
     */
    public RestServer(String host, int port, String masterId, ObjectMapper json, Api api, HttpSecurity security,
                      Clock clock) {
        this.json = json;
        this.api = api;
        this.clock = clock;
        try {
            this.server = new MsxHttpServer(new MsxHttpServer.Settings("REST API", host, port,
                    "msx-master-" + masterId + "-http", THREADS, QUEUE), security);
        } catch (UncheckedIOException e) {
            throw new MasterException("cannot listen on " + host + ":" + port + " for the REST API: "
                    + e.getCause().getMessage(), e);
        }
        server.exception(InvalidStateStoreException.class, (e, ctx) -> send(ctx, 503, Map.of("error",
                "the master's views are not queryable now (starting or rebalancing); try again: " + e.getMessage())));
        server.exception(MsxRetriableException.class, (e, ctx) -> send(ctx, 503, Map.of("error", e.getMessage())));
        server.get("/health", Access.OPEN, ctx -> health(ctx, null));
        server.get("/health/live", Access.OPEN, ctx -> health(ctx, Health::live));
        server.get("/health/ready", Access.OPEN, ctx -> health(ctx, Health::ready));
        server.get("/metrics", Access.READ, ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8")
                .result(api.metrics()));
        server.get("/targets", Access.READ, ctx -> send(ctx, 200, query(ctx, () -> api.targets(local(ctx)))));
        server.get("/targets/{name}", Access.READ, ctx -> found(ctx, query(ctx,
                () -> api.target(ctx.pathParam("name"), local(ctx)))));
        server.get("/jobs", Access.READ, ctx -> send(ctx, 200, query(ctx, () -> api.jobs(local(ctx)))));
        server.get("/jobs/{id}", Access.READ, ctx -> found(ctx, query(ctx,
                () -> api.job(ctx.pathParam("id"), local(ctx)))));
        server.get("/jobs/{id}/history", Access.READ, ctx -> {
            int limit = limit(ctx, DEFAULT_HISTORY_LIMIT);
            if (limit > 0) {
                found(ctx, query(ctx, () -> api.history(ctx.pathParam("id"), limit, local(ctx))));
            }
        });
        server.get("/groups", Access.READ, ctx -> send(ctx, 200, query(ctx, () -> api.groups(local(ctx)))));
        server.get("/instructions", Access.READ, ctx -> {
            int limit = limit(ctx, DEFAULT_INSTRUCTIONS_LIMIT);
            if (limit > 0) {
                send(ctx, 200, query(ctx, () -> api.instructions(ctx.queryParam("target"), ctx.queryParam("job"),
                        ctx.queryParam("id"), limit, local(ctx))));
            }
        });
        server.post("/commands", Access.OPERATOR, this::command);
        new Console(api, security, clock, json).register(server);
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

    /** Full health to a known caller (or without tokens), only live and ready to anyone else. */
    private void health(Context ctx, java.util.function.Predicate<Health> ok) {
        Health health = api.health();
        Map<String, Object> body = health.body();
        if (MsxHttpServer.principal(ctx).isEmpty()) {
            body = new LinkedHashMap<>();
            body.put("live", health.live());
            body.put("ready", health.ready());
        }
        send(ctx, ok == null || ok.test(health) ? 200 : 503, body);
    }

    /** Asks the view, forwarding the caller's token to any other instance the view is gathered from. */
    private static <T> T query(Context ctx, Supplier<T> view) {
        return Peers.onBehalfOf(ctx.header("Authorization"), view);
    }

    private static boolean local(Context ctx) {
        return "local".equals(ctx.queryParam("scope"));
    }

    /** The {@code limit} parameter, the default when absent; answers 400 and returns -1 when it is not positive. */
    private int limit(Context ctx, int defaultLimit) {
        String raw = ctx.queryParam("limit");
        int limit;
        try {
            limit = raw == null ? defaultLimit : Integer.parseInt(raw);
        } catch (NumberFormatException e) {
            limit = -1;
        }
        if (limit < 1) {
            send(ctx, 400, Map.of("error", "limit must be a positive integer"));
            return -1;
        }
        return limit;
    }

    private void found(Context ctx, Optional<?> value) {
        if (value.isEmpty()) {
            send(ctx, 404, Map.of("error", "not found: " + ctx.path()));
        } else {
            send(ctx, 200, value.get());
        }
    }

    /**
     * {@code POST /commands}: builds the command from the body around a header of the server's making (issuedBy
     * {@code rest:<token name>}), writes it and answers its result (200), or 202 when none came within
     * {@code wait}.
     */
    private void command(Context ctx) throws InterruptedException {
        Principal caller = MsxHttpServer.principal(ctx).orElseThrow();
        Duration wait;
        try {
            wait = parseWait(ctx.queryParam("wait"));
        } catch (IllegalArgumentException e) {
            send(ctx, 400, Map.of("error", e.getMessage()));
            return;
        }
        String issuedBy = "rest:" + caller.name();
        CommandHeader header = CommandHeader.newBuilder().setCommandId(UUID.randomUUID())
                .setIssuedAt(clock.instant().truncatedTo(ChronoUnit.MILLIS)).setIssuedBy(issuedBy).build();
        SpecificRecord command;
        try {
            JsonNode body = json.readTree(ctx.bodyAsBytes());
            command = CommandJson.read(body, header);
        } catch (IOException e) {
            send(ctx, 400, Map.of("error", "the body is not JSON: " + e.getMessage()));
            return;
        } catch (IllegalArgumentException e) {
            send(ctx, 400, Map.of("error", e.getMessage()));
            return;
        }
        Optional<CommandResult> result = api.submit(command, wait);
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("commandId", header.getCommandId().toString());
        answer.put("type", MessageFamily.typeName(command));
        answer.put("issuedBy", issuedBy);
        if (result.isEmpty()) {
            answer.put("status", "PENDING");
            answer.put("reason", "written to the commands topic; no result within " + wait.toMillis() + " ms (the "
                    + "master decides it when it reads it; the result is keyed by the command id)");
            send(ctx, 202, answer);
            return;
        }
        CommandResult decided = result.get();
        answer.put("status", decided.getStatus().name());
        answer.put("reason", decided.getReason());
        answer.put("processedAt", decided.getProcessedAt());
        answer.put("instructions", decided.getInstructions().stream().map(p -> Map.of("target", p.getTarget(),
                "instructionId", p.getInstructionId().toString(), "operation", p.getOperation())).toList());
        send(ctx, 200, answer);
    }

    /** {@code wait=}: absent the default, else 0 (do not wait), 500ms, 30s, 2m, or plain seconds. */
    static Duration parseWait(String raw) {
        if (raw == null || raw.isBlank()) {
            return DEFAULT_COMMAND_WAIT;
        }
        String v = raw.strip().toLowerCase(Locale.ROOT);
        Duration wait;
        try {
            if (v.endsWith("ms")) {
                wait = Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
            } else if (v.endsWith("s")) {
                wait = Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1)));
            } else if (v.endsWith("m")) {
                wait = Duration.ofMinutes(Long.parseLong(v.substring(0, v.length() - 1)));
            } else if (v.endsWith("h")) {
                wait = Duration.ofHours(Long.parseLong(v.substring(0, v.length() - 1)));
            } else {
                wait = Duration.ofSeconds(Long.parseLong(v));
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("wait must be a duration such as 0, 500ms, 30s or 2m, not '" + raw
                    + "'");
        }
        if (wait.isNegative() || wait.compareTo(MAX_COMMAND_WAIT) > 0) {
            throw new IllegalArgumentException("wait must be between 0 and " + MAX_COMMAND_WAIT.toMinutes()
                    + " minutes, not '" + raw + "'");
        }
        return wait;
    }

    private void send(Context ctx, int status, Object body) {
        byte[] bytes;
        try {
            bytes = json.writeValueAsBytes(body);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the answer as JSON", e);
        }
        ctx.status(status).contentType("application/json").result(bytes);
    }

    @Override
    public void close() {
        server.close();
    }
}
