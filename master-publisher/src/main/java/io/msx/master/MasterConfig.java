package io.msx.master;

import io.msx.config.ConfigSources;
import io.msx.config.MsxClientConfig;
import io.msx.http.HttpSecurity;
import io.msx.http.HttpSecurityConfig;
import org.apache.kafka.common.config.ConfigDef;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/** Configuration of a {@link MasterPublisher}; keys defined once in {@link #CONFIG_DEF}. */
public final class MasterConfig extends MsxClientConfig {

    public static final String MASTER_ID_CONFIG = "master.id";
    public static final String HTTP_HOST_CONFIG = "http.host";
    public static final String HTTP_PORT_CONFIG = "http.port";
    public static final String HTTP_TLS_KEYSTORE_PATH_CONFIG = HttpSecurityConfig.TLS_KEYSTORE_PATH_CONFIG;
    public static final String HTTP_TLS_KEYSTORE_PASSWORD_CONFIG = HttpSecurityConfig.TLS_KEYSTORE_PASSWORD_CONFIG;
    public static final String HTTP_TLS_KEYSTORE_TYPE_CONFIG = HttpSecurityConfig.TLS_KEYSTORE_TYPE_CONFIG;
    public static final String HTTP_AUTH_TOKENS_FILE_CONFIG = HttpSecurityConfig.AUTH_TOKENS_FILE_CONFIG;
    public static final String COMMANDS_PARTITIONS_CONFIG = "commands.partitions";
    public static final String STATUS_PARTITIONS_CONFIG = "status.partitions";
    public static final String REPLICATION_FACTOR_CONFIG = "replication.factor";
    public static final String TARGET_TOPIC_MAX_MESSAGE_BYTES_CONFIG = "target.topic.max.message.bytes";
    /** Kafka's default {@code max.message.bytes}: 1 MiB plus the record batch overhead. */
    public static final int DEFAULT_TARGET_TOPIC_MAX_MESSAGE_BYTES = 1_048_588;
    public static final String TARGET_TOPIC_RETENTION_MS_CONFIG = "target.topic.retention.ms";
    public static final String TARGET_TOPIC_RETENTION_BYTES_CONFIG = "target.topic.retention.bytes";
    /** The smallest bounded {@code target.topic.retention.bytes}: a topic must hold a few of its largest records. */
    public static final long MIN_TARGET_TOPIC_RETENTION_BYTES = 16L * 1024 * 1024;

    public static final String STATE_DIR_CONFIG = "state.dir";
    public static final String STREAM_THREADS_CONFIG = "stream.threads";
    public static final String STANDBY_REPLICAS_CONFIG = "num.standby.replicas";
    public static final String COMMIT_INTERVAL_MS_CONFIG = "commit.interval.ms";
    public static final String TRANSACTION_TIMEOUT_MS_CONFIG = "transaction.timeout.ms";
    public static final String STATUS_TOPIC_RETENTION_MS_CONFIG = "status.topic.retention.ms";
    public static final String INTERNAL_TOPIC_RETENTION_MS_CONFIG = "internal.topic.retention.ms";
    public static final String HISTORY_RUNS_PER_JOB_CONFIG = "history.runs.per.job";
    public static final String HISTORY_RETENTION_MS_CONFIG = "history.retention.ms";
    public static final String DOWNLOADS_PER_TARGET_CONFIG = "downloads.per.target";
    public static final String UNREAD_REFRESH_MS_CONFIG = "unread.refresh.ms";
    public static final String ADVERTISED_HOST_CONFIG = "advertised.host";
    public static final String COMMAND_MAX_INSTRUCTIONS_CONFIG = "command.max.instructions";
    public static final String THREAD_REPLACEMENTS_MAX_CONFIG = "stream.thread.replacements.max";
    public static final String TARGETS_KEY_ACCEPTANCE_CONFIG = "targets.key.acceptance";
    public static final String COMMANDS_REQUIRE_IDENTITY_CONFIG = "commands.require.identity";

