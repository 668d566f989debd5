package io.msx.schemas;

import io.msx.avro.Command;
import io.msx.avro.CommandResult;
import io.msx.avro.Instruction;
import io.msx.avro.StatusEvent;
import org.apache.avro.Schema;

import java.util.List;

/** The four top-level msx message types and the registry set-up every deployment needs. */
public final class MsxSchemas {

    /** Every schema msx writes, one subject each (RecordNameStrategy). */
    public static final List<Schema> ALL = List.of(
            Command.getClassSchema(), CommandResult.getClassSchema(),
            Instruction.getClassSchema(), StatusEvent.getClassSchema());

    private MsxSchemas() {
    }

    /**
     * Sets every msx subject to {@code FULL_TRANSITIVE} (targets and master upgrade in any order) and registers the
     * current schemas. Idempotent.
     *
     * @throws SchemaRegistryException when a schema is not compatible with what the registry already holds
     */
    public static void register(SchemaRegistryClient registry) {
        for (Schema schema : ALL) {
            String subject = AvroCodec.subjectOf(schema);
            registry.setCompatibility(subject, CompatibilityLevel.FULL_TRANSITIVE);
            registry.register(subject, schema);
        }
    }
}
