package io.msx.agent;

import io.msx.agent.internal.job.JobIsolation;
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
    public static final String INSTRUCTIONS_REQUIRE_SIGNATURE_CONFIG = "instructions.require.signature";
    public static final String INSTRUCTIONS_MAX_AGE_MS_CONFIG = "instructions.max.age.ms";
    public static final String HTTP_TLS_KEYSTORE_PATH_CONFIG = HttpSecurityConfig.TLS_KEYSTORE_PATH_CONFIG;
    public static final String HTTP_TLS_KEYSTORE_PASSWORD_CONFIG = HttpSecurityConfig.TLS_KEYSTORE_PASSWORD_CONFIG;
    public static final String HTTP_TLS_KEYSTORE_TYPE_CONFIG = HttpSecurityConfig.TLS_KEYSTORE_TYPE_CONFIG;
    public static final String HTTP_AUTH_TOKENS_FILE_CONFIG = HttpSecurityConfig.AUTH_TOKENS_FILE_CONFIG;

    public static final long MIN_POLL_INTERVAL_MS = Duration.ofSeconds(10).toMillis();
    public static final long MAX_POLL_INTERVAL_MS = Duration.ofHours(8).toMillis();

    public static final ConfigDef CONFIG_DEF = HttpSecurityConfig.define(withJobIsolationKeys(withCommonKeys(
            new ConfigDef())), "the /health and /metrics endpoints")
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
                            + "picks a free port.")
            .define(INSTRUCTIONS_REQUIRE_SIGNATURE_CONFIG, ConfigDef.Type.BOOLEAN, true, ConfigDef.Importance.HIGH,
                    "Apply only instructions signed by a master key in trusted.keys.file, addressed to this target, "
                            + "with a sequence number above the last applied; others are acknowledged FAILED with a "
                            + "'security:' reason and nothing of them runs. The agent refuses to start when this is "
                            + "true and no key is trusted. false (development only) applies unsigned instructions "
                            + "unless keys are trusted.")
            .define(INSTRUCTIONS_MAX_AGE_MS_CONFIG, ConfigDef.Type.LONG, Duration.ofDays(7).toMillis(),
                    ConfigDef.Range.atLeast(Duration.ofMinutes(1).toMillis()), ConfigDef.Importance.LOW,
                    "Oldest instruction (by the master's postedAt) a target applies; older ones are refused as "
                            + "expired. The default matches the target topics' retention.");

    public TargetAgentConfig(Map<String, ?> values) {
        super(CONFIG_DEF, values);
        checkJobIsolation();
    }

    /** Explicit values over {@code MSX_*} environment variables over the optional properties file. */
    public static TargetAgentConfig load(Map<String, ?> explicit, Path file, Map<String, String> env) {
        return new TargetAgentConfig(ConfigSources.resolve(CONFIG_DEF, explicit, file, env));
    }

    public boolean instructionsRequireSignature() {
        return getBoolean(INSTRUCTIONS_REQUIRE_SIGNATURE_CONFIG);
    }

    public Duration instructionsMaxAge() {
        return Duration.ofMillis(getLong(INSTRUCTIONS_MAX_AGE_MS_CONFIG));
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

    // ---- Job isolation: jobs.work.dir, jobs.env.*, jobs.run.as.user, jobs.allowed.commands ----

    public static final String JOBS_WORK_DIR_CONFIG = "jobs.work.dir";
    public static final String JOBS_ENV_PATH_CONFIG = "jobs.env.path";
    public static final String JOBS_ENV_LANG_CONFIG = "jobs.env.lang";
    public static final String JOBS_ENV_TZ_CONFIG = "jobs.env.tz";
    public static final String JOBS_ENV_PASSTHROUGH_CONFIG = "jobs.env.passthrough";
    public static final String JOBS_RUN_AS_USER_CONFIG = "jobs.run.as.user";
    public static final String JOBS_ALLOWED_COMMANDS_CONFIG = "jobs.allowed.commands";

    private static ConfigDef withJobIsolationKeys(ConfigDef definition) {
        return definition
                .define(JOBS_WORK_DIR_CONFIG, ConfigDef.Type.STRING, "", ConfigDef.Importance.MEDIUM,
                        "Working directory of job steps that name none (and the base of relative ones). Empty means "
                                + "<data.dir>-jobs, beside the data directory. It must not be the data directory, lie "
                                + "inside it or hold it: the agent refuses to start. Created owner-only when missing; "
                                + "given to jobs.run.as.user when that is set.")
                .define(JOBS_ENV_PATH_CONFIG, ConfigDef.Type.STRING, JobIsolation.DEFAULT_PATH,
                        new ConfigDef.NonEmptyString(), ConfigDef.Importance.LOW, "PATH of job step processes. "
                                + "Steps get a clean environment: PATH, HOME (the run-as user's home, else the work "
                                + "directory), LANG and TZ when set, the variables of jobs.env.passthrough, their "
                                + "own env, and the agent's MSX_JOB_ID, MSX_RUN_ID, MSX_STEP_ID, MSX_ATTEMPT_SEQ.")
                .define(JOBS_ENV_LANG_CONFIG, ConfigDef.Type.STRING, "", ConfigDef.Importance.LOW,
                        "LANG of job step processes; empty leaves it unset.")
                .define(JOBS_ENV_TZ_CONFIG, ConfigDef.Type.STRING, "", ConfigDef.Importance.LOW,
                        "TZ of job step processes; empty leaves it unset.")
                .define(JOBS_ENV_PASSTHROUGH_CONFIG, ConfigDef.Type.LIST, "", passthroughNames(),
                        ConfigDef.Importance.LOW, "Names of the agent's own environment variables passed on to job "
                                + "steps (nothing else of it is). Names starting with MSX_ (the agent's settings) are "
                                + "refused.")
                .define(JOBS_RUN_AS_USER_CONFIG, ConfigDef.Type.STRING, "", userName(), ConfigDef.Importance.MEDIUM,
                        "User (name or uid) job steps run as, through util-linux setpriv (--reuid, --regid, "
                                + "--init-groups); empty runs them as the agent's own user. The agent must run as "
                                + "root to switch, and refuses to start when it cannot (no such user, no setpriv, "
                                + "not root).")
                .define(JOBS_ALLOWED_COMMANDS_CONFIG, ConfigDef.Type.LIST, "", commandPatterns(),
                        ConfigDef.Importance.MEDIUM, "Executables job steps may run, as absolute paths or glob "
                                + "patterns (java.nio glob: * stays within a directory, ** crosses them; no commas). "
                                + "A step's program is found as execvp would (on the step's PATH when it has no "
                                + "slash) and its real path, symlinks resolved, must match an entry: list "
                                + "/usr/bin/dash, not a /bin/sh link to it. Otherwise the step fails without "
                                + "starting, and a job naming such a program is refused when it is stored. Empty "
                                + "allows any executable.");
    }

    /** Default working directory of job steps: jobs.work.dir, or {@code <data.dir>-jobs}. */
    public Path jobsWorkDir() {
        String configured = getString(JOBS_WORK_DIR_CONFIG);
        return configured.isBlank() ? JobIsolation.defaultWorkDir(dataDir()) : Path.of(configured);
    }

    public String jobsEnvPath() {
        return getString(JOBS_ENV_PATH_CONFIG);
    }

    /** LANG of step processes, or null. */
    public String jobsEnvLang() {
        String lang = getString(JOBS_ENV_LANG_CONFIG);
        return lang.isBlank() ? null : lang;
    }

    /** TZ of step processes, or null. */
    public String jobsEnvTz() {
        String tz = getString(JOBS_ENV_TZ_CONFIG);
        return tz.isBlank() ? null : tz;
    }

    public java.util.List<String> jobsEnvPassthrough() {
        return getList(JOBS_ENV_PASSTHROUGH_CONFIG);
    }

    /** The user steps run as, or null for the agent's own. */
    public String jobsRunAsUser() {
        String user = getString(JOBS_RUN_AS_USER_CONFIG).trim();
        return user.isEmpty() ? null : user;
    }

    /** Patterns a step's program must match; empty: any. */
    public java.util.List<String> jobsAllowedCommands() {
        return getList(JOBS_ALLOWED_COMMANDS_CONFIG);
    }

    /** The work directory apart from the data directory, as the paths are now (the start checks again). */
    private void checkJobIsolation() {
        Path work;
        try {
            work = jobsWorkDir();
        } catch (IllegalArgumentException e) {
            throw new ConfigException(JOBS_WORK_DIR_CONFIG, "", e.getMessage());
        }
        if (JobIsolation.overlap(work, dataDir())) {
            throw new ConfigException("the job work directory " + work.toAbsolutePath().normalize() + " ("
                    + JOBS_WORK_DIR_CONFIG + ") overlaps the agent's data directory "
                    + dataDir().toAbsolutePath().normalize() + " (" + DATA_DIR_CONFIG + "): job steps must not reach "
                    + "the agent's state; use a directory outside it");
        }
    }

    private static ConfigDef.Validator passthroughNames() {
        return (name, value) -> {
            for (Object item : (java.util.List<?>) value) {
                String variable = item.toString();
                if (variable.isEmpty() || variable.indexOf('=') >= 0 || variable.indexOf('\0') >= 0) {
                    throw new ConfigException(name, value, "'" + variable + "' is not an environment variable name");
                }
                if (variable.toUpperCase(java.util.Locale.ROOT).startsWith(JobIsolation.RESERVED_PREFIX)) {
                    throw new ConfigException(name, value, variable + " starts with " + JobIsolation.RESERVED_PREFIX
                            + ": the agent's own settings (credentials among them) are never passed to job steps");
                }
            }
        };
    }

    private static ConfigDef.Validator userName() {
        return (name, value) -> {
            String user = ((String) value).trim();
            if (user.chars().anyMatch(c -> c == ':' || Character.isWhitespace(c) || c == 0)) {
                throw new ConfigException(name, value, "not a user name or uid");
            }
        };
    }

    private static ConfigDef.Validator commandPatterns() {
        return (name, value) -> {
            for (Object item : (java.util.List<?>) value) {
                String entry = item.toString();
                if (!entry.startsWith("/")) {
                    throw new ConfigException(name, value, "'" + entry + "' is not an absolute path or pattern");
                }
                try {
                    java.nio.file.FileSystems.getDefault().getPathMatcher("glob:" + entry);
                } catch (RuntimeException e) {
                    throw new ConfigException(name, value, "'" + entry + "' is not a valid glob pattern: "
                            + e.getMessage());
                }
            }
        };
    }

    // ---- end of job isolation ----

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
