package io.msx.master.internal;

import com.fasterxml.jackson.core.type.TypeReference;
import io.msx.http.BearerTokens;
import io.msx.http.HttpSecurity;
import io.msx.http.MsxHttpServer;
import io.msx.http.TlsKeyStore;
import io.msx.local.LocalCa;
import org.apache.kafka.streams.state.HostInfo;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Instances ask each other over HTTPS, trusting their own keystore's chain, with the caller's token. */
class PeersTest {

    @TempDir
    Path dir;

    private MsxHttpServer peer;

    @AfterEach
    void close() {
        if (peer != null) {
            peer.close();
        }
    }

    @Test
    void shouldAskAPeerOverHttpsWithTheCallersToken() throws Exception {
        LocalCa.ServerFiles tls = LocalCa.writeLocalhost(dir.resolve("tls"));
        HttpSecurity security = HttpSecurity.none()
                .withTls(new TlsKeyStore(tls.keystore(), tls.password(), tls.type()))
                .withTokens(BearerTokens.load(Files.writeString(dir.resolve("tokens"),
                        "grafana read " + BearerTokens.sha256Hex("t") + "\n")));
        peer = new MsxHttpServer(new MsxHttpServer.Settings("peer", "127.0.0.1", 0, "msx-peer-http", 4, 10),
                security);
        peer.get("/groups", MsxHttpServer.Access.READ, ctx -> ctx.contentType("application/json")
                .result("[\"asked by " + MsxHttpServer.principal(ctx).orElseThrow().name() + "\"]"));
        peer.start();
        Peers peers = Peers.of(security);
        HostInfo address = new HostInfo("localhost", peer.port());

        List<String> answer = Peers.onBehalfOf("Bearer t", () -> peers.get(address, "/groups?scope=local",
                new TypeReference<List<String>>() { })).orElseThrow();

        assertThat(answer).containsExactly("asked by grafana");
        assertThatThrownBy(() -> peers.get(address, "/groups?scope=local", new TypeReference<List<String>>() { }))
                .as("no request to forward a token from").isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("answered HTTP 401");
        assertThatThrownBy(() -> new Peers().get(address, "/groups", new TypeReference<List<String>>() { }))
                .as("plain HTTP to a TLS peer").isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot be reached");
    }
}
