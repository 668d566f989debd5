package io.msx.local;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on 127.0.0.1 for fault injection: forwards every connection to a target port until {@link #cut()},
 * which drops every open connection and closes each new one at once (the broker looks unreachable), until
 * {@link #restore()}. Kafka clients must reach the broker only through it, so the broker advertises the proxy's port
 * on the listener behind it.
 *
 * <p>Thread-safe. Threads: {@code msx-proxy-<port>-accept} and two pumps per connection. {@link #close()} is idempotent.
 */
public final class TcpProxy implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TcpProxy.class);

    private final ServerSocket server;
    private final int targetPort;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean cut = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicInteger connections = new AtomicInteger();
    private final Thread acceptor;

    /** Binds a free port now; forwards to {@code targetPort} once {@link #start()} is called. */
    public TcpProxy(int targetPort) {
        this.targetPort = targetPort;
        try {
            this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new LocalStackException("cannot bind a proxy port on 127.0.0.1: " + e.getMessage(), e);
        }
        this.acceptor = new Thread(this::acceptLoop, "msx-proxy-" + port() + "-accept");
        this.acceptor.setDaemon(true);
    }

    public void start() {
        acceptor.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Drops every connection and refuses new ones (accepts and closes them) until {@link #restore()}. */
    public void cut() {
        if (cut.compareAndSet(false, true)) {
            log.info("Proxy {} -> {}: cut ({} connections dropped)", port(), targetPort, open.size());
            open.forEach(TcpProxy::closeQuietly);
            open.clear();
        }
    }

    public void restore() {
        if (cut.compareAndSet(true, false)) {
            log.info("Proxy {} -> {}: restored", port(), targetPort);
        }
    }

    public boolean isCut() {
        return cut.get();
    }

    private void acceptLoop() {
        while (!closed.get()) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                if (!closed.get()) {
                    log.warn("Proxy {} stopped accepting: {}", port(), e.toString());
                }
                return;
            }
            if (cut.get()) {
                closeQuietly(client);
                continue;
            }
            try {
                Socket upstream = new Socket();
                upstream.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 5_000);
                open.add(client);
                open.add(upstream);
                int id = connections.incrementAndGet();
                pump(client, upstream, "msx-proxy-" + port() + "-c" + id + "-up");
                pump(upstream, client, "msx-proxy-" + port() + "-c" + id + "-down");
            } catch (IOException e) {
                closeQuietly(client);
            }
        }
    }

    private void pump(Socket from, Socket to, String name) {
        Thread thread = new Thread(() -> {
            byte[] buffer = new byte[16 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    out.write(buffer, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // one side closed or the proxy was cut: close both
            } finally {
                closeQuietly(from);
                closeQuietly(to);
                open.remove(from);
                open.remove(to);
            }
        }, name);
        thread.setDaemon(true);
        thread.start();
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        open.forEach(TcpProxy::closeQuietly);
        open.clear();
    }
}
