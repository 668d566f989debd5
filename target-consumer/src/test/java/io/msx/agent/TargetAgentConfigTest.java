package io.msx.agent;

import io.msx.agent.internal.job.JobIsolation;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The job isolation keys: defaults, validation, environment variables, and the agent refusing to start. */
class TargetAgentConfigTest {

    @TempDir
    Path dir;

    private Map<String, Object> values(Object... more) {
        Map<String, Object> values = new HashMap<>(Map.of(TargetAgentConfig.TARGET_NAME_CONFIG, "T1",
                TargetAgentConfig.DATA_DIR_CONFIG, dir.resolve("data").toString()));
        values.putAll(io.msx.security.TestKeys.agentSettings());
        for (int i = 0; i < more.length; i += 2) {
            values.put((String) more[i], more[i + 1]);
        }
        return values;
    }

    @Test
    void shouldDefaultToACleanEnvironmentAnyExecutableTheAgentsUserAndAWorkDirectoryBesideTheData() {
        TargetAgentConfig config = new TargetAgentConfig(values());

        assertThat(config.jobsWorkDir()).isEqualTo(dir.resolve("data-jobs"));
        assertThat(config.jobsEnvPath()).isEqualTo("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        assertThat(config.jobsEnvLang()).isNull();
        assertThat(config.jobsEnvTz()).isNull();
        assertThat(config.jobsEnvPassthrough()).isEmpty();
        assertThat(config.jobsRunAsUser()).isNull();
        assertThat(config.jobsAllowedCommands()).isEmpty();
    }

    @Test
    void shouldReadTheKeysFromMsxEnvironmentVariables() {
        TargetAgentConfig config = TargetAgentConfig.load(Map.of(), null, Map.of(
                "MSX_TARGET_NAME", "T1",
                "MSX_DATA_DIR", dir.resolve("data").toString(),
                "MSX_JOBS_WORK_DIR", dir.resolve("work").toString(),
                "MSX_JOBS_ENV_PATH", "/usr/bin:/bin",
                "MSX_JOBS_ENV_LANG", "C.UTF-8",
                "MSX_JOBS_ENV_TZ", "UTC",
                "MSX_JOBS_ENV_PASSTHROUGH", "HTTPS_PROXY,NO_PROXY",
                "MSX_JOBS_RUN_AS_USER", "nobody",
                "MSX_JOBS_ALLOWED_COMMANDS", "/usr/bin/env,/opt/jobs/**"));

        assertThat(config.jobsWorkDir()).isEqualTo(dir.resolve("work"));
        assertThat(config.jobsEnvPath()).isEqualTo("/usr/bin:/bin");
        assertThat(config.jobsEnvLang()).isEqualTo("C.UTF-8");
        assertThat(config.jobsEnvTz()).isEqualTo("UTC");
        assertThat(config.jobsEnvPassthrough()).containsExactly("HTTPS_PROXY", "NO_PROXY");
        assertThat(config.jobsRunAsUser()).isEqualTo("nobody");
        assertThat(config.jobsAllowedCommands()).containsExactly("/usr/bin/env", "/opt/jobs/**");
    }

    @Test
    void shouldRefuseToPassTheAgentsOwnSettingsThrough() {
        for (String name : List.of("MSX_SASL_JAAS_CONFIG", "msx_bootstrap_servers")) {
            assertThatThrownBy(() -> new TargetAgentConfig(values(TargetAgentConfig.JOBS_ENV_PASSTHROUGH_CONFIG,
                    "HTTPS_PROXY," + name)))
                    .as(name).isInstanceOf(ConfigException.class).hasMessageContaining(name)
                    .hasMessageContaining("never passed to job steps");
        }
        assertThatThrownBy(() -> new TargetAgentConfig(values(TargetAgentConfig.JOBS_ENV_PASSTHROUGH_CONFIG,
                "A=B"))).isInstanceOf(ConfigException.class);
    }

    @Test
    void shouldRefuseRelativeOrInvalidAllowedCommands() {
        assertThatThrownBy(() -> new TargetAgentConfig(values(TargetAgentConfig.JOBS_ALLOWED_COMMANDS_CONFIG,
                "/usr/bin/env,touch"))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("'touch' is not an absolute path or pattern");
        assertThatThrownBy(() -> new TargetAgentConfig(values(TargetAgentConfig.JOBS_ALLOWED_COMMANDS_CONFIG,
                "/usr/bin/[a-"))).isInstanceOf(ConfigException.class).hasMessageContaining("not a valid glob");
    }

    @Test
    void shouldRefuseAWorkDirectoryThatIsTheDataDirectoryOrInsideIt() {
        for (Path work : List.of(dir.resolve("data"), dir.resolve("data/jobs"), dir)) {
            assertThatThrownBy(() -> new TargetAgentConfig(values(TargetAgentConfig.JOBS_WORK_DIR_CONFIG,
                    work.toString()))).as(work.toString()).isInstanceOf(ConfigException.class)
                    .hasMessageContaining("job work directory " + work)
                    .hasMessageContaining("data directory " + dir.resolve("data"));
        }
    }

    @Test
    void shouldNotStartWhenTheWorkDirectoryIsASymlinkIntoTheDataDirectory() throws Exception {
        TargetAgentConfig config = new TargetAgentConfig(values(TargetAgentConfig.JOBS_WORK_DIR_CONFIG,
                dir.resolve("jobs").toString()));
        // a symlink made after the configuration was read: the start checks again
        Files.createSymbolicLink(dir.resolve("jobs"), Files.createDirectories(dir.resolve("data/inner")));
        TargetAgent agent = new TargetAgent(config, Clock.systemUTC());

        assertThatThrownBy(agent::start).isInstanceOf(TargetAgentException.class)
                .hasMessageContaining(dir.resolve("jobs").toString())
                .hasMessageContaining(dir.resolve("data").toString());
        assertThat(agent.state()).isEqualTo(TargetAgent.State.STOPPED);
        assertThat(dir.resolve("data/spool")).as("nothing opened").doesNotExist();
    }

    @Test
    void shouldNotStartWhenTheRunAsUserDoesNotExist() {
        TargetAgent agent = new TargetAgent(new TargetAgentConfig(values(TargetAgentConfig.JOBS_RUN_AS_USER_CONFIG,
                "msx-no-such-user")), Clock.systemUTC());

        assertThatThrownBy(agent::start).isInstanceOf(TargetAgentException.class)
                .hasMessageContaining("msx-no-such-user");
        assertThat(agent.state()).isEqualTo(TargetAgent.State.STOPPED);
    }

    @Test
    void shouldTakeTheAllowListKeyNameFromTheConfiguration() {
        assertThat(JobIsolation.ALLOWED_COMMANDS_KEY).isEqualTo(TargetAgentConfig.JOBS_ALLOWED_COMMANDS_CONFIG);
    }
}
