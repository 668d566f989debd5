package io.msx.local;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.common.utils.Time;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * Entry point of the test-only Kafka image ({@code msx-test-kafka}): one KRaft node secured like {@link EmbeddedKafka}
 * (SASL SCRAM-SHA-512 clients, ACLs, super-user {@code admin}), its client listener on port 9092 of every interface.
 * Environment: {@code MSX_KAFKA_ADMIN_PASSWORD} (required), {@code MSX_KAFKA_ADVERTISED_HOST} (default: the host
 * name, which is the container's network alias in a test), {@code MSX_KAFKA_DATA_DIR} (default
 * {@code /var/lib/msx/kafka}; formatted on first start, reused after). Prints {@link #STARTED_LINE} once serving.
 */
public final class KafkaContainerMain {

    public static final String STARTED_LINE = "msx-test-kafka started";
    public static final int CLIENT_PORT = 9092;
    private static final int CONTROLLER_PORT = 9093;
    private static final String CLUSTER_ID = "bXN4LXRlc3Qta2Fma2EtMQ"; // fixed: a restart reuses the formatted dir

    private KafkaContainerMain() {
    }

    public static void main(String[] args) throws IOException {
        String password = System.getenv("MSX_KAFKA_ADMIN_PASSWORD");
        if (password == null || password.isBlank()) {
            System.err.println("msx-test-kafka: set MSX_KAFKA_ADMIN_PASSWORD (the super-user admin's password)");
            System.exit(2);
        }
        String host = envOr("MSX_KAFKA_ADVERTISED_HOST", InetAddress.getLocalHost().getHostName());
        Path dataDir = Path.of(envOr("MSX_KAFKA_DATA_DIR", "/var/lib/msx/kafka"));
        KafkaSecurity security = KafkaSecurity.withAdminPassword(password);

        Properties props = EmbeddedKafka.brokerProperties(dataDir.resolve("log"), CLIENT_PORT, CONTROLLER_PORT);
        props.put("listeners", "PLAINTEXT://0.0.0.0:" + CLIENT_PORT + ",CONTROLLER://127.0.0.1:" + CONTROLLER_PORT);
        props.put("advertised.listeners", "PLAINTEXT://" + host + ":" + CLIENT_PORT);
        security.applyTo(props, "CONTROLLER", "PLAINTEXT");
        Files.createDirectories(dataDir);
        Path configFile = dataDir.resolve("server.properties");
        try (OutputStream out = Files.newOutputStream(configFile)) {
            props.store(out, "msx-test-kafka");
        }

        List<String> format = new ArrayList<>(List.of("format", "--ignore-formatted", "--cluster-id", CLUSTER_ID,
                "--config", configFile.toString(), "--add-scram", security.scramFormatArgument()));
        int rc = StorageTool.execute(format.toArray(String[]::new), System.out);
        if (rc != 0) {
            System.err.println("msx-test-kafka: formatting " + dataDir + " failed (exit " + rc + ")");
            System.exit(1);
        }
        KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown, "msx-test-kafka-shutdown"));
        server.startup();
        System.out.println(STARTED_LINE + " on " + host + ":" + CLIENT_PORT);
        System.out.flush();
        server.awaitShutdown();
    }

    private static String envOr(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? fallback : value;
    }
}
