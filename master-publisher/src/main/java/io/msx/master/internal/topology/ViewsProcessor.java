package io.msx.master.internal.topology;

import io.msx.MsxRetriableException;
import io.msx.avro.CommandHeader;
import io.msx.avro.StatusHeader;
import io.msx.avro.command.ResyncTargets;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.DefectNotice;
import io.msx.avro.status.Enlist;
import io.msx.avro.status.InstructionAck;
import io.msx.avro.status.JobOutcome;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.SchemaRegistryException;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;

/**
 * The views sub-topology's processor, one task per status partition: reads the status topic (keyed by target) and
 * the master's events topic (what the command sub-topology registered and posted, keyed and partitioned the same
 * way) into the {@code target-state}, {@code history} and {@code downloads} stores. Forwards each new Enlist and
 * DefectNotice to the control topic (the command sub-topology decides registrations) and answers a target asking for
 * a resync with a ResyncTargets command. No record stops it: an unreadable event, one of an unknown type, one keyed
 * by another target than its header names, or one whose seq jumps implausibly far goes to the status dead-letter
 * topic with the reason. Only an error that is not the event's fault (registry or broker away) fails the task, so
 * the event is read again.
 */
final class ViewsProcessor implements Processor<byte[], byte[], byte[], Outgoing> {

    private static final Logger log = LoggerFactory.getLogger(ViewsProcessor.class);
    /** Characters of a target's resync reason kept in the command's issuedBy (the reason comes from the target). */
    static final int REASON_CHARS = 200;
    /** How often every job's history is pruned, not only when a new run of it arrives. */
    static final Duration HISTORY_SWEEP_INTERVAL = Duration.ofHours(1);

    private final MasterTopology.Context deps;
    private ProcessorContext<byte[], Outgoing> context;
    private KeyValueStore<String, byte[]> states;
    private History history;
    private Downloads downloads;

    ViewsProcessor(MasterTopology.Context deps) {
        this.deps = deps;
    }

    @Override
    public void init(ProcessorContext<byte[], Outgoing> context) {
        this.context = context;
        this.states = context.getStateStore(MasterTopology.TARGET_STATE_STORE);
        this.history = new History(context.getStateStore(MasterTopology.HISTORY_STORE), deps.historyRuns(),
                deps.historyRetention());
        this.downloads = new Downloads(context.getStateStore(MasterTopology.DOWNLOADS_STORE),
                context.getStateStore(MasterTopology.DOWNLOAD_INDEX_STORE), deps.downloadsPerTarget());
        // runs of jobs that stopped running (deleted, or on defected targets) are pruned by age too
        context.schedule(HISTORY_SWEEP_INTERVAL, PunctuationType.WALL_CLOCK_TIME,
                at -> history.sweep(Instant.ofEpochMilli(at)));
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        if (Sources.topic(context).equals(deps.eventsTopic())) {
            viewEvent(record);
        } else {
            status(record);
        }
    }

    private void status(Record<byte[], byte[]> record) {
        Decoded decoded = deps.retrying("decoding status event " + Sources.where(context),
                () -> deps.codec().decode(MessageFamily.STATUS, Sources.topic(context), Sources.partition(context),
                        Sources.offset(context), record.value()));
        if (decoded instanceof Decoded.Malformed malformed) {
            deadLetter(record, malformed.reason());
        } else if (decoded instanceof Decoded.UnknownType unknown) {
            deadLetter(record, unknown.reason() + ": not supported by this master version");
        } else if (decoded instanceof Decoded.Message message) {
            try {
                apply(record, message.value());
            } catch (MsxRetriableException | SchemaRegistryException | KafkaException e) {
                throw e;
            } catch (IllegalArgumentException e) {
                deadLetter(record, e.getMessage());
            } catch (RuntimeException e) {
                log.warn("Status event {} dead-lettered, applying {} failed", Sources.where(context),
                        MessageFamily.typeName(message.value()), e);
                deadLetter(record, "cannot apply " + MessageFamily.typeName(message.value()) + ": " + e);
            }
        }
        // tombstones are skipped
    }

