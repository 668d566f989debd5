package io.msx.config;

import org.apache.kafka.common.config.ConfigDef;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Gathers the values of a {@link ConfigDef} from, in falling precedence: explicit values (command-line options),
 * environment variables ({@code poll.interval.ms} is {@code MSX_POLL_INTERVAL_MS}, as Kubernetes sets them), a
 * properties file, and the definition's defaults.
 */
public final class ConfigSources {

    private ConfigSources() {
    }

    /** The environment variable that carries a key. */
    public static String envName(String key) {
        return "MSX_" + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /**
     * Kafka's config-provider keys ({@code config.providers}, {@code config.providers.<name>.class} and
     * {@code .param.*}), taken from a file as they are: with them a value can be {@code ${dir:/secrets:password}}
     * ({@code DirectoryConfigProvider}, for Kubernetes-mounted secrets) or {@code ${env:NAME}}.
     */
    static boolean isConfigProviderKey(String key) {
        return key.equals("config.providers") || key.startsWith("config.providers.");
    }

    public static Map<String, Object> resolve(ConfigDef definition, Map<String, ?> explicit, Path file,
                                              Map<String, String> env) {
        Map<String, Object> values = new HashMap<>();
        if (file != null) {
            Properties properties = new Properties();
            try (Reader reader = Files.newBufferedReader(file)) {
                properties.load(reader);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read configuration file " + file, e);
            }
            for (String key : properties.stringPropertyNames()) {
                if (!definition.names().contains(key) && !isConfigProviderKey(key)) {
                    throw new IllegalArgumentException("unknown configuration key '" + key + "' in " + file);
                }
                values.put(key, properties.getProperty(key));
            }
        }
        for (String key : definition.names()) {
            String fromEnv = env.get(envName(key));
            if (fromEnv != null) {
                values.put(key, fromEnv);
            }
        }
        explicit.forEach((key, value) -> {
            if (value != null) {
                values.put(key, value);
            }
        });
        return values;
    }
}
