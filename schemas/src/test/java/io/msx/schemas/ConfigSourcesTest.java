package io.msx.schemas;

import io.msx.config.ConfigSources;
import org.apache.kafka.common.config.ConfigDef;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigSourcesTest {

    private static final ConfigDef DEF = new ConfigDef()
            .define("poll.interval.ms", ConfigDef.Type.LONG, 60_000L, ConfigDef.Importance.HIGH, "interval")
            .define("target.name", ConfigDef.Type.STRING, ConfigDef.Importance.HIGH, "name");

    @TempDir
    Path dir;

    @Test
    void shouldPreferExplicitOverEnvironmentOverFile() throws Exception {
        Path file = dir.resolve("agent.properties");
        Files.writeString(file, "poll.interval.ms=10000\ntarget.name=fromFile\n");

        Map<String, Object> values = ConfigSources.resolve(DEF, Map.of("target.name", "explicit"), file,
                Map.of("MSX_POLL_INTERVAL_MS", "20000", "MSX_TARGET_NAME", "fromEnv"));

        assertThat(values).containsEntry("target.name", "explicit").containsEntry("poll.interval.ms", "20000");
    }

    @Test
    void shouldRefuseUnknownKeysInTheFile() throws Exception {
        Path file = dir.resolve("agent.properties");
        Files.writeString(file, "poll.intervl.ms=10000\n");
        assertThatThrownBy(() -> ConfigSources.resolve(DEF, Map.of(), file, Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("poll.intervl.ms");
    }
}
