package io.msx.schemas;

import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The hand-written Confluent REST client against a real Apicurio Registry. */
@ExtendWith(LocalStackExtension.class)
class SchemaRegistryClientIT {

    private static Schema record(String name, String fields) {
        return new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"" + name
                + "\",\"namespace\":\"it\",\"fields\":[" + fields + "]}");
    }

    private static String uniqueName() {
        return "R" + UUID.randomUUID().toString().replace("-", "");
    }

    @Test
    void shouldRegisterOnceAndFindTheSameIdByLookupAndById(LocalStack stack) {
        SchemaRegistryClient client = new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl()));
        Schema schema = record(uniqueName(), "{\"name\":\"a\",\"type\":\"string\"}");
        String subject = AvroCodec.subjectOf(schema);

        assertThat(client.lookupId(subject, schema)).isEmpty();
        int id = client.register(subject, schema);
        // a fresh client has no cache: these answers come from the server
        SchemaRegistryClient fresh = new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl()));
        assertThat(fresh.register(subject, schema)).isEqualTo(id);
        assertThat(fresh.lookupId(subject, schema)).hasValue(id);
        assertThat(fresh.schemaById(id)).isEqualTo(schema);
    }

    @Test
    void shouldRefuseAnIncompatibleVersionUnderFullTransitive(LocalStack stack) {
        SchemaRegistryClient client = new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl()));
        String name = uniqueName();
        Schema v1 = record(name, "{\"name\":\"a\",\"type\":\"string\"}");
        Schema compatible = record(name, "{\"name\":\"a\",\"type\":\"string\"},"
                + "{\"name\":\"b\",\"type\":[\"null\",\"int\"],\"default\":null}");
        Schema breaking = record(name, "{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"c\",\"type\":\"int\"}");
        String subject = AvroCodec.subjectOf(v1);

        client.setCompatibility(subject, CompatibilityLevel.FULL_TRANSITIVE);
        assertThat(client.compatibility(subject)).hasValue(CompatibilityLevel.FULL_TRANSITIVE);
        int first = client.register(subject, v1);

        assertThat(client.isCompatible(subject, compatible)).isTrue();
        assertThat(client.isCompatible(subject, breaking)).isFalse();
        assertThat(client.register(subject, compatible)).isNotEqualTo(first);
        assertThatThrownBy(() -> client.register(subject, breaking))
                .isInstanceOf(SchemaRegistryException.class)
                .satisfies(e -> assertThat(((SchemaRegistryException) e).status()).isEqualTo(409))
                .hasMessageContaining(subject);
    }

    @Test
    void shouldReportAnUnknownIdAsNotFound(LocalStack stack) {
        SchemaRegistryClient client = new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl()));
        assertThatThrownBy(() -> client.schemaById(987_654_321))
                .isInstanceOf(SchemaRegistryException.class)
                .satisfies(e -> assertThat(((SchemaRegistryException) e).status()).isEqualTo(404));
    }

    @Test
    void shouldRegisterEveryMsxSchemaWithFullTransitiveSubjects(LocalStack stack) {
        SchemaRegistryClient client = new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl()));
        MsxSchemas.register(client);
        MsxSchemas.register(client); // idempotent
        for (Schema schema : MsxSchemas.ALL) {
            assertThat(client.compatibility(AvroCodec.subjectOf(schema))).hasValue(CompatibilityLevel.FULL_TRANSITIVE);
            assertThat(client.lookupId(AvroCodec.subjectOf(schema), schema)).isPresent();
        }
    }
}
