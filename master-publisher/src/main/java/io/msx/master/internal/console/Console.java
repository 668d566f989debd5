package io.msx.master.internal.console;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import gg.jte.ContentType;
import gg.jte.TemplateEngine;
import gg.jte.output.StringOutput;
import io.javalin.http.Context;
import io.msx.MsxRetriableException;
import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.http.HttpSecurity;
import io.msx.http.MsxHttpServer;
import io.msx.http.MsxHttpServer.Access;
import io.msx.http.Principal;
import io.msx.master.InstructionView;
import io.msx.master.JobRunView;
import io.msx.master.JobDetail;
import io.msx.master.JobView;
import io.msx.master.TargetStatus;
import io.msx.master.TargetView;
import io.msx.master.internal.CommandJson;
import io.msx.master.internal.Peers;
import io.msx.master.internal.RestServer;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.zip.CRC32;

/**
 * The web console: Manage Target Servers (targets, actions, download instructions) and jobs (definition, start and
 * stop, history with every step attempt), served by the master's HTTP server under {@code /console} from the same
 * {@link RestServer.Api} the REST API answers from (so several instances answer it as they answer the API).
 *
 * <p>Server-rendered HTML (jte templates compiled at build time, HTML-escaped by context) with htmx from the webjar,
 * served by the master itself. The live parts poll their fragment every 2 s; a fragment that has not changed is
 * answered 204 (the browser keeps what it shows, including ticked boxes and focus), and the page's script shows how
 * fresh the data is and says when the master does not answer.
 *
 * <p>Login and roles are the REST API's ({@link ConsoleSession}): pages answer any caller and send one without a
 * valid token to the login form; actions are {@link Access#OPERATOR} routes (a read token gets 403 from the server
 * before the handler) and must carry the login's anti-forgery value. Failures are answered with a short fragment
 * naming the problem; stack traces stay in the log. Thread-safe.
 */
public final class Console {

    private static final Logger log = LoggerFactory.getLogger(Console.class);

    /** Rows of the download list the page shows. */
    static final int INSTRUCTIONS_LIMIT = 200;
    /** Runs of a job's history the page shows per target (the newest). */
    static final int HISTORY_LIMIT = 50;
    /** Runs of a job's history (its newest) the page picks each target's newest {@link #HISTORY_LIMIT} from. */
    static final int HISTORY_SOURCE_LIMIT = RestServer.DEFAULT_HISTORY_LIMIT;
    /** Targets one action may name. */
    static final int MAX_SELECTED = TargetRows.MAX_ROWS;
    /**
     * How long an action waits for the master's decision before it says the command is pending (with its id): well
     * below the page's request timeout (htmx {@code timeout} in layout.jte, 20 s), so the browser always gets the
     * answer. An action of several commands waits this long for all of them together.
     */
    static final Duration ACTION_WAIT = Duration.ofSeconds(8);
    /** Commands of one action (Force Defection: one per target) written at the same time. */
    private static final int SUBMIT_THREADS = 4;
    private static final String HTMX = "META-INF/resources/webjars/htmx.org/2.0.10/dist/htmx.min.js";
    /**
     * On every console response: scripts, styles and requests from the master only (the page has no inline script
     * or style; htmx's indicator style is off in layout.jte), never framed, no Referer.
     */
    static final Map<String, String> SECURITY_HEADERS = Map.of(
            "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'",
            "X-Frame-Options", "DENY",
            "Referrer-Policy", "no-referrer");
    private static final String VERSION_HEADER = "X-Msx-Version";
    private static final String NOW_HEADER = "X-Msx-Now";
    private static final List<String> STATUSES = Arrays.stream(TargetStatus.values()).map(Enum::name).toList();

    private final RestServer.Api api;
    private final HttpSecurity security;
    private final Clock clock;
    private final ObjectMapper json;
    private final ConsoleSession session;
    private final TemplateEngine templates;
    private final Map<String, byte[]> assets;
    private final java.util.concurrent.ExecutorService submitter = java.util.concurrent.Executors.newFixedThreadPool(
            SUBMIT_THREADS, r -> {
                Thread t = new Thread(r, "msx-console-submit");
                t.setDaemon(true);
                return t;
            });