    public static final ConfigDef CONFIG_DEF = HttpSecurityConfig.define(withCommonKeys(new ConfigDef()),
            "the REST API")
            .define(MASTER_ID_CONFIG, ConfigDef.Type.STRING, "master-1", new ConfigDef.NonEmptyString(),
                    ConfigDef.Importance.MEDIUM, "Stable id of this master; names its transactional id, so a "
                            + "restarted master fences its previous incarnation.")
            .define(HTTP_HOST_CONFIG, ConfigDef.Type.STRING, "127.0.0.1", ConfigDef.Importance.MEDIUM,
                    "Interface the REST API listens on.")
            .define(HTTP_PORT_CONFIG, ConfigDef.Type.INT, 8780, ConfigDef.Range.between(0, 65535),
                    ConfigDef.Importance.MEDIUM, "Port of the REST API; 0 picks a free one.")
            .define(COMMANDS_PARTITIONS_CONFIG, ConfigDef.Type.INT, 3, ConfigDef.Range.atLeast(1),
                    ConfigDef.Importance.LOW, "Partitions of the command-results topic when the master creates "
                            + "it. The commands topic always has one partition: commands are decided in one order, "
                            + "each on the state the ones before it left, and the master refuses to start on a "
                            + "commands topic with more.")
            .define(STATE_DIR_CONFIG, ConfigDef.Type.STRING, "", ConfigDef.Importance.HIGH, "Directory of the "
                    + "master's RocksDB stores (Kafka Streams state.dir); a volume of its own on Kubernetes. Empty: "
                    + "<java.io.tmpdir>/msx-master/<master.id>. Losing it costs a restore from the changelogs, "
                    + "never data.")
            .define(STREAM_THREADS_CONFIG, ConfigDef.Type.INT, 2, ConfigDef.Range.between(1, 16),
                    ConfigDef.Importance.LOW, "Kafka Streams threads: commands and views can progress apart.")
            .define(STANDBY_REPLICAS_CONFIG, ConfigDef.Type.INT, 1, ConfigDef.Range.between(0, 3),
                    ConfigDef.Importance.MEDIUM, "Warm copies of each store kept by other master instances, so "
                            + "one takes over a dead instance's work without restoring.")
            .define(COMMIT_INTERVAL_MS_CONFIG, ConfigDef.Type.LONG, 20L, ConfigDef.Range.between(1, 10_000),
                    ConfigDef.Importance.LOW, "How often the master commits its transaction: the longest an "
                            + "instruction or result waits before readers (read_committed) see it.")
            .define(TRANSACTION_TIMEOUT_MS_CONFIG, ConfigDef.Type.INT, 60_000, ConfigDef.Range.between(1_000,
                    900_000), ConfigDef.Importance.LOW, "transaction.timeout.ms of the master's producers. A "
                            + "transaction holds what one commit interval processed; a fan-out writes to one "
                            + "partition per target, and commits a marker in each, which took about 1 ms per "
                            + "partition on the 2-core test machine: 10,000 targets need about 10-20 s. It also "
                            + "bounds fail-over for agents: a killed instance's open transaction holds back "
                            + "read_committed readers of the topics it wrote to until the broker aborts it after this "
                            + "long, or the instance restarts.")
            .define(STATUS_TOPIC_RETENTION_MS_CONFIG, ConfigDef.Type.LONG, Duration.ofDays(7).toMillis(),
                    ConfigDef.Range.atLeast(1000L), ConfigDef.Importance.MEDIUM, "retention.ms of the status "
                            + "topic when the master creates it. The views are stores with compacted changelogs: "
                            + "nothing the master shows depends on it; a master stopped for longer than it misses "
                            + "the events that expired meanwhile.")
            .define(INTERNAL_TOPIC_RETENTION_MS_CONFIG, ConfigDef.Type.LONG, Duration.ofDays(7).toMillis(),
                    ConfigDef.Range.atLeast(1000L), ConfigDef.Importance.LOW, "retention.ms of the commands, "
                            + "command-results, dead-letter and the master's control and events topics when the "
                            + "master creates them (the stores' changelogs are compacted and kept).")
            .define(HISTORY_RUNS_PER_JOB_CONFIG, ConfigDef.Type.INT, 100, ConfigDef.Range.between(1, 100_000),
                    ConfigDef.Importance.MEDIUM, "Job history keeps at least the last this many runs of each "
                            + "job on each target ...")
            .define(HISTORY_RETENTION_MS_CONFIG, ConfigDef.Type.LONG, Duration.ofDays(7).toMillis(),
                    ConfigDef.Range.atLeast(0L), ConfigDef.Importance.MEDIUM, "... and every run younger than "
                            + "this; a run goes when it is both older and beyond that count.")
            .define(COMMAND_MAX_INSTRUCTIONS_CONFIG, ConfigDef.Type.INT, 20_000, ConfigDef.Range.between(1, 1_000_000),
                    ConfigDef.Importance.LOW, "Instructions one command may post; more is rejected with the "
                            + "reason (split it, e.g. by target). Keeps a command's transaction well inside "
                            + "transaction.timeout.ms and its result within the record limit.")
            .define(DOWNLOADS_PER_TARGET_CONFIG, ConfigDef.Type.INT, 1000, ConfigDef.Range.between(1, 1_000_000),
                    ConfigDef.Importance.LOW, "Rows of the download list kept per target (the oldest go first).")
            .define(UNREAD_REFRESH_MS_CONFIG, ConfigDef.Type.LONG, 5_000L, ConfigDef.Range.between(100, 600_000),
                    ConfigDef.Importance.LOW, "How often unread instructions (consumer lag) are read for every "
                            + "target, in one admin call; also how often readiness asks the broker.")
            .define(ADVERTISED_HOST_CONFIG, ConfigDef.Type.STRING, "", ConfigDef.Importance.MEDIUM, "Host other "
                    + "master instances reach this one's REST API at (Kafka Streams application.server); empty: "
                    + "http.host.")
            .define(THREAD_REPLACEMENTS_MAX_CONFIG, ConfigDef.Type.INT, 10, ConfigDef.Range.atLeast(0),
                    ConfigDef.Importance.LOW, "Stream threads replaced after an unexpected error within 10 "
                            + "minutes before the master gives up (state ERROR, `msx master run` exits 1).")
            .define(COMMANDS_REQUIRE_IDENTITY_CONFIG, ConfigDef.Type.BOOLEAN, false, ConfigDef.Importance.HIGH,
                    "Reject commands that carry no verified identity: a signature of an operator key in "
                            + "trusted.keys.file (msx --signing-key-file), or the master's own for commands posted "
                            + "through its REST API. Either way the result's issuedBy names the verified issuer; "
                            + "unsigned commands show as unverified:<claimed name>.")
            .define(TARGETS_KEY_ACCEPTANCE_CONFIG, ConfigDef.Type.STRING, "manual",
                    ConfigDef.ValidString.in("manual", "first-use"), ConfigDef.Importance.HIGH,
                    "How a target's status-signing key (presented in its Enlist) is accepted: manual (by an "
                            + "operator, msx target accept, or at pre-registration with --key-fingerprint; until "
                            + "then the target is PENDING and its events change no view) or first-use (the first "
                            + "key a target presents is accepted; development only).")
            .define(STATUS_PARTITIONS_CONFIG, ConfigDef.Type.INT, 6, ConfigDef.Range.atLeast(1),
                    ConfigDef.Importance.LOW, "Partitions of the status topic when the master creates it.")
            .define(REPLICATION_FACTOR_CONFIG, ConfigDef.Type.SHORT, (short) -1, ConfigDef.Importance.LOW,
                    "Replication factor of topics the master creates; -1 uses the broker's default.")
            .define(TARGET_TOPIC_MAX_MESSAGE_BYTES_CONFIG, ConfigDef.Type.INT, DEFAULT_TARGET_TOPIC_MAX_MESSAGE_BYTES,
                    ConfigDef.Range.atLeast(4096), ConfigDef.Importance.LOW, "max.message.bytes of the target "
                            + "topics (and of msx.jobs and msx.targets, whose records are as large as the "
                            + "instructions) when the master creates them; existing topics keep theirs. The master "
                            + "also rejects a command any of whose records would be larger than this less 1 KiB "
                            + "(kept for key, headers and batch overhead), naming the record and the limit, before "
                            + "it writes anything of it. Raise the agents' decode.max.record.bytes with it.")
            .define(TARGET_TOPIC_RETENTION_MS_CONFIG, ConfigDef.Type.LONG, Duration.ofDays(7).toMillis(),
                    ConfigDef.Range.atLeast(1000L), ConfigDef.Importance.MEDIUM, "retention.ms of the target topics "
                            + "and their dead-letter topics (cleanup.policy=delete) when the master creates them; "
                            + "existing topics keep theirs. An agent offline for longer loses the instructions that "
                            + "expired meanwhile: it notices, counts them (instructionsLost) and asks the master for "
                            + "a resync, which posts all its jobs again.")
            .define(TARGET_TOPIC_RETENTION_BYTES_CONFIG, ConfigDef.Type.LONG, -1L,
                    ConfigDef.LambdaValidator.with((name, value) -> {
                        long bytes = (Long) value;
                        if (bytes != -1 && bytes < MIN_TARGET_TOPIC_RETENTION_BYTES) {
                            throw new org.apache.kafka.common.config.ConfigException(name, value, "must be -1 "
                                    + "(no size bound) or at least " + MIN_TARGET_TOPIC_RETENTION_BYTES);
                        }
                    }, () -> "-1 or [" + MIN_TARGET_TOPIC_RETENTION_BYTES + ",...]"), ConfigDef.Importance.LOW,
                    "retention.bytes of each target topic and its dead-letter topic when the master creates them; "
                            + "-1 bounds them by time only (target.topic.retention.ms), so how long an agent may be "
                            + "offline without losing instructions does not depend on how busy its topic is.");

