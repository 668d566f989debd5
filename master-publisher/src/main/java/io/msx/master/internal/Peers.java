package io.msx.master.internal;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.msx.http.ClientTls;
import io.msx.http.HttpSecurity;
import org.apache.kafka.streams.state.HostInfo;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Asks another master instance for what its stores hold ({@code ?scope=local}), found through Kafka Streams'
 * {@code application.server} metadata. Instances share their configuration: over HTTPS when this one serves HTTPS,
 * trusting the certificates of this instance's own keystore chain (so every instance's certificate must come from
 * the same CA and name its {@code advertised.host}); and with the bearer token of the request being answered
 * ({@link #onBehalfOf}), so a peer authorizes the caller as this instance did. Thread-safe.
 */
public final class Peers {

    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    /** The Authorization header of the request this thread answers, forwarded to peers. */
    private static final ThreadLocal<String> AUTHORIZATION = new ThreadLocal<>();

    private final HttpClient http;
    private final String scheme;
    private final ObjectMapper json = Json.mapper();

    /** Plain HTTP, no token of its own. */
    Peers() {
        this(HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build(), "http");
    }

    private Peers(HttpClient http, String scheme) {
        this.http = http;
        this.scheme = scheme;
    }

    /** Peers reached as this instance is reached: HTTPS (trusting its own keystore's chain) when it has TLS. */
    public static Peers of(HttpSecurity security) {
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3));
        security.tls().ifPresent(tls -> builder.sslContext(ClientTls.trusting(tls.chainCertificates())));
        return new Peers(builder.build(), security.scheme());
    }

    /**
     * Runs {@code query} forwarding {@code authorization} (the caller's {@code Authorization} header, or null) to
     * every peer it asks on this thread.
     */
    public static <T> T onBehalfOf(String authorization, Supplier<T> query) {
        String before = AUTHORIZATION.get();
        AUTHORIZATION.set(authorization);
        try {
            return query.get();
        } finally {
            if (before == null) {
                AUTHORIZATION.remove();
            } else {
                AUTHORIZATION.set(before);
            }
        }
    }

    /**
     * GETs {@code path} (which carries {@code scope=local}) from a peer.
     *
     * @return empty on 404
     * @throws IllegalStateException when the peer cannot be reached or answers with an error
     */
    <T> Optional<T> get(HostInfo peer, String path, TypeReference<T> type) {
        URI uri = URI.create(scheme + "://" + peer.host() + ":" + peer.port() + path);
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(TIMEOUT).GET();
        String authorization = AUTHORIZATION.get();
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        HttpResponse<byte[]> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new IllegalStateException("master instance " + peer.host() + ":" + peer.port()
                    + " holding part of the views cannot be reached: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while asking " + uri, e);
        }
        if (response.statusCode() == 404) {
            return Optional.empty();
        }
        if (response.statusCode() != 200) {
            throw new IllegalStateException("master instance " + peer.host() + ":" + peer.port() + " answered HTTP "
                    + response.statusCode() + " for " + path);
        }
        try {
            return Optional.of(json.readValue(response.body(), type));
        } catch (IOException e) {
            throw new IllegalStateException("answer of " + uri + " is not valid: " + e.getMessage(), e);
        }
    }
}