    public Console(RestServer.Api api, HttpSecurity security, Clock clock, ObjectMapper json) {
        this.api = api;
        this.security = security;
        this.clock = clock;
        this.json = json;
        this.session = new ConsoleSession(new SecureRandom());
        this.templates = TemplateEngine.createPrecompiled(null, ContentType.Html, Console.class.getClassLoader(),
                "io.msx.master.internal.console.templates");
        this.assets = Map.of(
                "htmx.min.js", resource(HTMX),
                "console.js", resource("io/msx/master/console/console.js"),
                "console.css", resource("io/msx/master/console/console.css"));
    }

    private static byte[] resource(String name) {
        try (InputStream in = Console.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("the console's " + name + " is missing from the class path");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the console's " + name, e);
        }
    }

    /** Adds the console's routes (and {@code /} redirecting to it) to {@code server}, before it starts. */
    public void register(MsxHttpServer server) {
        server.tokenCookie(ConsoleSession.PATH, ConsoleSession.TOKEN_COOKIE);
        server.responseHeaders(ConsoleSession.PATH, SECURITY_HEADERS);
        server.get("/", Access.OPEN, ctx -> ctx.redirect("/console/targets"));
        server.get("/console", Access.OPEN, ctx -> ctx.redirect("/console/targets"));
        server.get("/console/", Access.OPEN, ctx -> ctx.redirect("/console/targets"));
        server.get("/console/assets/{name}", Access.OPEN, this::asset);
        server.get("/console/login", Access.OPEN, ctx -> loginPage(ctx, null, 200));
        server.post("/console/login", Access.OPEN, this::login);
        server.post("/console/logout", Access.OPEN, this::logout);
        server.get("/console/targets", Access.OPEN, page(this::targetsPage));
        server.get("/console/targets/rows", Access.OPEN, fragment(this::targetRows));
        server.get("/console/targets/polls", Access.OPEN, fragment(this::pollWatch));
        server.post("/console/targets/actions", Access.OPERATOR, action(this::targetAction));
        server.get("/console/instructions", Access.OPEN, page(this::instructionsPage));
        server.get("/console/instructions/rows", Access.OPEN, fragment(this::instructionRows));
        server.get("/console/jobs", Access.OPEN, page(this::jobsPage));
        server.get("/console/jobs/{id}", Access.OPEN, page(this::jobPage));
        server.get("/console/jobs/{id}/history", Access.OPEN, fragment(this::history));
        server.post("/console/jobs/{id}/actions", Access.OPERATOR, action(this::jobAction));
    }

    // ---- plumbing: who is asking, errors, rendering

    private interface View {
        /** Renders into {@code ctx}; may throw whatever the views throw. */
        void render(Context ctx, Principal caller) throws Exception;
    }

    /** A full page: a caller without a valid login goes to the login form. */
    private io.javalin.http.Handler page(View view) {
        return ctx -> {
            Optional<Principal> caller = MsxHttpServer.principal(ctx);
            if (caller.isEmpty()) {
                ctx.redirect("/console/login");
                return;
            }
            guarded(ctx, () -> view.render(ctx, caller.get()), true);
        };
    }

    /** A live fragment: 401 without a login (the page's script goes to the login form). */
    private io.javalin.http.Handler fragment(View view) {
        return ctx -> {
            Optional<Principal> caller = MsxHttpServer.principal(ctx);
            ctx.header(NOW_HEADER, Long.toString(clock.millis()));
            if (caller.isEmpty()) {
                ctx.header("HX-Redirect", "/console/login");
                error(ctx, 401, "Your login is no longer valid: log in again.");
                return;
            }
            guarded(ctx, () -> view.render(ctx, caller.get()), false);
        };
    }

