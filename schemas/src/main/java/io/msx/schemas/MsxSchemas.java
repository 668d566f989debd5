package io.msx.schemas;

import io.msx.avro.CommandResult;
import io.msx.avro.JobDefinition;
import io.msx.avro.TargetRegistration;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/** The top-level msx record types (messages and compacted state) and the registry set-up every deployment needs. */
public final class MsxSchemas {

    /** The types that are not messages of a family: one type per topic (or per store). */
    public static final List<Schema> SINGLE_TYPES = List.of(CommandResult.getClassSchema(),
            JobDefinition.getClassSchema(), TargetRegistration.getClassSchema());

    /** Every schema msx writes to Kafka, one subject each (RecordNameStrategy). */
    public static final List<Schema> ALL = all();

    private static final Set<String> SINGLE_TYPE_NAMES = SINGLE_TYPES.stream().map(Schema::getFullName)
            .collect(Collectors.toUnmodifiableSet());

    private MsxSchemas() {
    }

    private static List<Schema> all() {
        List<Schema> all = new ArrayList<>();
        for (MessageFamily family : MessageFamily.values()) {
            all.addAll(family.schemas());
        }
        all.addAll(SINGLE_TYPES);
        return List.copyOf(all);
    }

    /** The schema of a generated class. */
    public static Schema schemaOf(Class<? extends SpecificRecord> type) {
        return SpecificData.get().getSchema(type);
    }

    static boolean isSingleType(String fullName) {
        return SINGLE_TYPE_NAMES.contains(fullName);
    }

    /**
     * Sets every msx subject to {@code FULL_TRANSITIVE} (targets and master upgrade in any order) and registers the
     * current schemas. Idempotent.
     *
     * @throws SchemaRegistryException when a schema is not compatible with what the registry already holds
     */
    public static void register(SchemaRegistryClient registry) {
        for (Schema schema : ALL) {
            String subject = MsxCodec.subjectOf(schema);
            registry.setCompatibility(subject, CompatibilityLevel.FULL_TRANSITIVE);
            registry.register(subject, schema);
        }
    }
}
