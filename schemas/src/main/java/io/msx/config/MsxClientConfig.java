package io.msx.config;

import io.msx.schemas.DecodeLimits;
import io.msx.schemas.JobRules;
import io.msx.schemas.SchemaRegistryConfig;
import io.msx.schemas.Topics;
import io.msx.security.TrustedKeys;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.security.auth.SecurityProtocol;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.types.Password;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The keys every msx process shares — where Kafka and the schema registry are, and the topic prefix — defined once
 * and added to each module's own {@link ConfigDef} by {@link #withCommonKeys(ConfigDef)}.
 */
public abstract class MsxClientConfig extends AbstractConfig {

    public static final String BOOTSTRAP_SERVERS_CONFIG = "bootstrap.servers";
    public static final String SCHEMA_REGISTRY_URL_CONFIG = "schema.registry.url";
    public static final String SCHEMA_REGISTRY_USER_INFO_CONFIG = "schema.registry.basic.auth.user.info";
    public static final String TOPIC_PREFIX_CONFIG = "topic.prefix";
    public static final String DECODE_MAX_RECORD_BYTES_CONFIG = "decode.max.record.bytes";
    public static final String DECODE_MAX_STRING_BYTES_CONFIG = "decode.max.string.bytes";
    public static final String DECODE_MAX_BYTES_LENGTH_CONFIG = "decode.max.bytes.length";
    public static final String DECODE_MAX_COLLECTION_ITEMS_CONFIG = "decode.max.collection.items";
    public static final String SIGNING_KEY_FILE_CONFIG = "signing.key.file";
    public static final String TRUSTED_KEYS_FILE_CONFIG = "trusted.keys.file";

    /**
     * Kafka's own client security keys, passed through unchanged to every Kafka client msx creates:
     * {@code security.protocol}, {@code sasl.*}, {@code ssl.*} (as Kafka defines them) and {@code config.providers*}.
     */
    private static final ConfigDef KAFKA_SECURITY = kafkaSecurityKeys();

    protected MsxClientConfig(ConfigDef definition, Map<?, ?> values) {
        super(definition, values, false);
    }

    private static ConfigDef kafkaSecurityKeys() {
        ConfigDef def = new ConfigDef()
                .define(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, ConfigDef.Type.STRING,
                        CommonClientConfigs.DEFAULT_SECURITY_PROTOCOL, ConfigDef.CaseInsensitiveValidString.in(
                                org.apache.kafka.common.utils.Utils.enumOptions(SecurityProtocol.class)),
                        ConfigDef.Importance.HIGH, CommonClientConfigs.SECURITY_PROTOCOL_DOC);
        SaslConfigs.addClientSaslSupport(def);
        SslConfigs.addClientSslSupport(def);
        return def;
    }