    public MasterConfig(Map<String, ?> values) {
        super(CONFIG_DEF, values);
        // The master reads back what it writes (msx.jobs, msx.targets, target topics at start): a record it may write
        // must be one it may decode, or a restart would silently lose it.
        if (decodeLimits().maxRecordBytes() < targetTopicMaxMessageBytes()) {
            throw new org.apache.kafka.common.config.ConfigException(DECODE_MAX_RECORD_BYTES_CONFIG + " ("
                    + decodeLimits().maxRecordBytes() + ") must be at least " + TARGET_TOPIC_MAX_MESSAGE_BYTES_CONFIG
                    + " (" + targetTopicMaxMessageBytes() + "); raise the agents' " + DECODE_MAX_RECORD_BYTES_CONFIG
                    + " to the same value");
        }
    }

    public static MasterConfig load(Map<String, ?> explicit, Path file, Map<String, String> env) {
        return new MasterConfig(ConfigSources.resolve(CONFIG_DEF, explicit, file, env));
    }

    public String masterId() {
        return getString(MASTER_ID_CONFIG);
    }

    public String httpHost() {
        return getString(HTTP_HOST_CONFIG);
    }

    public int httpPort() {
        return getInt(HTTP_PORT_CONFIG);
    }

    /**
     * TLS and bearer tokens of the REST API, from the http.tls.* and http.auth.* keys.
     *
     * @throws org.apache.kafka.common.config.ConfigException when the keystore or the tokens file is unusable
     */
    public HttpSecurity httpSecurity() {
        return HttpSecurityConfig.security(this);
    }

