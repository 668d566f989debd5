package io.msx.master.internal;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.streams.state.HostInfo;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;

/**
 * Asks another master instance for what its stores hold ({@code ?scope=local}), found through Kafka Streams'
 * {@code application.server} metadata. Thread-safe.
 */
final class Peers {

    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
    private final ObjectMapper json = Json.mapper();

    /**
     * GETs {@code path} (which carries {@code scope=local}) from a peer.
     *
     * @return empty on 404
     * @throws IllegalStateException when the peer cannot be reached or answers with an error
     */
    <T> Optional<T> get(HostInfo peer, String path, TypeReference<T> type) {
        URI uri = URI.create("http://" + peer.host() + ":" + peer.port() + path);
        HttpResponse<byte[]> response;
        try {
            response = http.send(HttpRequest.newBuilder(uri).timeout(TIMEOUT).GET().build(),
                    HttpResponse.BodyHandlers.ofByteArray());
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