    private void apply(Record<byte[], byte[]> record, SpecificRecord event) {
        StatusHeader header = MessageFamily.STATUS.header(event);
        String target = header.getTarget();
        if (event instanceof Enlist) {
            io.msx.schemas.Topics.requireValidTargetName(target);
        }
        String key = record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
        if (!target.equals(key)) {
            // Keyed by another name, it sits in another target's partition: applying it would split the target.
            throw new IllegalArgumentException("event of target '" + target + "' keyed '" + key + "': status "
                    + "events must be keyed by their target");
        }
        TargetState state = get(target);
        if (state == null && !(event instanceof Enlist)) {
            return; // never enlisted: nothing to update
        }
        if (state == null) {
            state = new TargetState(target);
        }
        if (state.defected && !(event instanceof Enlist)) {
            if (event instanceof InstructionAck ack) {
                downloads.acked(target, ack); // its DEFECT (and what was in flight) leaves POSTED
            }
            return; // defected: only another installation's Enlist may bring it back, and the control decides that
        }
        Instant now = now();
        StatusRules.Applied applied = StatusRules.apply(state, event, header, now);
        if (applied == StatusRules.Applied.REPLAY) {
            return;
        }
        if (applied == StatusRules.Applied.FRESH) {
            if (event instanceof InstructionAck ack) {
                downloads.acked(target, ack);
            } else if (event instanceof JobOutcome outcome) {
                history.record(target, outcome, now);
            } else if (event instanceof CheckIn checkIn) {
                if (checkIn.getAnswersInstructionId() != null) {
                    downloads.answered(target, checkIn.getAnswersInstructionId().toString(), checkIn.getLocalTime());
                }
                // Only a live request is answered: a check-in from long ago (a backlog, a first start over an old
                // status topic) asks for what the target may have had since.
                if (checkIn.getResyncRequested() && StatusRules.isLive(state, header, now)
                        && StatusRules.claimRequestedResync(state, now)) {
                    requestResync(record, target, checkIn.getResyncReason(), now);
                }
            } else if (event instanceof Enlist || event instanceof DefectNotice) {
                context.forward(record.withValue(new Outgoing(deps.controlTopic(), record.value()))
                        .withHeaders(new RecordHeaders()).withTimestamp(context.currentSystemTimeMs()));
            }
        }
        states.put(target, JsonStore.write(state));
    }

    /** A ResyncTargets command for the target, on the commands topic: the same path as an operator's. */
    private void requestResync(Record<byte[], byte[]> record, String target, String reason, Instant now) {
        String why = reason == null || reason.isBlank() ? "no reason given"
                : reason.length() > REASON_CHARS ? reason.substring(0, REASON_CHARS) + "..." : reason;
        UUID commandId = UUID.randomUUID();
        ResyncTargets command = ResyncTargets.newBuilder()
                .setHeader(CommandHeader.newBuilder().setCommandId(commandId).setIssuedAt(now)
                        .setIssuedBy("master (" + target + " asked: " + why + ")").build())
                .setTargets(List.of(target)).build();
        log.info("Target {} asks for a resync ({}): command {}", target, why, commandId);
        context.forward(record.withKey(commandId.toString().getBytes(StandardCharsets.UTF_8))
                .withValue(new Outgoing(deps.topics().commands(), deps.codec().encode(command)))
                .withHeaders(new RecordHeaders()).withTimestamp(context.currentSystemTimeMs()));
    }

    private void viewEvent(Record<byte[], byte[]> record) {
        ViewEvent event;
        try {
            event = JsonStore.read(record.value(), ViewEvent.class);
        } catch (IllegalArgumentException e) {
            log.warn("View event {} skipped: {}", Sources.where(context), e.getMessage());
            return;
        }
        TargetState state = get(event.target());
        if (state == null) {
            state = new TargetState(event.target());
        }
        switch (event.type()) {
            case REGISTERED, DEFECTED -> {
                Registration r = event.registration();
                state.registered = r.enlisted();
                state.defected = r.defected();
                state.location = r.location() != null ? r.location() : state.location;
                state.groups = r.groups();
                state.registeredAt = r.registeredAt();
            }
            case POSTED -> {
                downloads.posted(state, event);
                if ("RESYNC".equals(event.operation())) {
                    state.resyncCommandId = event.commandId();
                    state.resyncAwaiting = event.instructionId().toString();
                    state.resyncIssuedAt = now();
                } else if (event.commandId() != null && event.commandId().equals(state.resyncCommandId)) {
                    state.resyncAwaiting = event.instructionId().toString();
                }
            }
            default -> {
                return;
            }
        }
        states.put(event.target(), JsonStore.write(state));
    }

    private TargetState get(String target) {
        byte[] bytes = states.get(target);
        return bytes == null ? null : JsonStore.read(bytes, TargetState.class);
    }

    private void deadLetter(Record<byte[], byte[]> record, String reason) {
        deps.metrics().statusDeadLettered();
        log.warn("Status event {} dead-lettered: {}", Sources.where(context), reason);
        context.forward(Sources.deadLetter(context, record, reason));
    }

    private Instant now() {
        return Instant.ofEpochMilli(context.currentSystemTimeMs()).truncatedTo(ChronoUnit.MILLIS);
    }
}
