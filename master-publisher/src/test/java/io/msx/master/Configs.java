package io.msx.master;

import io.msx.agent.TargetAgentConfig;
import io.msx.local.KafkaProcessStack;
import io.msx.local.LocalStack;
import io.msx.security.TestKeys;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The configurations the master's integration tests build, in one place: Kafka client settings for the secured local
 * stack (its super-user's SASL SCRAM credentials) or a plaintext child broker, masters that sign with the test key and
 * agents that trust it ({@link TestKeys}), the {@code msx} CLI's connection options, and properties files of the same
 * settings for child JVMs and {@code --command-config}.
 */
final class Configs {

    /** Per broker (bootstrap servers), the CLI's {@code --command-config} file with its security settings. */
    private static final Map<String, Path> COMMAND_CONFIGS = new ConcurrentHashMap<>();

    private Configs() {
    }

    /** The local stack's super-user client settings, with {@code overrides} (key, value, key, value...). */
    static Map<String, Object> kafka(LocalStack stack, Object... overrides) {
        return with(stack.adminClientProperties(), overrides);
    }

    /** A child broker's client settings (its super-user), with {@code overrides}. */
    static Map<String, Object> kafka(KafkaProcessStack stack, Object... overrides) {
        return with(stack.adminClientProperties(), overrides);
    }

    private static Map<String, Object> with(Map<String, Object> base, Object... overrides) {
        Map<String, Object> all = new HashMap<>(base);
        for (int i = 0; i < overrides.length; i += 2) {
            all.put((String) overrides[i], overrides[i + 1]);
        }
        return all;
    }

    /**
     * A master on the local stack, as a mutable map to add to: connected as the super-user, signing with the test key,
     * its REST API on a free port.
     */
    static Map<String, Object> master(LocalStack stack, String topicPrefix, String masterId) {
        Map<String, Object> config = master(stack.bootstrapServers(), stack.schemaRegistryUrl(), topicPrefix, masterId);
        config.putAll(stack.adminSecuritySettings());
        return config;
    }

    /** A master on a (secured) child broker, as its super-user. */
    static Map<String, Object> master(KafkaProcessStack stack, String topicPrefix, String masterId) {
        Map<String, Object> config = master(stack.bootstrapServers(), stack.schemaRegistryUrl(), topicPrefix, masterId);
        config.putAll(stack.adminSecuritySettings());
        return config;
    }

    private static Map<String, Object> master(String bootstrapServers, String registryUrl, String topicPrefix,
                                              String masterId) {
        Map<String, Object> config = new HashMap<>(Map.of(
                MasterConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                MasterConfig.SCHEMA_REGISTRY_URL_CONFIG, registryUrl,
                MasterConfig.TOPIC_PREFIX_CONFIG, topicPrefix,
                MasterConfig.MASTER_ID_CONFIG, masterId,
                MasterConfig.HTTP_PORT_CONFIG, 0));
        config.putAll(TestKeys.masterSettings());
        return config;
    }

    /**
     * An agent of {@code target} on the local stack, as a mutable map to add to: connected as the super-user,
     * trusting the test master key.
     */
    static Map<String, Object> agent(LocalStack stack, String topicPrefix, String target, Path dataDir) {
        Map<String, Object> config = new HashMap<>(Map.of(
                TargetAgentConfig.TARGET_NAME_CONFIG, target,
                TargetAgentConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
                TargetAgentConfig.SCHEMA_REGISTRY_URL_CONFIG, stack.schemaRegistryUrl(),
                TargetAgentConfig.TOPIC_PREFIX_CONFIG, topicPrefix,
                TargetAgentConfig.DATA_DIR_CONFIG, dataDir.toString()));
        config.putAll(stack.adminSecuritySettings());
        config.putAll(TestKeys.agentSettings());
        // the target's key outside its data directory: a reinstalled target (data directory wiped) keeps it
        config.put(TargetAgentConfig.SIGNING_KEY_FILE_CONFIG, targetKeyFile(target).toString());
        return config;
    }

    private static final Path TARGET_KEYS;

    static {
        try {
            TARGET_KEYS = java.nio.file.Files.createTempDirectory("msx-it-target-keys-");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The signing key file of {@code target} in this JVM's tests (created on first use). */
    static synchronized Path targetKeyFile(String target) {
        Path file = TARGET_KEYS.resolve(target + ".key");
        io.msx.security.Ed25519Keys.readOrCreate(file);
        return file;
    }

    /** The signer of {@code target}'s status events in this JVM's tests. */
    static io.msx.security.Signer targetKey(String target) {
        return io.msx.security.Signer.fromFile(targetKeyFile(target));
    }

    /**
     * The {@code msx} CLI's connection options for a master on the local stack: bootstrap servers, registry, the
     * master's REST API, the topic prefix and {@code --command-config} with the super-user's credentials.
     */
    static List<String> cli(LocalStack stack, String topicPrefix, MasterPublisher master) {
        return List.of("--bootstrap-servers", stack.bootstrapServers(),
                "--schema-registry-url", stack.schemaRegistryUrl(),
                "--master-url", "http://127.0.0.1:" + master.httpPort(),
                "--topic-prefix", topicPrefix,
                "--command-config", commandConfig(stack).toString());
    }

    /** A properties file of the local stack's security settings (the CLI's {@code --command-config}). */
    static Path commandConfig(LocalStack stack) {
        return COMMAND_CONFIGS.computeIfAbsent(stack.bootstrapServers(), b -> {
            try {
                Path file = Files.createTempFile("msx-command-config-", ".properties");
                file.toFile().deleteOnExit();
                return write(stack.adminSecuritySettings(), file);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /** Writes {@code settings} to {@code file} as properties, e.g. what a child master loads as its config file. */
    static Path write(Map<String, ?> settings, Path file) {
        Properties p = new Properties();
        settings.forEach((k, v) -> p.setProperty(k, String.valueOf(v)));
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            p.store(out, "msx test settings");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }
}