    /** An action: the server already checked the operator role; this checks the anti-forgery value. */
    private io.javalin.http.Handler action(View view) {
        return ctx -> {
            Principal caller = MsxHttpServer.principal(ctx).orElseThrow();
            String presented = ctx.header(ConsoleSession.CSRF_HEADER);
            if (presented == null) {
                presented = ctx.formParam(ConsoleSession.CSRF_FIELD);
            }
            if (!ConsoleSession.csrfValid(loginToken(ctx), ctx.cookie(ConsoleSession.NONCE_COOKIE), presented)) {
                log.warn("Console refused {} {} by {}: missing or wrong anti-forgery token", ctx.method(), ctx.path(),
                        caller.name());
                error(ctx, 403, "Refused: the request did not come from this console page (anti-forgery token "
                        + "missing or wrong). Reload the page and try again.");
                return;
            }
            guarded(ctx, () -> view.render(ctx, caller), false);
        };
    }

    private interface Body {
        void run() throws Exception;
    }

    private void guarded(Context ctx, Body body, boolean fullPage) {
        try {
            body.run();
        } catch (InvalidStateStoreException | MsxRetriableException e) {
            error(ctx, 503, "The master cannot answer now (starting, rebalancing, or Kafka unreachable); it is "
                    + "retried. " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            error(ctx, 503, "The master is shutting down.");
        } catch (Exception e) {
            String ref = UUID.randomUUID().toString().substring(0, 8);
            log.warn("Console {} {} failed (ref {})", ctx.method(), ctx.path(), ref, e);
            error(ctx, 500, "Something went wrong on the master (reference " + ref + " in its log).");
        }
    }

    private void error(Context ctx, int status, String message) {
        render(ctx.status(status), "error.jte", message);
    }

    private void render(Context ctx, String template, Object model) {
        StringOutput out = new StringOutput();
        templates.render(template, model, out);
        ctx.contentType("text/html; charset=utf-8").header("Cache-Control", "no-store").result(out.toString());
    }

    /**
     * A live fragment: 204 when the browser already shows this version (it sends the version it has), else the
     * fragment with its version.
     */
    private void renderLive(Context ctx, String template, Object model) {
        StringOutput out = new StringOutput();
        templates.render(template, model, out);
        String body = out.toString();
        CRC32 crc = new CRC32();
        crc.update(body.getBytes(StandardCharsets.UTF_8));
        String version = Long.toHexString(crc.getValue());
        ctx.header(VERSION_HEADER, version).header("Cache-Control", "no-store");
        if (version.equals(ctx.queryParam("seen"))) {
            ctx.status(204);
            return;
        }
        ctx.contentType("text/html; charset=utf-8").result(body);
    }

    private String loginToken(Context ctx) {
        return security.tokens().isEmpty() ? null : ctx.cookie(ConsoleSession.TOKEN_COOKIE);
    }

    private boolean https() {
        return "https".equals(security.scheme());
    }

    /** The frame of a page; gives an anonymous caller (no tokens) a nonce on first sight. */
    private Models.Page frame(Context ctx, Principal caller, String title, String tab) {
        String nonce = ctx.cookie(ConsoleSession.NONCE_COOKIE);
        if (nonce == null || nonce.isEmpty() || nonce.length() > ConsoleSession.MAX_VALUE_LENGTH) {
            nonce = session.newNonce();
            ctx.res().addHeader("Set-Cookie", ConsoleSession.cookie(ConsoleSession.NONCE_COOKIE, nonce, https()));
        }
        return new Models.Page(title, tab, caller.name(), caller.role().wireName(), ConsoleSession.mayAct(caller),
                security.tokens().isEmpty(), ConsoleSession.csrfToken(loginToken(ctx), nonce));
    }

    /** Asks a view, forwarding the caller's token to any other instance the view is gathered from. */
    private <T> T query(Context ctx, Supplier<T> view) {
        String token = loginToken(ctx);
        String authorization = ctx.header("Authorization");
        if (authorization == null && token != null) {
            authorization = "Bearer " + token;
        }
        return Peers.onBehalfOf(authorization, view);
    }

    private void asset(Context ctx) {
        byte[] bytes = assets.get(ctx.pathParam("name"));
        if (bytes == null) {
            ctx.status(404).result("not found");
            return;
        }
        String name = ctx.pathParam("name");
        ctx.contentType(name.endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8")
                .header("Cache-Control", "max-age=300").result(bytes);
    }

    // ---- login

    private void loginPage(Context ctx, String problem, int status) {
        if (security.tokens().isEmpty()) {
            ctx.redirect("/console/targets");
            return;
        }
        render(ctx.status(status), "login.jte", new Models.Login(problem, https()));
    }

    private void login(Context ctx) {
        if (security.tokens().isEmpty()) {
            ctx.redirect("/console/targets", io.javalin.http.HttpStatus.SEE_OTHER);
            return;
        }
        String token = ctx.formParam("token");
        token = token == null ? null : token.strip();
        Optional<Principal> who = ConsoleSession.cookieSafe(token) ? security.tokens().get().authenticate(token)
                : Optional.empty();
        if (who.isEmpty()) {
            log.info("Console login refused from {}", ctx.ip());
            loginPage(ctx, "That token is not known here (mistyped, revoked, or from another installation).", 401);
            return;
        }
        log.info("Console login by token '{}' ({} role)", who.get().name(), who.get().role().wireName());
        ctx.res().addHeader("Set-Cookie", ConsoleSession.cookie(ConsoleSession.TOKEN_COOKIE, token, https()));
        ctx.res().addHeader("Set-Cookie", ConsoleSession.cookie(ConsoleSession.NONCE_COOKIE, session.newNonce(),
                https()));
        ctx.redirect("/console/targets", io.javalin.http.HttpStatus.SEE_OTHER);
    }

    private void logout(Context ctx) {
        ctx.res().addHeader("Set-Cookie", ConsoleSession.expired(ConsoleSession.TOKEN_COOKIE, https()));
        ctx.res().addHeader("Set-Cookie", ConsoleSession.expired(ConsoleSession.NONCE_COOKIE, https()));
        ctx.redirect(security.tokens().isEmpty() ? "/console/targets" : "/console/login",
                io.javalin.http.HttpStatus.SEE_OTHER);
    }

    // ---- targets

    private TargetRows.Query targetQuery(Context ctx) {
        return TargetRows.Query.of(ctx.queryParam("status"), ctx.queryParam("group"), ctx.queryParam("q"),
                ctx.queryParam("sort"));
    }

    /**
     * The rows; {@code selected} names are ticked. The live refresh sends only the filter and sort (the page's
     * script keeps the boxes ticked across refreshes), so its URL stays short however many targets are ticked.
     */
    private Models.TargetRowsFragment rows(Context ctx, Principal caller, List<TargetView> targets,
                                           Set<String> selected) {
        TargetRows.Query q = targetQuery(ctx);
        return new Models.TargetRowsFragment(TargetRows.rows(targets, q, selected), TargetRows.count(targets, q),
                targets.size(), ConsoleSession.mayAct(caller));
    }

    private void targetsPage(Context ctx, Principal caller) {
        List<TargetView> targets = query(ctx, () -> api.targets(false));
        render(ctx, "targets.jte", new Models.Targets(frame(ctx, caller, "Targets", "targets"), targetQuery(ctx),
                STATUSES, List.copyOf(TargetRows.groups(targets)), rows(ctx, caller, targets,
                new LinkedHashSet<>(bounded(ctx.queryParams("target"))))));
    }

    private void targetRows(Context ctx, Principal caller) {
        List<TargetView> targets = query(ctx, () -> api.targets(false));
        renderLive(ctx, "targetRows.jte", rows(ctx, caller, targets, Set.of()));
    }

    private static List<String> bounded(List<String> values) {
        return values.stream().filter(v -> v != null && !v.isBlank() && v.length() <= 249).limit(MAX_SELECTED)
                .toList();
    }

    private void targetAction(Context ctx, Principal caller) throws Exception {
        String action = ctx.formParam("action");
        List<String> targets = bounded(ctx.formParams("target"));
        String issuedBy = "rest:" + caller.name();
        long deadline = System.nanoTime() + ACTION_WAIT.toNanos();
        List<Models.Result> results = new ArrayList<>();
        if (action == null) {
            render(ctx.status(400), "results.jte", Models.Results.error("No action named."));
            return;
        }
        if (targets.isEmpty() && !action.equals("accept")) {
            render(ctx.status(400), "results.jte", Models.Results.error("Select one or more targets first."));
            return;
        }
        switch (action) {
            case "force-poll" -> results.add(submit("ForcePoll", targetsNode(targets), null, issuedBy, deadline));
            case "sync-clocks" -> results.add(submit("SyncClocks", targetsNode(targets), null, issuedBy, deadline));
            case "resync" -> results.add(submit("ResyncTargets", targetsNode(targets), null, issuedBy, deadline));
            case "set-interval" -> {
                int seconds;
                try {
                    seconds = Integer.parseInt(String.valueOf(ctx.formParam("intervalSeconds")).strip());
                } catch (NumberFormatException e) {
                    render(ctx.status(400), "results.jte",
                            Models.Results.error("The polling interval must be a whole number of seconds."));
                    return;
                }
                ObjectNode command = targetsNode(targets);
                command.put("intervalSeconds", seconds);
                results.add(submit("SetPollingInterval", command, null, issuedBy, deadline));
            }
            case "defect" -> results.addAll(submitAll(targets.stream().map(target -> (java.util.concurrent.Callable<
                    Models.Result>) () -> submit("DefectTarget", json.createObjectNode().put("target", target)
                    .put("force", true), target, issuedBy, deadline)).toList(), targets));
            case "accept" -> {
                String target = ctx.formParam("acceptTarget");
                String fingerprint = target == null ? null : ctx.formParam("fp-" + target);
                if (target == null || fingerprint == null) {
                    render(ctx.status(400), "results.jte",
                            Models.Results.error("Accept needs the target and the key fingerprint it presented."));
                    return;
                }
                ObjectNode command = json.createObjectNode().put("target", target).put("keyFingerprint", fingerprint);
                results.add(submit("AcceptTarget", command, target, issuedBy, deadline));
            }
            default -> {
                render(ctx.status(400), "results.jte", Models.Results.error("Unknown action."));
                return;
            }
        }
        List<Models.PollWatch> polls = results.stream().flatMap(r -> r.polls().stream()).toList();
        render(ctx, "results.jte", new Models.Results(results, null, polls.isEmpty() ? null : watch(polls, 0, 1)));
    }

    /** How many times (a second apart) a results fragment asks whether its force polls were answered. */
    static final int POLL_WATCH_ROUNDS = 90;
    /** Force polls one watch follows at most (the first ones). */
    static final int POLL_WATCH_MAX = 200;
    /**
     * Characters of the watch's follow-up URL: it also stops following targets before its URL grows past this,
     * well within the HTTP server's 8 KiB request-header limit (with the cookies).
     */
    static final int POLL_WATCH_URL_MAX = 4096;

    /**
     * The watch of {@code polls}: the first ones (at most {@link #POLL_WATCH_MAX}, and as many as the follow-up
     * URL holds within {@link #POLL_WATCH_URL_MAX}); {@code more} others are not followed and the fragment says so.
     */
    static Models.Polls watch(List<Models.PollWatch> polls, int more, int round) {
        StringBuilder next = new StringBuilder("/console/targets/polls?n=").append(Math.min(round,
                POLL_WATCH_ROUNDS));
        List<Models.PollWatch> followed = new ArrayList<>();
        for (Models.PollWatch p : polls) {
            String id = "&id=" + java.net.URLEncoder.encode(p.target() + ":" + p.instructionId(),
                    StandardCharsets.UTF_8);
            if (followed.size() >= POLL_WATCH_MAX || next.length() + id.length() > POLL_WATCH_URL_MAX) {
                more++;
                continue;
            }
            next.append(id);
            followed.add(p);
        }
        boolean waiting = followed.stream().anyMatch(p -> !p.answered());
        if (!waiting) {
            return new Models.Polls(followed, null, false, more);
        }
        if (round > POLL_WATCH_ROUNDS) {
            return new Models.Polls(followed, null, true, more);
        }
        return new Models.Polls(followed, next.toString(), false, more);
    }

    private ObjectNode targetsNode(List<String> targets) {
        ObjectNode command = json.createObjectNode();
        ArrayNode array = command.putArray("targets");
        targets.forEach(array::add);
        return command;
    }

    /**
     * Runs {@code submits} (one command each, for {@code targets} in order) at the same time, all waiting for their
     * decisions until the one deadline they share; a command not even written by then says so.
     */
    private List<Models.Result> submitAll(List<java.util.concurrent.Callable<Models.Result>> submits,
                                          List<String> targets) throws Exception {
        List<java.util.concurrent.Future<Models.Result>> futures = new ArrayList<>();
        for (var s : submits) {
            futures.add(submitter.submit(s));
        }
        long until = System.nanoTime() + ACTION_WAIT.toNanos() + Duration.ofSeconds(2).toNanos();
        List<Models.Result> results = new ArrayList<>();
        for (int i = 0; i < futures.size(); i++) {
            try {
                results.add(futures.get(i).get(Math.max(0, until - System.nanoTime()),
                        java.util.concurrent.TimeUnit.NANOSECONDS));
            } catch (java.util.concurrent.TimeoutException e) {
                results.add(new Models.Result("DefectTarget", targets.get(i), "PENDING", "still being written to "
                        + "the commands topic; its row in the table shows when the master has decided it",
                        List.of(), List.of()));
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof Exception cause) {
                    throw cause;
                }
                throw e;
            }
        }
        return results;
    }

    /**
     * Builds a command exactly as {@code POST /commands} does (issuedBy {@code rest:<token name>}), submits it and
     * waits for its decision until {@code deadline} ({@link System#nanoTime()}).
     */
    private Models.Result submit(String type, ObjectNode command, String target, String issuedBy, long deadline)
            throws InterruptedException {
        CommandHeader header = CommandHeader.newBuilder().setCommandId(UUID.randomUUID())
                .setIssuedAt(clock.instant().truncatedTo(ChronoUnit.MILLIS)).setIssuedBy(issuedBy).build();
        ObjectNode body = json.createObjectNode().put("type", type);
        body.set("command", command);
        SpecificRecord record;
        try {
            record = CommandJson.read(body, header);
        } catch (IllegalArgumentException e) {
            return new Models.Result(type, target, "REFUSED", e.getMessage(), List.of(), List.of());
        }
        Optional<CommandResult> result = api.submit(record, Duration.ofNanos(Math.max(0,
                deadline - System.nanoTime())).truncatedTo(ChronoUnit.MILLIS));
        if (result.isEmpty()) {
            return new Models.Result(type, target, "PENDING", "written; the master has not decided it within "
                    + ACTION_WAIT.toSeconds() + " s (command " + header.getCommandId() + ")", List.of(), List.of());
        }
        CommandResult decided = result.get();
        List<String> posted = decided.getInstructions().stream().map(p -> p.getOperation() + " to "
                + p.getTarget()).toList();
        List<Models.PollWatch> polls = decided.getInstructions().stream().filter(p -> "POLL".equals(
                p.getOperation().toString())).map(p -> new Models.PollWatch(p.getTarget().toString(),
                p.getInstructionId().toString(), null)).toList();
        return new Models.Result(type, target, decided.getStatus().name(), decided.getReason() == null ? ""
                : decided.getReason().toString(), posted, polls);
    }

    /**
     * The force polls an action posted, each with the check-in that answered it once one has: {@code n} (the round,
     * clamped to 0..{@value #POLL_WATCH_ROUNDS}) and {@code id=<target>:<instruction id>} (duplicates dropped, at
     * most {@link #POLL_WATCH_MAX}). Once no check-in is awaited any more the answer is 286, htmx's "stop polling".
     */
    private void pollWatch(Context ctx, Principal caller) {
        List<Models.PollWatch> polls = new ArrayList<>();
        List<String> ids = ctx.queryParams("id").stream().filter(id -> id.length() <= 300).distinct().toList();
        for (String id : ids.stream().limit(POLL_WATCH_MAX).toList()) {
            int colon = id.lastIndexOf(':');
            if (colon < 1 || colon == id.length() - 1) {
                continue;
            }
            String target = id.substring(0, colon);
            String instruction = id.substring(colon + 1);
            List<InstructionView> found = query(ctx, () -> api.instructions(target, null, instruction, 1, false));
            String checkIn = found.isEmpty() || found.get(0).checkInAt() == null ? null
                    : Formats.utc(found.get(0).checkInAt());
            polls.add(new Models.PollWatch(target, instruction, checkIn));
        }
        int round;
        try {
            round = Math.max(0, Math.min(POLL_WATCH_ROUNDS, Integer.parseInt(String.valueOf(ctx.queryParam("n")))));
        } catch (NumberFormatException e) {
            round = POLL_WATCH_ROUNDS;
        }
        Models.Polls watch = watch(polls, Math.max(0, ids.size() - POLL_WATCH_MAX), round + 1);
        render(ctx.status(watch.next() == null ? 286 : 200), "polls.jte", watch);
    }

    // ---- download instructions

    private Models.InstructionRows instructionRowsModel(Context ctx) {
        String target = blankToNull(ctx.queryParam("target"));
        String job = blankToNull(ctx.queryParam("job"));
        List<InstructionView> found = query(ctx, () -> api.instructions(target, job, null, INSTRUCTIONS_LIMIT,
                false));
        List<Models.InstructionRow> rows = found.stream().sorted((a, b) -> compareNewestFirst(a.postedAt(),
                b.postedAt())).map(i -> new Models.InstructionRow(i.target(), i.operation(),
                i.object() == null ? "-" : i.object(), Formats.utc(i.postedAt()), i.status(),
                switch (i.status()) {
                    case "APPLIED" -> "ok";
                    case "FAILED" -> "bad";
                    default -> "warn";
                }, Formats.utc(i.appliedAt()), i.error() == null ? "" : i.error(), i.instructionId())).toList();
        return new Models.InstructionRows(rows, INSTRUCTIONS_LIMIT);
    }

    private static int compareNewestFirst(Instant a, Instant b) {
        if (a == null || b == null) {
            return a == null ? (b == null ? 0 : 1) : -1;
        }
        return b.compareTo(a);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip().length() > 249 ? s.strip().substring(0, 249) : s.strip();
    }

    private void instructionsPage(Context ctx, Principal caller) {
        List<String> targets = query(ctx, () -> api.targets(false)).stream().map(TargetView::name).sorted().toList();
        render(ctx, "instructions.jte", new Models.Instructions(frame(ctx, caller, "Download instructions",
                "instructions"), targets, blankToNull(ctx.queryParam("target")), blankToNull(ctx.queryParam("job")),
                instructionRowsModel(ctx)));
    }

    private void instructionRows(Context ctx, Principal caller) {
        renderLive(ctx, "instructionRows.jte", instructionRowsModel(ctx));
    }

    // ---- jobs

    private static Models.JobRow jobRow(JobView j) {
        return new Models.JobRow(j.jobId(), j.name() == null ? "" : j.name(), j.version(), j.enabled(),
                j.targets().isEmpty() ? "-" : String.join(", ", j.targets()), j.steps(),
                j.schedules().isEmpty() ? "-" : String.join(", ", j.schedules()));
    }

    private void jobsPage(Context ctx, Principal caller) {
        List<Models.JobRow> jobs = query(ctx, () -> api.jobs(false)).stream().map(Console::jobRow)
                .sorted((a, b) -> a.id().compareTo(b.id())).toList();
        render(ctx, "jobs.jte", new Models.Jobs(frame(ctx, caller, "Jobs", "jobs"), jobs));
    }

    private void jobPage(Context ctx, Principal caller) {
        String id = ctx.pathParam("id");
        Optional<JobDetail> job = query(ctx, () -> api.job(id, false));
        if (job.isEmpty()) {
            error(ctx, 404, "No job '" + id + "' is defined on this master.");
            return;
        }
        JobDetail j = job.get();
        Models.JobRow row = new Models.JobRow(j.jobId(), j.name() == null ? "" : j.name(), j.version(), j.enabled(),
                j.targets().isEmpty() ? "-" : String.join(", ", j.targets()), j.steps().size(),
                j.schedules().isEmpty() ? "-" : j.schedules().stream().map(JobDetail.Schedule::name)
                        .collect(java.util.stream.Collectors.joining(", ")));
        String historyTarget = blankToNull(ctx.queryParam("target"));
        render(ctx, "job.jte", new Models.Job(frame(ctx, caller, "Job " + id, "jobs"), row, j,
                j.targets(), historyTarget, historyModel(ctx, id, historyTarget)));
    }

    /**
     * A job's history: of the job's newest {@link #HISTORY_SOURCE_LIMIT} runs, the newest {@link #HISTORY_LIMIT} of
     * each target (or of {@code target} only), newest first.
     */
    private Models.History historyModel(Context ctx, String jobId, String target) {
        Optional<List<JobRunView>> runs = query(ctx, () -> api.history(jobId, HISTORY_SOURCE_LIMIT, false));
        return new Models.History(jobId, newestPerTarget(runs.orElse(List.of()), target, HISTORY_LIMIT).stream()
                .map(Console::run).toList(), HISTORY_LIMIT, runs.isPresent());
    }

    /** The newest {@code perTarget} runs of each target (of {@code target} alone when not null), newest first. */
    static List<JobRunView> newestPerTarget(List<JobRunView> runs, String target, int perTarget) {
        Map<String, Integer> kept = new java.util.HashMap<>();
        return runs.stream().filter(r -> target == null || target.equals(r.target()))
                .sorted((a, b) -> compareNewestFirst(a.startedAt(), b.startedAt()))
                .filter(r -> kept.merge(String.valueOf(r.target()), 1, Integer::sum) <= perTarget).toList();
    }

    static Models.Run run(JobRunView r) {
        List<Models.StepAttempt> steps = r.steps().stream().map(s -> new Models.StepAttempt(s.stepId() + "."
                + s.attempt(), s.name() == null ? "" : s.name(), s.status(), statusClass(s.status()),
                s.exitCode() == null ? "-" : s.exitCode().toString(), s.message() == null ? "" : s.message(),
                s.output() == null ? "" : s.output(), s.outputTruncated())).toList();
        return new Models.Run(r.target(), r.runId(), r.trigger(), r.status(), statusClass(r.status()),
                Formats.utc(r.startedAt()), Formats.duration(Duration.ofMillis(r.durationMillis())),
                r.message() == null ? "" : r.message(), steps);
    }

    private static String statusClass(String status) {
        return switch (status == null ? "" : status) {
            case "SUCCEEDED" -> "ok";
            case "FAILED" -> "bad";
            default -> "warn";
        };
    }

    private void history(Context ctx, Principal caller) {
        String id = ctx.pathParam("id");
        renderLive(ctx, "history.jte", historyModel(ctx, id, blankToNull(ctx.queryParam("target"))));
    }

    private void jobAction(Context ctx, Principal caller) throws InterruptedException {
        String id = ctx.pathParam("id");
        String action = ctx.formParam("action");
        List<String> targets = bounded(ctx.formParams("target"));
        if (!"start".equals(action) && !"stop".equals(action)) {
            render(ctx.status(400), "results.jte", Models.Results.error("Unknown action."));
            return;
        }
        String scope = ctx.formParam("scope");
        if (!"all".equals(scope) && !"selected".equals(scope)) {
            render(ctx.status(400), "results.jte", Models.Results.error("Say which targets: scope must be all or "
                    + "selected."));
            return;
        }
        if ("selected".equals(scope) && targets.isEmpty()) {
            render(ctx.status(400), "results.jte", Models.Results.error("Select one or more targets first, "
                    + "or use the button for all targets."));
            return;
        }
        ObjectNode command = targetsNode("all".equals(scope) ? List.of() : targets);
        command.put("jobId", id);
        Models.Result result = submit("start".equals(action) ? "StartJob" : "StopJob", command, null,
                "rest:" + caller.name(), System.nanoTime() + ACTION_WAIT.toNanos());
        render(ctx, "results.jte", new Models.Results(List.of(result), null, null));
    }
}
