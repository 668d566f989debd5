package io.msx.http;

import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.ExceptionHandler;
import io.javalin.http.Handler;
import io.javalin.security.RouteRole;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.BlockingArrayQueue;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An msx HTTP server: Javalin on Jetty with a bounded, named thread pool (one acceptor, one selector, the rest
 * workers; requests beyond the queue are refused), HTTPS only when {@link HttpSecurity#tls()} is set, and bearer
 * tokens checked before every route by the route's {@link Access}. The constructor binds the port (so a taken port
 * fails there, and {@link #port()} is known before {@link #start()}); requests are served after {@code start()}.
 *
 * <p>Without tokens every route is open to everyone and {@link #principal} is {@link Principal#ANONYMOUS}. With
 * tokens: no or an unknown token is answered 401 with {@code WWW-Authenticate: Bearer}, a known token whose role is
 * too small 403; {@link Access#OPEN} routes answer anyone (the handler asks {@link #principal} whether to say
 * more).
 *
 * <p>{@link #tokenCookie} lets requests under one path prefix (the web console) carry the same token in a cookie
 * instead of the header; it is checked by the same tokens and roles. Such routes must guard their state-changing
 * requests against cross-site forgery themselves (the cookie is sent by the browser, the header is not).
 *
 * <p>Routes are added before {@code start()}. Thread-safe after that; {@link #close()} is idempotent.
 */
public final class MsxHttpServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(MsxHttpServer.class);
    private static final String PRINCIPAL = "msx.principal";

    /** Who may call a route. */
    public enum Access implements RouteRole {
        /**
         * Everyone, tokens or not (probes); a valid token makes {@link #principal} present, so the handler may say
         * more to a known caller.
         */
        OPEN(null),
        READ(Role.READ),
        OPERATOR(Role.OPERATOR);

        private final Role role;

        Access(Role role) {
            this.role = role;
        }
    }

    /**
     * @param description what the server is, for logs ("REST API")
     * @param threadName  prefix of its threads' names ({@code msx-master-m1-http})
     * @param maxThreads  threads at most, including one acceptor and one selector (at least 3)
     * @param queue       requests waiting for a worker at most; more are refused
     */
    public record Settings(String description, String host, int port, String threadName, int maxThreads, int queue) {
        public Settings {
            if (maxThreads < 3) {
                throw new IllegalArgumentException("an HTTP server needs at least 3 threads, not " + maxThreads);
            }
        }
    }

    private final Settings settings;
    private final HttpSecurity security;
    private final Javalin app;
    private final ServerConnector connector;
    private final ScheduledExecutorScheduler scheduler;
    private final AtomicBoolean started = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile String cookiePathPrefix;
    private volatile String cookieName;

    /**
     * Builds the server and binds its port.
     *
     * @throws UncheckedIOException when the port cannot be bound (the message names host and port)
     */
    public MsxHttpServer(Settings settings, HttpSecurity security) {
        this.settings = settings;
        this.security = security;
        QueuedThreadPool threads = new QueuedThreadPool(settings.maxThreads(), Math.min(2, settings.maxThreads()),
                60_000, 0, new BlockingArrayQueue<>(settings.queue(), 0, settings.queue()), null);
        threads.setName(settings.threadName());
        this.app = Javalin.create(config -> {
            config.showJavalinBanner = false;
            config.startupWatcherEnabled = false;
            config.jetty.threadPool = threads;
            config.http.prefer405over404 = true;
        });
        Server server = app.jettyServer().server();
        // The one timer thread every Jetty part uses (connector, sessions, low-resource monitor), named like ours;
        // managed by the server (stopped with it), started in start() before the parts that look for it.
        this.scheduler = new ScheduledExecutorScheduler(settings.threadName() + "-scheduler", false);
        server.addBean(scheduler, true);
        this.connector = new ServerConnector(server, null, scheduler, null, 1, 1, connectionFactories(security));
        connector.setHost(settings.host());
        connector.setPort(settings.port());
        server.setConnectors(new Connector[] {connector});
        try {
            connector.open();
        } catch (IOException e) {
            connector.close();
            throw new UncheckedIOException("cannot listen on " + settings.host() + ":" + settings.port() + ": "
                    + e.getMessage(), e);
        }
        app.beforeMatched(this::authorize);
        app.exception(Denied.class, (e, ctx) -> {
            if (e.status == 401) {
                ctx.header("WWW-Authenticate", e.invalidToken ? "Bearer realm=\"msx\", error=\"invalid_token\""
                        : "Bearer realm=\"msx\"");
            }
            error(ctx, e.status, e.getMessage());
        });
        app.exception(Exception.class, (e, ctx) -> {
            log.warn("{} {} {} failed: {}", settings.description(), ctx.method(), ctx.path(), e.toString());
            error(ctx, 500, e.toString());
        });
    }

    private static ConnectionFactory[] connectionFactories(HttpSecurity security) {
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setUriCompliance(UriCompliance.RFC3986);
        if (security.tls().isEmpty()) {
            return new ConnectionFactory[] {new HttpConnectionFactory(http)};
        }
        TlsKeyStore keyStore = security.tls().get();
        SslContextFactory.Server tls = new SslContextFactory.Server();
        tls.setKeyStore(keyStore.load());
        tls.setKeyStorePassword(keyStore.password());
        // Clients reach a server by IP as often as by name; the certificate's SANs are checked by the client.
        http.addCustomizer(new SecureRequestCustomizer(false, false, -1, false));
        return new ConnectionFactory[] {new SslConnectionFactory(tls, HttpVersion.HTTP_1_1.asString()),
                new HttpConnectionFactory(http)};
    }

    /** Adds a GET route; {@code path} in Javalin syntax ({@code /targets/{name}}). */
    public MsxHttpServer get(String path, Access access, Handler handler) {
        app.get(path, handler, access);
        return this;
    }

    /** Adds a POST route. */
    public MsxHttpServer post(String path, Access access, Handler handler) {
        app.post(path, handler, access);
        return this;
    }

    /**
     * Lets requests whose path starts with {@code pathPrefix} present their bearer token in cookie {@code name} when
     * they send no {@code Authorization} header. Call before {@link #start()}.
     */
    public MsxHttpServer tokenCookie(String pathPrefix, String name) {
        this.cookiePathPrefix = pathPrefix;
        this.cookieName = name;
        return this;
    }

    /**
     * Sets {@code headers} on every response to a request whose path starts with {@code pathPrefix}, whatever its
     * status (refusals and errors included). Call before {@link #start()}.
     */
    public MsxHttpServer responseHeaders(String pathPrefix, java.util.Map<String, String> headers) {
        java.util.Map<String, String> copy = java.util.Map.copyOf(headers);
        app.before(ctx -> {
            if (ctx.path().startsWith(pathPrefix)) {
                copy.forEach(ctx::header);
            }
        });
        return this;
    }

    /** Maps an exception a handler throws to a response (more specific types win). */
    public <E extends Exception> MsxHttpServer exception(Class<E> type, ExceptionHandler<? super E> handler) {
        app.exception(type, handler);
        return this;
    }

    /** Starts serving; logs a WARN when no tokens protect the server. */
    public void start() {
        if (closed.get() || !started.compareAndSet(false, true)) {
            throw new IllegalStateException(settings.description() + " cannot start twice or after close");
        }
        try {
            scheduler.start();
        } catch (Exception e) {
            throw new IllegalStateException(settings.description() + " cannot start its scheduler: " + e, e);
        }
        app.start();
        String auth = security.tokens().map(t -> t.size() + " bearer token(s) from " + t.source())
                .orElse("no authentication");
        log.info("{} listening on {}://{}:{} ({})", settings.description(), scheme(), settings.host(), port(), auth);
        if (security.tokens().isEmpty()) {
            log.warn("{} has no authentication: set {}", settings.description(),
                    HttpSecurityConfig.AUTH_TOKENS_FILE_CONFIG);
        }
    }

    /** The bound port (the actual one when configured as 0). */
    public int port() {
        return connector.getLocalPort();
    }

    /** {@code https} or {@code http}. */
    public String scheme() {
        return security.scheme();
    }

    /**
     * Who made the request: present when the server has no tokens (ANONYMOUS) or the request carried a valid one;
     * empty only on {@link Access#OPEN} routes.
     */
    public static Optional<Principal> principal(Context ctx) {
        return Optional.ofNullable(ctx.attribute(PRINCIPAL));
    }

    /** Answers {@code {"error": message}} with {@code status}. */
    public static void error(Context ctx, int status, String message) {
        ctx.status(status).contentType("application/json").result("{\"error\":" + quote(message) + "}");
    }

    private void authorize(Context ctx) {
        Access access = ctx.routeRoles().stream().filter(Access.class::isInstance).map(Access.class::cast)
                .findFirst().orElse(Access.OPERATOR); // a route without an access rule is the strictest
        if (security.tokens().isEmpty()) {
            ctx.attribute(PRINCIPAL, Principal.ANONYMOUS);
            return;
        }
        String header = ctx.header("Authorization");
        String prefix = cookiePathPrefix;
        // Under the cookie's path a bearer header wins; any other scheme (Basic from a proxy or SSO in front of
        // the master) is not ours, so the cookie decides there
        boolean bearerHeader = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7);
        if (!bearerHeader && prefix != null && ctx.path().startsWith(prefix)) {
            header = null;
            String cookie = ctx.cookie(cookieName);
            if (cookie != null && !cookie.isBlank()) {
                header = "Bearer " + cookie;
            }
        }
        Optional<Principal> principal = Optional.empty();
        String problem;
        boolean invalidToken = false;
        if (header == null || header.isBlank()) {
            problem = "no bearer token: send 'Authorization: Bearer <token>'";
        } else if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            problem = "the Authorization header is not 'Bearer <token>'";
        } else {
            principal = security.tokens().get().authenticate(header.substring(7).strip());
            problem = "the bearer token is not known here (revoked, or from another installation?)";
            invalidToken = true;
        }
        if (principal.isEmpty()) {
            if (access == Access.OPEN) {
                return;
            }
            throw new Denied(401, problem, invalidToken);
        }
        Principal caller = principal.get();
        if (access.role != null && !caller.role().includes(access.role)) {
            throw new Denied(403, "token '" + caller.name() + "' has the " + caller.role().wireName() + " role; "
                    + ctx.method() + " " + ctx.endpointHandlerPath() + " needs " + access.role.wireName(), false);
        }
        ctx.attribute(PRINCIPAL, caller);
    }

    /** A refused request: 401 or 403. */
    private static final class Denied extends RuntimeException {
        final int status;
        final boolean invalidToken;

        Denied(int status, String message, boolean invalidToken) {
            super(message, null, false, false);
            this.status = status;
            this.invalidToken = invalidToken;
        }
    }

    /** A JSON string literal. */
    static String quote(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }

    /** Stops serving and releases the port and threads; idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (started.get()) {
            app.stop();
        } else {
            connector.close();
        }
    }
}
