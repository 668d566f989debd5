package io.msx.master.cli;

import io.msx.http.ClientTls;
import io.msx.master.client.MasterClient;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.schemas.SchemaRegistryConfig;
import io.msx.schemas.Topics;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where Kafka, the schema registry and the master are, and how to reach the master's REST API (token, trusted CA,
 * commands over REST or Kafka); each also read from an {@code MSX_*} variable.
 */
public final class ConnectionOptions {

    /** How commands reach the master. */
    enum SubmitVia { kafka, rest }

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT",
            defaultValue = "${env:MSX_BOOTSTRAP_SERVERS:-127.0.0.1:9092}",
            description = "Kafka bootstrap servers (env MSX_BOOTSTRAP_SERVERS; default ${DEFAULT-VALUE}).")
    String bootstrapServers;

    @Option(names = "--schema-registry-url", paramLabel = "URL",
            defaultValue = "${env:MSX_SCHEMA_REGISTRY_URL:-http://127.0.0.1:8080/apis/ccompat/v7}",
            description = "Confluent-compatible schema registry API (env MSX_SCHEMA_REGISTRY_URL; default "
                    + "${DEFAULT-VALUE}).")
    String schemaRegistryUrl;

    @Option(names = "--schema-registry-user-info", paramLabel = "USER:PASSWORD",
            defaultValue = "${env:MSX_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO}",
            description = "Basic auth for the schema registry (env MSX_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO).")
    String schemaRegistryUserInfo;

    @Option(names = "--master-url", paramLabel = "URL", defaultValue = "${env:MSX_MASTER_URL:-http://127.0.0.1:8780}",
            description = "The master's REST API (env MSX_MASTER_URL; default ${DEFAULT-VALUE}).")
    String masterUrl;

    @Option(names = "--topic-prefix", paramLabel = "PREFIX", defaultValue = "${env:MSX_TOPIC_PREFIX:-msx.}",
            description = "Prefix of every msx topic (env MSX_TOPIC_PREFIX; default ${DEFAULT-VALUE}).")
    String topicPrefix;

    @Option(names = "--command-config", paramLabel = "FILE", defaultValue = "${env:MSX_COMMAND_CONFIG}",
            description = "Properties file of Kafka client settings: security.protocol, sasl.*, ssl.*, config "
                    + "providers (env MSX_COMMAND_CONFIG; each key also from its MSX_* variable, e.g. "
                    + "MSX_SASL_JAAS_CONFIG).")
    Path commandConfig;

    @Option(names = "--signing-key-file", paramLabel = "FILE", defaultValue = "${env:MSX_SIGNING_KEY_FILE}",
            description = "Operator's Ed25519 private key (msx keys generate): commands are signed with it, and the "
                    + "master records its fingerprint as who issued them (env MSX_SIGNING_KEY_FILE).")
    Path signingKeyFile;

    /** The operator's signer, or null when no key is configured. */
    io.msx.security.Signer signer() {
        return signingKeyFile == null ? null : io.msx.security.Signer.fromFile(signingKeyFile);
    }

    /** Settings for the Kafka clients: the bootstrap servers and the security keys from the file and environment. */
    Map<String, Object> kafka() {
        return CliKafkaConfig.load(bootstrapServers, commandConfig, System.getenv()).kafkaClientProperties();
    }

    @Option(names = "--token-file", paramLabel = "FILE", defaultValue = "${env:MSX_TOKEN_FILE}",
            description = "File holding the bearer token for the master's REST API (env MSX_TOKEN_FILE). Wins over "
                    + "env MSX_TOKEN, which holds the token itself.")
    Path tokenFile;

    @Option(names = "--ca-file", paramLabel = "PEM", defaultValue = "${env:MSX_CA_FILE}",
            description = "CA certificate(s), PEM, to trust for an https:// --master-url (env MSX_CA_FILE); default: "
                    + "the JVM's trusted CAs.")
    Path caFile;

    @Option(names = "--submit-via", paramLabel = "kafka|rest", defaultValue = "${env:MSX_SUBMIT_VIA:-kafka}",
            description = "How commands reach the master: kafka (written to the commands topic; needs Kafka and the "
                    + "registry) or rest (POST /commands; needs an operator token, and the master records the "
                    + "token's name as who issued it). Env MSX_SUBMIT_VIA; default ${DEFAULT-VALUE}.")
    SubmitVia submitVia;

    /** A client of the master's REST API with these options' token and trust. */
    MasterClient master() {
        return new MasterClient(masterUrl, token(), caFile == null ? null : ClientTls.trustingPem(caFile));
    }

    /**
     * The bearer token: the first line of --token-file, else env MSX_TOKEN, else none.
     *
     * @throws IllegalArgumentException when the token file cannot be read or is empty
     */
    String token() {
        if (tokenFile != null) {
            try {
                String token = Files.readString(tokenFile).strip().lines().findFirst().orElse("").strip();
                if (token.isEmpty()) {
                    throw new IllegalArgumentException("token file " + tokenFile + " is empty");
                }
                return token;
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read token file " + tokenFile + ": " + e);
            }
        }
        String token = System.getenv("MSX_TOKEN");
        return token == null || token.isBlank() ? null : token.strip();
    }

    Topics topics() {
        return new Topics(topicPrefix);
    }

    SchemaRegistryClient registry() {
        return new SchemaRegistryClient(SchemaRegistryConfig.of(schemaRegistryUrl).withBasicAuth(schemaRegistryUserInfo));
    }
}
