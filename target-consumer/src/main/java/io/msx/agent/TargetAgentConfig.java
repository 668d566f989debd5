package io.msx.agent;

import io.msx.config.ConfigSources;
import io.msx.schemas.Topics;
import io.msx.config.MsxClientConfig;
import io.msx.http.HttpSecurity;
import io.msx.http.HttpSecurityConfig;
import io.msx.spool.StatusSpoolConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;

import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.ZoneId;
import java.util.Map;

/**
 * Configuration of a {@link TargetAgent}. Every key is defined once in {@link #CONFIG_DEF} with its type, default,
 * validator and documentation; {@link ConfigSources} maps environment variables onto them.
 */
public final class TargetAgentConfig extends MsxClientConfig {

    public static final String TARGET_NAME_CONFIG = "target.name";
    public static final String POLL_INTERVAL_MS_CONFIG = "poll.interval.ms";
    public static final String DATA_DIR_CONFIG = "data.dir";
    public static final String LOCATION_CONFIG = "location";
    public static final String TIME_ZONE_CONFIG = "time.zone";
    public static final String SPOOL_MAX_BYTES_CONFIG = StatusSpoolConfig.SPOOL_MAX_BYTES_CONFIG;
    public static final String JOBS_MAX_CONCURRENT_CONFIG = "jobs.max.concurrent";
    public static final String JOB_OUTCOME_MAX_BYTES_CONFIG = "job.outcome.max.bytes";
    public static final String SPOOL_RESERVED_BYTES_CONFIG = StatusSpoolConfig.SPOOL_RESERVED_BYTES_CONFIG;
    public static final String SHUTDOWN_GRACE_MS_CONFIG = "shutdown.grace.ms";
    public static final String HTTP_HOST_CONFIG = "http.host";
    public static final String HTTP_PORT_CONFIG = "http.port";
    public static final String HTTP_TLS_KEYSTORE_PATH_CONFIG = HttpSecurityConfig.TLS_KEYSTORE_PATH_CONFIG;
    public static final String HTTP_TLS_KEYSTORE_PASSWORD_CONFIG = HttpSecurityConfig.TLS_KEYSTORE_PASSWORD_CONFIG;
    public static final String HTTP_TLS_KEYSTORE_TYPE_CONFIG = HttpSecurityConfig.TLS_KEYSTORE_TYPE_CONFIG;
    public static final String HTTP_AUTH_TOKENS_FILE_CONFIG = HttpSecurityConfig.AUTH_TOKENS_FILE_CONFIG;

    public static final long MIN_POLL_INTERVAL_MS = Duration.ofSeconds(10).toMillis();
    public static final long MAX_POLL_INTERVAL_MS = Duration.ofHours(8).toMillis();

    public static final ConfigDef CONFIG_DEF = HttpSecurityConfig.define(withCommonKeys(new ConfigDef()),
            "the /health and /metrics endpoints")
            .define(TARGET_NAME_CONFIG, ConfigDef.Type.STRING, ConfigDef.NO_DEFAULT_VALUE, targetNameValidator(),
                    ConfigDef.Importance.HIGH, "Name of this target server; its instructions come from "
                            + "<topic.prefix>target.<name>.")
            .define(POLL_INTERVAL_MS_CONFIG, ConfigDef.Type.LONG, Duration.ofSeconds(60).toMillis(),
                    ConfigDef.Range.between(MIN_POLL_INTERVAL_MS, MAX_POLL_INTERVAL_MS), ConfigDef.Importance.MEDIUM,
                    "Milliseconds between check-ins until the master sets another interval (10 s to 8 h).")
            .define(DATA_DIR_CONFIG, ConfigDef.Type.STRING, "msx-agent-data", new ConfigDef.NonEmptyString(),
                    ConfigDef.Importance.HIGH, "Directory of the agent's local state.")
            .define(LOCATION_CONFIG, ConfigDef.Type.STRING, "", ConfigDef.Importance.LOW,
                    "Where the target is, shown to operators.")
            .define(TIME_ZONE_CONFIG, ConfigDef.Type.STRING, "", zone(), ConfigDef.Importance.LOW,
                    "IANA time zone of the target's local time; empty means the system's.")
            .define(SPOOL_MAX_BYTES_CONFIG, ConfigDef.Type.LONG,
                    StatusSpoolConfig.CONFIG_DEF.defaultValues().get(StatusSpoolConfig.SPOOL_MAX_BYTES_CONFIG),
                    ConfigDef.Range.atLeast(1024), ConfigDef.Importance.MEDIUM,
                    "Bytes of status events the agent keeps while the broker is unreachable; beyond it status "
                            + "events are refused loudly (never dropped silently).")
            .define(SPOOL_RESERVED_BYTES_CONFIG, ConfigDef.Type.LONG,
                    StatusSpoolConfig.CONFIG_DEF.defaultValues().get(StatusSpoolConfig.SPOOL_RESERVED_BYTES_CONFIG),
                    ConfigDef.Range.atLeast(0), ConfigDef.Importance.LOW, "Part of spool.max.bytes (at most half) "
                            + "kept for outcomes of runs already started and for check-ins: once the rest is used, "
                            + "acknowledgements wait and new runs are refused (SKIPPED) until the spool drains.")
            .define(JOB_OUTCOME_MAX_BYTES_CONFIG, ConfigDef.Type.INT, 256 * 1024,
                    ConfigDef.Range.between(16 * 1024, 900 * 1024), ConfigDef.Importance.LOW, "Encoded size of one "
                            + "job outcome at most (under Kafka's 1 MiB request size): outputs, then messages, then "
                            + "middle attempts are cut with an explicit marker; every attempt's exit code is kept.")
            .define(JOBS_MAX_CONCURRENT_CONFIG, ConfigDef.Type.INT, 4, ConfigDef.Range.between(1, 256),
                    ConfigDef.Importance.MEDIUM, "Job runs at the same time at most (different jobs; a job never "
                            + "runs twice at once).")
            .define(SHUTDOWN_GRACE_MS_CONFIG, ConfigDef.Type.LONG, 30_000L, ConfigDef.Range.atLeast(0),
                    ConfigDef.Importance.MEDIUM, "On shutdown, how long running job steps may go on before they are "
                            + "canceled.")
            .define(HTTP_HOST_CONFIG, ConfigDef.Type.STRING, "127.0.0.1", ConfigDef.Importance.LOW,
                    "Interface of the /health and /metrics endpoints (0.0.0.0 in a container).")
            .define(HTTP_PORT_CONFIG, ConfigDef.Type.INT, -1, ConfigDef.Range.between(-1, 65535),
                    ConfigDef.Importance.MEDIUM, "Port of the /health and /metrics endpoints; -1 turns them off, 0 "
                            + "picks a free port.");

