package io.msx.schemas;

import io.msx.avro.CommandHeader;
import io.msx.avro.InstructionHeader;
import io.msx.avro.StatusHeader;
import io.msx.avro.command.AcceptTarget;
import io.msx.avro.command.DefectTarget;
import io.msx.avro.command.DeleteGroup;
import io.msx.avro.command.DeleteJob;
import io.msx.avro.command.EnlistTarget;
import io.msx.avro.command.ForcePoll;
import io.msx.avro.command.ResyncTargets;
import io.msx.avro.command.SetPollingInterval;
import io.msx.avro.command.StartJob;
import io.msx.avro.command.StopJob;
import io.msx.avro.command.SyncClocks;
import io.msx.avro.command.UpdateGroup;
import io.msx.avro.command.UpsertJob;
import io.msx.avro.instruction.Defect;
import io.msx.avro.instruction.JobDelete;
import io.msx.avro.instruction.JobInsert;
import io.msx.avro.instruction.JobStart;
import io.msx.avro.instruction.JobStop;
import io.msx.avro.instruction.JobUpdate;
import io.msx.avro.instruction.PollNow;
import io.msx.avro.instruction.Resync;
import io.msx.avro.instruction.SetPollInterval;
import io.msx.avro.instruction.SyncTime;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.ClockReport;
import io.msx.avro.status.DefectNotice;
import io.msx.avro.status.Enlist;
import io.msx.avro.status.InstructionAck;
import io.msx.avro.status.JobOutcome;
import io.msx.avro.status.JobRunStarted;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The three kinds of msx message, each carried on its own topics with several record types per topic (one
 * RecordNameStrategy subject per type). Every type of a family has the family's header record as its first field,
 * named {@code header}; a reader that does not know a type can still read that header (see {@link MsxCodec}).
 * A new message type is added here, in its family's namespace, and never by changing an existing type.
 */
public enum MessageFamily {

    /** Operators' requests on msx.commands, answered by a CommandResult. */
    COMMAND("io.msx.avro.command", CommandHeader.getClassSchema(), List.of(ForcePoll.class,
            SetPollingInterval.class, SyncClocks.class, EnlistTarget.class, DefectTarget.class, ResyncTargets.class,
            AcceptTarget.class,
            UpsertJob.class, DeleteJob.class, StartJob.class, StopJob.class, UpdateGroup.class, DeleteGroup.class)),
    /** The master's instructions on msx.target.&lt;name&gt;. */
    INSTRUCTION("io.msx.avro.instruction", InstructionHeader.getClassSchema(), List.of(PollNow.class,
            SetPollInterval.class, SyncTime.class, JobInsert.class, JobUpdate.class, JobDelete.class, JobStart.class,
            JobStop.class, Defect.class, Resync.class)),
    /** Targets' reports on msx.status. */
    STATUS("io.msx.avro.status", StatusHeader.getClassSchema(), List.of(Enlist.class, CheckIn.class,
            InstructionAck.class, JobRunStarted.class, JobOutcome.class, ClockReport.class, DefectNotice.class));

    /** Name of the first field of every message type. */
    public static final String HEADER_FIELD = "header";

    private final String namespace;
    private final Schema headerSchema;
    private final List<Class<? extends SpecificRecord>> types;
    private final Map<String, Class<? extends SpecificRecord>> byName;

    MessageFamily(String namespace, Schema headerSchema, List<Class<? extends SpecificRecord>> types) {
        this.namespace = namespace;
        this.headerSchema = headerSchema;
        this.types = types;
        this.byName = types.stream().collect(Collectors.toUnmodifiableMap(c -> schemaOf(c).getFullName(),
                Function.identity()));
    }

    public String namespace() {
        return namespace;
    }

    /** The shared header record of this family. */
    public Schema headerSchema() {
        return headerSchema;
    }

    /** The message types this build knows, in the order they were added. */
    public List<Class<? extends SpecificRecord>> types() {
        return types;
    }

    public List<Schema> schemas() {
        return types.stream().map(MessageFamily::schemaOf).toList();
    }

    /** The generated class of a record name of this family known to this build. */
    public Optional<Class<? extends SpecificRecord>> type(String fullName) {
        return Optional.ofNullable(byName.get(fullName));
    }

    /** The family a known record name belongs to. */
    public static Optional<MessageFamily> ofType(String fullName) {
        for (MessageFamily family : values()) {
            if (family.byName.containsKey(fullName)) {
                return Optional.of(family);
            }
        }
        return Optional.empty();
    }

    /** A message's simple type name, e.g. {@code ForcePoll}, for logs and results. */
    public static String typeName(SpecificRecord message) {
        return message.getSchema().getName();
    }

    /**
     * The header of a message of this family.
     *
     * @throws IllegalArgumentException when the record is not one of this family's types
     */
    @SuppressWarnings("unchecked")
    public <H extends SpecificRecord> H header(SpecificRecord message) {
        Schema schema = message.getSchema();
        if (!byName.containsKey(schema.getFullName())) {
            throw new IllegalArgumentException(schema.getFullName() + " is not a " + name().toLowerCase()
                    + " type");
        }
        return (H) message.get(0);
    }

    static Schema schemaOf(Class<? extends SpecificRecord> type) {
        return SpecificData.get().getSchema(type);
    }
}
