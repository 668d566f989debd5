package io.msx.config;

import io.msx.schemas.DecodeLimits;
import io.msx.schemas.JobRules;
import io.msx.schemas.SchemaRegistryConfig;
import io.msx.schemas.Topics;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.types.Password;

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

    protected MsxClientConfig(ConfigDef definition, Map<?, ?> values) {
        super(definition, values, false);
    }

    /** Adds the shared keys to a module's definition and returns it. */
    public static ConfigDef withCommonKeys(ConfigDef definition) {
        return definition
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

    public Topics topics() {
        return new Topics(getString(TOPIC_PREFIX_CONFIG));
    }
}