    public java.nio.file.Path stateDir() {
        String dir = getString(STATE_DIR_CONFIG);
        return dir.isEmpty() ? java.nio.file.Path.of(System.getProperty("java.io.tmpdir"), "msx-master", masterId())
                : java.nio.file.Path.of(dir);
    }

    public int streamThreads() {
        return getInt(STREAM_THREADS_CONFIG);
    }

    public int standbyReplicas() {
        return getInt(STANDBY_REPLICAS_CONFIG);
    }

    public long commitIntervalMs() {
        return getLong(COMMIT_INTERVAL_MS_CONFIG);
    }

    public int transactionTimeoutMs() {
        return getInt(TRANSACTION_TIMEOUT_MS_CONFIG);
    }

    public Duration statusTopicRetention() {
        return Duration.ofMillis(getLong(STATUS_TOPIC_RETENTION_MS_CONFIG));
    }

    public Duration internalTopicRetention() {
        return Duration.ofMillis(getLong(INTERNAL_TOPIC_RETENTION_MS_CONFIG));
    }

    public int historyRunsPerJob() {
        return getInt(HISTORY_RUNS_PER_JOB_CONFIG);
    }

    public Duration historyRetention() {
        return Duration.ofMillis(getLong(HISTORY_RETENTION_MS_CONFIG));
    }

    public int downloadsPerTarget() {
        return getInt(DOWNLOADS_PER_TARGET_CONFIG);
    }

    public Duration unreadRefresh() {
        return Duration.ofMillis(getLong(UNREAD_REFRESH_MS_CONFIG));
    }

    public String advertisedHost() {
        String host = getString(ADVERTISED_HOST_CONFIG);
        return host.isEmpty() ? httpHost() : host;
    }

    public boolean commandsRequireIdentity() {
        return getBoolean(COMMANDS_REQUIRE_IDENTITY_CONFIG);
    }

    /** Whether the first key a target presents is accepted without an operator. */
    public boolean acceptKeysOnFirstUse() {
        return "first-use".equals(getString(TARGETS_KEY_ACCEPTANCE_CONFIG));
    }

    public int commandMaxInstructions() {
        return getInt(COMMAND_MAX_INSTRUCTIONS_CONFIG);
    }

    public int threadReplacementsMax() {
        return getInt(THREAD_REPLACEMENTS_MAX_CONFIG);
    }

    public int commandsPartitions() {
        return getInt(COMMANDS_PARTITIONS_CONFIG);
    }

    public int statusPartitions() {
        return getInt(STATUS_PARTITIONS_CONFIG);
    }

    public short replicationFactor() {
        return getShort(REPLICATION_FACTOR_CONFIG);
    }

    public int targetTopicMaxMessageBytes() {
        return getInt(TARGET_TOPIC_MAX_MESSAGE_BYTES_CONFIG);
    }

    public Duration targetTopicRetention() {
        return Duration.ofMillis(getLong(TARGET_TOPIC_RETENTION_MS_CONFIG));
    }

    /** {@code retention.bytes} of target topics; -1 for no size bound. */
    public long targetTopicRetentionBytes() {
        return getLong(TARGET_TOPIC_RETENTION_BYTES_CONFIG);
    }
}
