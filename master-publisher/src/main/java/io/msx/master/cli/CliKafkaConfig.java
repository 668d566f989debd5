package io.msx.master.cli;

import io.msx.config.ConfigSources;
import io.msx.config.MsxClientConfig;
import org.apache.kafka.common.config.ConfigDef;

import java.nio.file.Path;
import java.util.Map;

/**
 * The CLI's Kafka client settings: the shared keys (security among them), from {@code --command-config} and
 * {@code MSX_*} variables, as Kafka's own tools take {@code --command-config}.
 */
final class CliKafkaConfig extends MsxClientConfig {

    private static final ConfigDef DEFINITION = withCommonKeys(new ConfigDef());

    private CliKafkaConfig(Map<String, Object> values) {
        super(DEFINITION, values);
    }

    static CliKafkaConfig load(String bootstrapServers, Path file, Map<String, String> env) {
        return new CliKafkaConfig(ConfigSources.resolve(DEFINITION,
                java.util.Collections.singletonMap(BOOTSTRAP_SERVERS_CONFIG, bootstrapServers), file, env));
    }
}
