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
import io.msx.security.CommandSignatures;
import io.msx.security.Ed25519Keys;
import io.msx.security.SignatureHeaders;
import io.msx.security.StatusSignatures;
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
import java.util.Base64;
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
            throw new IllegalArgumentException("status event of '" + target + "', which never enlisted: its "
                    + "signature cannot be checked");
        }
        if (state == null) {
            state = new TargetState(target);
        }
        if (event instanceof Enlist enlist) {
            if (!keyOfEnlist(record, state, enlist)) {
                states.put(target, JsonStore.write(state));
                return;
            }
        } else {
            String refusal = state.acceptedKey == null ? "the status-signing key of '" + target + "' is not "
                    + "accepted yet (msx target accept " + target + ")" : StatusSignatures.refusal(
                    Ed25519Keys.publicKeyFromDer(Base64.getDecoder().decode(state.acceptedKey)),
                    SignatureHeaders.read(record.headers()), record.key(), record.value());
            if (refusal != null) {
                throw new IllegalArgumentException(refusal);
            }
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
                forwardToControl(record);
            }
        }
        states.put(target, JsonStore.write(state));
    }

    /**
     * Checks an Enlist's signature with the key it presents, and decides that key: accepted at once when an operator
     * approved its fingerprint, or on first use where the master is so configured; otherwise the Enlist is held (and
     * dead-lettered with the reason) until an operator accepts the key.
     *
     * @return whether the Enlist is applied now
     * @throws IllegalArgumentException (dead-lettered) when it presents no key or is not signed by the key it presents
     */
    private boolean keyOfEnlist(Record<byte[], byte[]> record, TargetState state, Enlist enlist) {
        if (enlist.getPublicKey() == null) {
            throw new IllegalArgumentException("Enlist of '" + state.name + "' presents no status-signing key (an "
                    + "agent older than signed status events)");
        }
        byte[] der = new byte[enlist.getPublicKey().remaining()];
        enlist.getPublicKey().duplicate().get(der);
        var key = Ed25519Keys.publicKeyFromDer(der);
        String refusal = StatusSignatures.refusal(key, SignatureHeaders.read(record.headers()), record.key(),
                record.value());
        if (refusal != null) {
            throw new IllegalArgumentException("Enlist of '" + state.name + "': " + refusal);
        }
        String presented = Base64.getEncoder().encodeToString(der);
        if (state.defected) {
            // its key still checks what it sends after its DEFECT; coming back takes a key accepted again
            state.acceptedKey = null;
        }
        state.presentedKey = presented;
        if (presented.equals(state.acceptedKey)) {
            state.heldEnlist = null;
            return true;
        }
        String fingerprint = Ed25519Keys.fingerprint(key);
        if (fingerprint.equals(state.approvedFingerprint)
                || (state.acceptedKey == null && deps.acceptKeysOnFirstUse())) {
            log.info("Target {}: status-signing key {} accepted ({})", state.name, fingerprint,
                    fingerprint.equals(state.approvedFingerprint) ? "approved by an operator" : "first use");
            state.acceptedKey = presented;
            state.heldEnlist = null;
            return true;
        }
        if (state.acceptedKey == null) {
            // held until an operator accepts the key (a later Enlist, genuine or not, replaces it: acceptance
            // names the fingerprint, so only the key the operator checked is ever accepted)
            state.heldEnlist = Base64.getEncoder().encodeToString(record.value());
        }
        // with a key accepted, another one presented changes nothing but what the view shows as presented: a
        // stranger enlisting under the name cannot make the target PENDING nor replace what it is known by
        deadLetter(record, "the status-signing key " + fingerprint + " presented by '" + state.name + "' is not "
                + "accepted: its events change no view until an operator accepts it (msx target accept "
                + state.name + " --fingerprint " + fingerprint + ")");
        return false;
    }

    /**
     * After an operator approved a fingerprint: when the key the target presented has it, it is accepted and the
     * Enlist held back is applied now.
     */
    private void acceptApproved(Record<byte[], byte[]> record, TargetState state) {
        if (state.presentedKey == null || state.presentedKey.equals(state.acceptedKey)
                || state.approvedFingerprint == null) {
            return;
        }
        String presented = Ed25519Keys.fingerprint(Ed25519Keys.publicKeyFromDer(
                Base64.getDecoder().decode(state.presentedKey)));
        if (!presented.equals(state.approvedFingerprint)) {
            log.warn("Target {}: the approved key {} is not the one it presents ({}): still pending", state.name,
                    state.approvedFingerprint, presented);
            return;
        }
        log.info("Target {}: status-signing key {} accepted by an operator", state.name, presented);
        state.acceptedKey = state.presentedKey;
        String held = state.heldEnlist;
        state.heldEnlist = null;
        states.put(state.name, JsonStore.write(state));
        if (held != null) {
            byte[] value = Base64.getDecoder().decode(held);
            Decoded decoded = deps.retrying("decoding the held Enlist of " + state.name, () -> deps.codec()
                    .decode(MessageFamily.STATUS, deps.topics().status(), value));
            if (decoded instanceof Decoded.Message message) {
                try {
                    applyAccepted(record.withKey(state.name.getBytes(StandardCharsets.UTF_8)).withValue(value),
                            message.value());
                } catch (MsxRetriableException | SchemaRegistryException | KafkaException e) {
                    throw e;
                } catch (RuntimeException e) {
                    // a held Enlist the rules refuse must not fail the task over and over
                    log.warn("Target {}: its held Enlist was not applied: {}", state.name, e.getMessage());
                }
            }
        }
    }

    /** Applies an event whose signature was checked already (a held Enlist). */
    private void applyAccepted(Record<byte[], byte[]> record, SpecificRecord event) {
        StatusHeader header = MessageFamily.STATUS.header(event);
        TargetState state = get(header.getTarget());
        Instant now = now();
        if (StatusRules.apply(state, event, header, now) == StatusRules.Applied.FRESH) {
            forwardToControl(record);
        }
        states.put(state.name, JsonStore.write(state));
    }

    /** An Enlist or DefectNotice for the command sub-topology, on the control topic. */
    private void forwardToControl(Record<byte[], byte[]> record) {
        context.forward(record.withValue(new Outgoing(deps.controlTopic(), record.value()))
                .withHeaders(new RecordHeaders()).withTimestamp(context.currentSystemTimeMs()));
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
        byte[] value = deps.codec().encode(command);
        RecordHeaders headers = new RecordHeaders();
        CommandSignatures.sign(deps.signer(), "master", value, headers);
        context.forward(record.withKey(commandId.toString().getBytes(StandardCharsets.UTF_8))
                .withValue(new Outgoing(deps.topics().commands(), value))
                .withHeaders(headers).withTimestamp(context.currentSystemTimeMs()));
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
                state.approvedFingerprint = r.keyFingerprint();
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
        if (event.type() == ViewEvent.Type.REGISTERED) {
            acceptApproved(record, state);
        }
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
