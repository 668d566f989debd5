package io.msx.local;

/**
 * For fault tests: a {@link KafkaProcess} of the test's own, which it may kill and restart, plus the run's shared
 * Apicurio registry (which does not depend on the broker and is never stopped by this stack). Obtain one per test
 * method through {@link KafkaProcessExtension}.
 *
 * <p>Thread-safe. {@link #close()} closes the broker only; it is idempotent.
 */
public final class KafkaProcessStack implements AutoCloseable {

    private final KafkaProcess kafka;
    private final String schemaRegistryUrl;

    public KafkaProcessStack(KafkaProcess kafka, String schemaRegistryUrl) {
        this.kafka = kafka;
        this.schemaRegistryUrl = schemaRegistryUrl;
    }

    /** The broker, to {@link KafkaProcess#kill()} and {@link KafkaProcess#restart()}. */
    public KafkaProcess kafka() {
        return kafka;
    }

    /** The broker's address; the same across restarts. */
    public String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    /** Base URL of the shared registry's Confluent-compatible API. */
    /** Bootstrap servers and the super-user's credentials. */
    public java.util.Map<String, Object> adminClientProperties() {
        return kafka.adminClientProperties();
    }

    /** The super-user's security settings as configuration keys. */
    public java.util.Map<String, String> adminSecuritySettings() {
        return kafka.adminSecuritySettings();
    }

    public String schemaRegistryUrl() {
        return schemaRegistryUrl;
    }

    @Override
    public void close() {
        kafka.close();
    }
}
