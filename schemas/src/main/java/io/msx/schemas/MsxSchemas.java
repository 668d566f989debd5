package io.msx.schemas;

import io.msx.avro.Command;
import io.msx.avro.CommandResult;
import io.msx.avro.Instruction;
import io.msx.avro.JobDefinition;
import io.msx.avro.StatusEvent;
import io.msx.avro.TargetRegistration;
import org.apache.avro.Schema;

import java.util.List;

/** The top-level msx record types (messages and compacted state) and the registry set-up every deployment needs. */
public final class MsxSchemas {

    /** Every schema msx writes, one subject each (RecordNameStrategy). */
    public static final List<Schema> ALL = List.of(
            Command.getClassSchema(), CommandResult.getClassSchema(),
            Instruction.getClassSchema(), StatusEvent.getClassSchema(),
            JobDefinition.getClassSchema(), TargetRegistration.getClassSchema());

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
