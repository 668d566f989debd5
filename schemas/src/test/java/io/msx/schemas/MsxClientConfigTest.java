package io.msx.schemas;

import io.msx.config.ConfigSources;
import io.msx.config.MsxClientConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MsxClientConfigTest {

    private static final ConfigDef DEF = MsxClientConfig.withCommonKeys(new ConfigDef());

    @TempDir
    Path dir;

    static final class Config extends MsxClientConfig {
        Config(Map<?, ?> values) {
            super(DEF, values);
        }
    }

    @Test
    void shouldPassKafkaSecurityKeysFromTheEnvironmentToEveryClient() {
        Map<String, Object> values = ConfigSources.resolve(DEF, Map.of("bootstrap.servers", "b:9093"), null,
                Map.of("MSX_SECURITY_PROTOCOL", "SASL_SSL", "MSX_SASL_MECHANISM", "SCRAM-SHA-512",
                        "MSX_SASL_JAAS_CONFIG", "org.apache.kafka.common.security.scram.ScramLoginModule required "
                                + "username=\"T1\" password=\"s3cret\";",
                        "MSX_SSL_TRUSTSTORE_LOCATION", "/etc/msx/ca.p12"));

        Map<String, Object> client = new Config(values).kafkaClientProperties();

        assertThat(client).containsEntry("bootstrap.servers", "b:9093").containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
                .containsEntry("ssl.truststore.location", "/etc/msx/ca.p12");
        assertThat(client.get("sasl.jaas.config")).isInstanceOf(Password.class);
        assertThat(((Password) client.get("sasl.jaas.config")).value()).contains("s3cret");
        assertThat(client).doesNotContainKey("ssl.keystore.location"); // not configured: not passed
    }

    @Test
    void shouldResolveMountedSecretsThroughKafkaConfigProviders() throws Exception {
        Path secrets = Files.createDirectories(dir.resolve("secrets"));
        Files.writeString(secrets.resolve("jaas"), "org.apache.kafka.common.security.scram.ScramLoginModule "
                + "required username=\"T1\" password=\"mounted\";");
        Path file = dir.resolve("agent.properties");
        Files.writeString(file, "config.providers=dir\n"
                + "config.providers.dir.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider\n"
                + "sasl.jaas.config=${dir:" + secrets + ":jaas}\n");

        Map<String, Object> client = new Config(ConfigSources.resolve(DEF, Map.of(), file, Map.of()))
                .kafkaClientProperties();

        assertThat(((Password) client.get("sasl.jaas.config")).value()).contains("password=\"mounted\"");
    }

    @Test
    void shouldRefuseAnUnknownSecurityProtocol() {
        assertThatThrownBy(() -> new Config(Map.of("security.protocol", "SASL_TLS")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("security.protocol");
    }
}