    public TargetAgentConfig(Map<String, ?> values) {
        super(CONFIG_DEF, values);
    }

    /** Explicit values over {@code MSX_*} environment variables over the optional properties file. */
    public static TargetAgentConfig load(Map<String, ?> explicit, Path file, Map<String, String> env) {
        return new TargetAgentConfig(ConfigSources.resolve(CONFIG_DEF, explicit, file, env));
    }

    public String targetName() {
        return getString(TARGET_NAME_CONFIG);
    }

    public Duration pollInterval() {
        return Duration.ofMillis(getLong(POLL_INTERVAL_MS_CONFIG));
    }

    public Path dataDir() {
        return Path.of(getString(DATA_DIR_CONFIG));
    }

    public String location() {
        String location = getString(LOCATION_CONFIG);
        return location.isBlank() ? null : location;
    }

    /** The spool's settings: its directory under data.dir, its bound, and the agent's own state. */
    public StatusSpoolConfig spool(java.util.List<String> stateColumnFamilies) {
        return new StatusSpoolConfig(Map.of(
                StatusSpoolConfig.SPOOL_DIR_CONFIG, dataDir().resolve("spool").toString(),
                StatusSpoolConfig.SPOOL_MAX_BYTES_CONFIG, getLong(SPOOL_MAX_BYTES_CONFIG),
                StatusSpoolConfig.SPOOL_RESERVED_BYTES_CONFIG, getLong(SPOOL_RESERVED_BYTES_CONFIG),
                StatusSpoolConfig.SPOOL_STATE_COLUMN_FAMILIES_CONFIG, String.join(",", stateColumnFamilies)));
    }

    public String httpHost() {
        return getString(HTTP_HOST_CONFIG);
    }

    public int httpPort() {
        return getInt(HTTP_PORT_CONFIG);
    }

    /**
     * TLS and bearer tokens of the /health and /metrics endpoints, from the http.tls.* and http.auth.* keys.
     *
     * @throws org.apache.kafka.common.config.ConfigException when the keystore or the tokens file is unusable
     */
    public HttpSecurity httpSecurity() {
        return HttpSecurityConfig.security(this);
    }

    /** Budget of one job outcome's encoded size. */
    public int jobOutcomeMaxBytes() {
        return getInt(JOB_OUTCOME_MAX_BYTES_CONFIG);
    }

    public int jobsMaxConcurrent() {
        return getInt(JOBS_MAX_CONCURRENT_CONFIG);
    }

    public Duration shutdownGrace() {
        return Duration.ofMillis(getLong(SHUTDOWN_GRACE_MS_CONFIG));
    }

    public ZoneId timeZone() {
        String zone = getString(TIME_ZONE_CONFIG);
        return zone.isBlank() ? ZoneId.systemDefault() : ZoneId.of(zone);
    }

    private static ConfigDef.Validator targetNameValidator() {
        return (name, value) -> {
            try {
                Topics.requireValidTargetName((String) value);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(name, value, e.getMessage());
            }
        };
    }

    private static ConfigDef.Validator zone() {
        return (name, value) -> {
            String zone = (String) value;
            if (zone != null && !zone.isBlank()) {
                try {
                    ZoneId.of(zone);
                } catch (DateTimeException e) {
                    throw new ConfigException(name, value, "not an IANA time zone: " + e.getMessage());
                }
            }
        };
    }
}