    /** Adds the shared keys to a module's definition and returns it. */
    public static ConfigDef withCommonKeys(ConfigDef definition) {
        for (ConfigDef.ConfigKey key : KAFKA_SECURITY.configKeys().values()) {
            definition.define(key);
        }
        return definition
                .define(SIGNING_KEY_FILE_CONFIG, ConfigDef.Type.STRING, null, ConfigDef.Importance.HIGH,
                        "PEM file of this process's own Ed25519 private key (openssl genpkey -algorithm ed25519, or "
                                + "msx keys generate): the master signs instructions with it, a target its status "
                                + "events, an operator's CLI its commands.")
                .define(TRUSTED_KEYS_FILE_CONFIG, ConfigDef.Type.STRING, null, ConfigDef.Importance.HIGH,
                        "PEM file of the Ed25519 public keys whose signatures this process accepts (one or more "
                                + "PUBLIC KEY blocks; more than one while a key is rotated): a target pins the "
                                + "master's keys, the master the operators' command keys.")
                .define(BOOTSTRAP_SERVERS_CONFIG, ConfigDef.Type.STRING, "127.0.0.1:9092", ConfigDef.Importance.HIGH,
                        "Kafka bootstrap servers.")
                .define(SCHEMA_REGISTRY_URL_CONFIG, ConfigDef.Type.STRING, "http://127.0.0.1:8080/apis/ccompat/v7",
                        ConfigDef.Importance.HIGH, "Base URL of the Confluent-compatible schema registry API.")
                .define(SCHEMA_REGISTRY_USER_INFO_CONFIG, ConfigDef.Type.PASSWORD, null, ConfigDef.Importance.MEDIUM,
                        "user:password for the schema registry's basic auth, if any.")
                .define(TOPIC_PREFIX_CONFIG, ConfigDef.Type.STRING, Topics.DEFAULT_PREFIX, ConfigDef.Importance.LOW,
                        "Prefix of every msx topic.")
                // The minimums keep every job the rules accept (and the agent already stores) decodable.
                .define(DECODE_MAX_RECORD_BYTES_CONFIG, ConfigDef.Type.INT, DecodeLimits.DEFAULT_MAX_RECORD_BYTES,
                        ConfigDef.Range.atLeast(65_536), ConfigDef.Importance.LOW, "Largest record value decoded; a "
                                + "larger one is refused unread (dead-lettered with the reason).")
                .define(DECODE_MAX_STRING_BYTES_CONFIG, ConfigDef.Type.INT, DecodeLimits.DEFAULT_MAX_STRING_BYTES,
                        ConfigDef.Range.atLeast(JobRules.MAX_ARG_LENGTH), ConfigDef.Importance.LOW, "Largest string in a decoded record "
                                + "(Avro's org.apache.avro.limits.string.maxLength).")
                .define(DECODE_MAX_BYTES_LENGTH_CONFIG, ConfigDef.Type.INT, DecodeLimits.DEFAULT_MAX_BYTES_LENGTH,
                        ConfigDef.Range.atLeast(1), ConfigDef.Importance.LOW, "Largest bytes value in a decoded "
                                + "record (Avro's org.apache.avro.limits.bytes.maxLength).")
                .define(DECODE_MAX_COLLECTION_ITEMS_CONFIG, ConfigDef.Type.INT,
                        DecodeLimits.DEFAULT_MAX_COLLECTION_ITEMS, ConfigDef.Range.atLeast(JobRules.MAX_TARGETS),
                        ConfigDef.Importance.LOW, "Most items in one array or map of a decoded record (Avro's "
                                + "org.apache.avro.limits.collectionItems.maxLength).");
    }

    public String bootstrapServers() {
        return getString(BOOTSTRAP_SERVERS_CONFIG);
    }

    public String schemaRegistryUrl() {
        return getString(SCHEMA_REGISTRY_URL_CONFIG);
    }

    /** Registry settings: URL and, when configured, basic auth. */
    public SchemaRegistryConfig schemaRegistry() {
        Password password = getPassword(SCHEMA_REGISTRY_USER_INFO_CONFIG);
        return SchemaRegistryConfig.of(schemaRegistryUrl()).withBasicAuth(password == null ? null : password.value());
    }

    /** Bounds on decoding untrusted records, from the decode.* keys. */
    public DecodeLimits decodeLimits() {
        return new DecodeLimits(getInt(DECODE_MAX_RECORD_BYTES_CONFIG), getInt(DECODE_MAX_STRING_BYTES_CONFIG),
                getInt(DECODE_MAX_BYTES_LENGTH_CONFIG), getInt(DECODE_MAX_COLLECTION_ITEMS_CONFIG));
    }

    /**
     * The settings every Kafka client of this process starts from: bootstrap servers and the Kafka security keys
     * that were configured (values after config-provider substitution, passwords as {@link Password}s).
     */
    public Map<String, Object> kafkaClientProperties() {
        Map<String, Object> p = new HashMap<>();
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        for (String key : KAFKA_SECURITY.names()) {
            if (originals().containsKey(key) && values().get(key) != null) {
                p.put(key, values().get(key));
            }
        }
        return p;
    }

    /** This process's signing key file, or null. */
    public Path signingKeyFile() {
        String file = getString(SIGNING_KEY_FILE_CONFIG);
        return file == null || file.isBlank() ? null : Path.of(file);
    }

    /** The keys of {@link #TRUSTED_KEYS_FILE_CONFIG}, or none when it is not set. */
    public TrustedKeys trustedKeys() {
        String file = getString(TRUSTED_KEYS_FILE_CONFIG);
        return file == null || file.isBlank() ? TrustedKeys.none() : TrustedKeys.fromFile(Path.of(file));
    }

    public Topics topics() {
        return new Topics(getString(TOPIC_PREFIX_CONFIG));
    }
}
