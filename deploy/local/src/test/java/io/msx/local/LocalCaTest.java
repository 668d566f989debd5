package io.msx.local;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LocalCaTest {

    @TempDir
    Path dir;

    @Test
    void shouldWriteAKeystoreWhoseChainEndsInTheWrittenCa() throws Exception {
        LocalCa.ServerFiles files = LocalCa.writeLocalhost(dir);

        KeyStore store = KeyStore.getInstance(files.type());
        try (InputStream in = Files.newInputStream(files.keystore())) {
            store.load(in, files.password().toCharArray());
        }
        Certificate[] chain = store.getCertificateChain("server");
        X509Certificate ca = readPem(files.caPem());
        assertThat(chain).hasSize(2);
        X509Certificate server = (X509Certificate) chain[0];
        server.verify(ca.getPublicKey());
        assertThat(server.getSubjectAlternativeNames().stream().map(n -> (Object) n.get(1)).toList())
                .containsExactlyInAnyOrder("localhost", "127.0.0.1");
        assertThat(server.getBasicConstraints()).isEqualTo(-1);
        assertThat(ca.getBasicConstraints()).isZero();
        assertThat(chain[1]).isEqualTo(ca);
    }

    @Test
    void shouldServeHttpsThatAClientTrustingTheCaAcceptsAndOthersRefuse() throws Exception {
        LocalCa.ServerFiles files = LocalCa.writeLocalhost(dir);
        HttpsServer server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(serverContext(files)));
        server.createContext("/", exchange -> {
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        server.start();
        try {
            for (String host : List.of("127.0.0.1", "localhost")) {
                URI uri = URI.create("https://" + host + ":" + server.getAddress().getPort() + "/");
                HttpClient trusting = HttpClient.newBuilder().sslContext(clientContext(files.caPem())).build();
                assertThat(trusting.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.discarding())
                        .statusCode()).as(host).isEqualTo(204);
                assertThatThrownBy(() -> HttpClient.newHttpClient().send(HttpRequest.newBuilder(uri).build(),
                        HttpResponse.BodyHandlers.discarding())).as(host).isInstanceOf(SSLHandshakeException.class);
            }
        } finally {
            server.stop(0);
        }
    }

    @Test
    void shouldIssueCertificatesForOtherNames() throws Exception {
        LocalCa ca = LocalCa.create("test CA");

        LocalCa.Issued issued = ca.issueServer(List.of("master-0.msx.svc", "10.0.0.7"));

        issued.certificate().verify(ca.certificate().getPublicKey());
        assertThat(issued.certificate().getSubjectX500Principal().getName()).isEqualTo("CN=master-0.msx.svc");
        assertThat(issued.certificate().getSubjectAlternativeNames()).extracting(n -> n.get(0), n -> n.get(1))
                .containsExactly(org.assertj.core.groups.Tuple.tuple(2, "master-0.msx.svc"),
                        org.assertj.core.groups.Tuple.tuple(7, "10.0.0.7"));
        assertThatThrownBy(() -> ca.issueServer(List.of())).isInstanceOf(IllegalArgumentException.class);
    }

    private static SSLContext serverContext(LocalCa.ServerFiles files) throws Exception {
        KeyStore store = KeyStore.getInstance(files.type());
        try (InputStream in = Files.newInputStream(files.keystore())) {
            store.load(in, files.password().toCharArray());
        }
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(store, files.password().toCharArray());
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keys.getKeyManagers(), null, null);
        return context;
    }

    private static SSLContext clientContext(Path caPem) throws Exception {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        trust.setCertificateEntry("ca", readPem(caPem));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        return context;
    }

    private static X509Certificate readPem(Path file) throws Exception {
        try (InputStream in = Files.newInputStream(file)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }
}
