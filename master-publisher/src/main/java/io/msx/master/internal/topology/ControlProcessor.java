package io.msx.master.internal.topology;

import io.msx.MsxRetriableException;
import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.avro.CommandStatus;
import io.msx.avro.InstructionHeader;
import io.msx.avro.StatusHeader;
import io.msx.avro.status.DefectNotice;
import io.msx.avro.status.Enlist;
import io.msx.master.MasterException;
import io.msx.master.internal.RecordLimit;
import io.msx.master.internal.topology.commands.CommandHandlers;
import io.msx.master.internal.topology.commands.Decision;
import io.msx.master.internal.topology.commands.Fleet;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.SchemaRegistryException;
import io.msx.schemas.Topics;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.KafkaException;
import io.msx.security.CommandSignatures;
import io.msx.security.InstructionSignatures;
import io.msx.security.SignatureHeaders;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The command sub-topology's one processor, the only writer of registrations, groups and jobs. It reads the commands
 * topic and the master's control topic (Enlist and DefectNotice events the views forward from the status topic) —
 * both one partition, so every decision is taken on the state all earlier ones left. A command is decided by its
 * handler ({@link CommandHandlers}), its records encoded and checked against the {@link RecordLimit} before any is
 * forwarded (one too large rejects the command, and none of its changes is stored), the target topics it needs are
 * created, then its instructions, its view events and its result are forwarded and its changes stored: under
 * {@code exactly_once_v2} all of that commits with the consumed offset or not at all. Every readable command gets
 * exactly one result; unreadable ones go to the commands dead-letter topic, answered when their id can be read.
 */
final class ControlProcessor implements Processor<byte[], byte[], byte[], Outgoing> {

    private static final Logger log = LoggerFactory.getLogger(ControlProcessor.class);
    static final byte[] NO_JOB_KEY = "-".getBytes(StandardCharsets.UTF_8);

    private final MasterTopology.Context deps;
    private ProcessorContext<byte[], Outgoing> context;
    private Registrations registrations;
    private JobStore jobs;
    private KeyValueStore<String, byte[]> instructionSeqs;
    private CommandHandlers handlers;
    /** The sequence numbers the command being encoded takes, per target; stored with its other changes. */
    private final Map<String, Long> pendingSeqs = new HashMap<>();
    /** Who issued the command being decided (verified, or marked unverified). */
    private String issuer;

    ControlProcessor(MasterTopology.Context deps) {
        this.deps = deps;
    }

    @Override
    public void init(ProcessorContext<byte[], Outgoing> context) {
        this.context = context;
        this.registrations = new Registrations(context.getStateStore(MasterTopology.REGISTRATIONS_STORE),
                context.getStateStore(MasterTopology.GROUP_MEMBERS_STORE));
        this.jobs = new JobStore(context.getStateStore(MasterTopology.JOBS_STORE), deps.codec());
        this.instructionSeqs = context.getStateStore(MasterTopology.INSTRUCTION_SEQS_STORE);
        this.handlers = new CommandHandlers(new Fleet(registrations, jobs));
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        String topic = context.recordMetadata().map(m -> m.topic()).orElse("");
        if (topic.equals(deps.topics().commands())) {
            command(record);
        } else {
            internal(record);
        }
    }

    private void command(Record<byte[], byte[]> record) {
        issuer = null;
        Decoded decoded = deps.retrying("decoding command " + Sources.where(context),
                () -> deps.codec().decode(MessageFamily.COMMAND, deps.topics().commands(),
                        Sources.partition(context), Sources.offset(context), record.value()));
        if (decoded instanceof Decoded.Message message) {
            execute(record, message.value());
        } else if (decoded instanceof Decoded.Malformed malformed) {
            deadLetter(record, malformed.reason(), malformed.header(), "malformed command: " + malformed.reason());
        } else if (decoded instanceof Decoded.UnknownType unknown) {
            deadLetter(record, unknown.reason(), unknown.header(),
                    unknown.reason() + ": not supported by this master version");
        }
        // a tombstone: nothing to do
    }

    private void deadLetter(Record<byte[], byte[]> record, String reason, SpecificRecord header, String answer) {
        log.warn("Command {} dead-lettered: {}", Sources.where(context), reason);
        forward(Sources.deadLetter(context, record, reason));
        UUID id = commandId(header, record.key());
        if (id != null) {
            answer(record, rejection(id, answer), "unreadable");
        }
    }

    /**
     * Decides a command and forwards its records, or its rejection: exactly one result either way.
     */
    private void execute(Record<byte[], byte[]> record, SpecificRecord command) {
        CommandHeader header = MessageFamily.COMMAND.header(command);
        String type = MessageFamily.typeName(command);
        long started = System.nanoTime();
        String verified = CommandSignatures.identity(deps.operatorKeys(), deps.signer(), record.value(),
                record.headers());
        issuer = verified != null ? verified : "unverified:" + header.getIssuedBy();
        if (verified == null && deps.requireIdentity()) {
            answer(record, rejection(header.getCommandId(), "the command carries no verified identity: sign it with "
                    + "an operator key the master trusts (msx --signing-key-file) or post it through the REST API"),
                    type);
            deps.metrics().command(type, CommandStatus.REJECTED.name(), 0, System.nanoTime() - started);
            return;
        }
        CommandResult result;
        List<Record<byte[], Outgoing>> out = List.of();
        Decision accepted = null;
        try {
            Decision decision = deps.retrying("deciding command " + header.getCommandId(),
                    () -> handlers.decide(command, now()));
            result = decision.result();
            if (decision.accepted()) {
                String refused = refusal(decision);
                if (refused != null) {
                    result = rejection(header.getCommandId(), refused);
                } else {
                    List<Record<byte[], Outgoing>> encoded = deps.retrying("encoding command "
                            + header.getCommandId(), () -> encode(record, decision));
                    String tooLarge = tooLarge(encoded);
                    if (tooLarge != null) {
                        result = rejection(header.getCommandId(), tooLarge);
                    } else {
                        if (!decision.newTargets().isEmpty()) {
                            deps.retrying("creating topics of " + decision.newTargets(), () -> {
                                deps.admin().ensureTargetTopics(decision.newTargets().stream()
                                        .map(deps.topics()::target).toList());
                                return null;
                            });
                        }
                        out = encoded;
                        accepted = decision;
                    }
                }
            }
        } catch (MasterException e) {
            result = rejection(header.getCommandId(), "the master cannot carry it out: " + e.getMessage());
        } catch (MsxRetriableException | SchemaRegistryException | KafkaException e) {
            throw e; // not this command's fault: the task fails and the command is read again
        } catch (RuntimeException e) {
            log.error("Command {} ({}) failed unexpectedly, rejecting it", header.getCommandId(), type, e);
            result = rejection(header.getCommandId(), "the master failed on this command: " + e);
        }
        // Past this point an error fails the task (nothing of the command commits): stores and records go together.
        if (accepted != null) {
            store(accepted);
            out.forEach(context::forward);
        }
        answer(record, result, type);
        deps.metrics().command(type, result.getStatus().name(), result.getInstructions().size(),
                System.nanoTime() - started);
    }

    private void store(Decision decision) {
        pendingSeqs.forEach((target, seq) -> instructionSeqs.put(target, SignatureHeaders.sequenceBytes(seq)));
        pendingSeqs.clear();
        decision.registrations().forEach(registrations::put);
        decision.jobsPut().forEach(jobs::put);
        decision.jobsDeleted().forEach(jobs::remove);
    }

    private List<Record<byte[], Outgoing>> encode(Record<byte[], byte[]> input, Decision decision) {
        List<Record<byte[], Outgoing>> out = new ArrayList<>(decision.instructions().size() * 2
                + decision.registrations().size());
        for (Registration registration : decision.registrations()) {
            out.add(viewEvent(input, ViewEvent.registered(registration)));
        }
        pendingSeqs.clear();
        for (SpecificRecord instruction : decision.instructions()) {
            InstructionHeader h = Instructions.header(instruction);
            byte[] value = deps.codec().encode(instruction);
            out.add(input.withKey(key(instruction)).withValue(new Outgoing(deps.topics().target(h.getTarget()), value))
                    .withHeaders(signed(h.getTarget(), value)).withTimestamp(context.currentSystemTimeMs()));
            out.add(viewEvent(input, ViewEvent.posted(h.getTarget(), h.getInstructionId(),
                    Instructions.operationOf(instruction), Instructions.jobIdOf(instruction), h.getCommandId(),
                    h.getPostedAt())));
        }
        return out;
    }

    /**
     * The signature headers of an instruction for {@code target}: the next sequence number of that target and the
     * master's signature over the target, that number and the value (see {@link InstructionSignatures}).
     */
    private Headers signed(String target, byte[] value) {
        long seq = pendingSeqs.computeIfAbsent(target, this::lastSeq) + 1;
        pendingSeqs.put(target, seq);
        Headers headers = new RecordHeaders();
        SignatureHeaders.write(headers, deps.signer().keyId(), InstructionSignatures.sign(deps.signer(), target, seq,
                value), seq);
        return headers;
    }

    private long lastSeq(String target) {
        byte[] stored = instructionSeqs.get(target);
        return stored == null ? 0 : java.nio.ByteBuffer.wrap(stored).getLong();
    }

    private Record<byte[], Outgoing> viewEvent(Record<byte[], byte[]> input, ViewEvent event) {
        return input.withKey(event.target().getBytes(StandardCharsets.UTF_8))
                .withValue(new Outgoing(deps.eventsTopic(), JsonStore.write(event)))
                .withHeaders(new RecordHeaders()).withTimestamp(context.currentSystemTimeMs());
    }

    /**
     * Why an accepted decision cannot be carried out in one bounded transaction, or null: too many instructions, or
     * a result (which lists every instruction) over the record limit.
     */
    private String refusal(Decision decision) {
        int count = decision.instructions().size();
        if (count > deps.maxInstructionsPerCommand()) {
            return String.format("the command would post %,d instructions, more than the %,d one command may post "
                    + "(command.max.instructions); split it, e.g. by target", count, deps.maxInstructionsPerCommand());
        }
        byte[] result = deps.retrying("encoding a result", () -> deps.codec().encode(decision.result()));
        return deps.limit().check("its result (listing " + count + " instructions)", deps.topics().commandResults(),
                result);
    }

    /**
     * Why one of the records is over the limit, or null: the master's own limit, and for target topics also the
     * {@code max.message.bytes} the broker has for them (a topic created or changed behind the master's back would
     * refuse the record, and a refused record fails the whole transaction).
     */
    private String tooLarge(List<Record<byte[], Outgoing>> records) {
        List<String> targetTopics = records.stream().map(r -> r.value().topic())
                .filter(t -> !t.equals(deps.eventsTopic())).distinct().toList();
        Map<String, Integer> topicLimits = deps.retrying("reading the settings of " + targetTopics.size()
                + " target topic(s)", () -> deps.admin().maxMessageBytes(targetTopics));
        for (Record<byte[], Outgoing> r : records) {
            String topic = r.value().topic();
            String reason = deps.limit().check(describe(r), topic, r.value().value());
            Integer topicMax = topicLimits.get(topic);
            if (reason == null && topicMax != null && topicMax - RecordLimit.OVERHEAD_MARGIN_BYTES
                    < deps.limit().maxValueBytes()) {
                reason = RecordLimit.of(topicMax, topicMax).check(describe(r), topic, r.value().value());
            }
            if (reason != null) {
                return reason;
            }
        }
        return null;
    }

    private String describe(Record<byte[], Outgoing> r) {
        String topic = r.value().topic();
        return topic.equals(deps.eventsTopic()) ? "view event" : "instruction for " + topic;
    }

    private void answer(Record<byte[], byte[]> input, CommandResult decided, String type) {
        CommandResult result = CommandResult.newBuilder(decided).setIssuedBy(issuer).build();
        forward(input.withKey(result.getCommandId().toString().getBytes(StandardCharsets.UTF_8))
                .withValue(new Outgoing(deps.topics().commandResults(), deps.retrying("encoding a result",
                        () -> deps.codec().encode(result)))).withHeaders(new RecordHeaders())
                .withTimestamp(context.currentSystemTimeMs()));
        log.info("Command {} ({}) by {} {}{}", result.getCommandId(), type, issuer, result.getStatus(),
                result.getReason() == null ? ", " + result.getInstructions().size() + " instruction(s) posted"
                        : ": " + result.getReason());
    }

    private void forward(Record<byte[], Outgoing> record) {
        context.forward(record);
    }

    /**
     * An Enlist or DefectNotice the views forwarded (already deduplicated): registers a target that enlists itself
     * (its topic first), follows a reinstall, and keeps a defected installation defected.
     */
    private void internal(Record<byte[], byte[]> record) {
        Decoded decoded = deps.retrying("decoding a control record " + Sources.where(context),
                () -> deps.codec().decode(MessageFamily.STATUS, Sources.topic(context), Sources.partition(context),
                        Sources.offset(context), record.value()));
        if (!(decoded instanceof Decoded.Message message)) {
            log.warn("Control record {} skipped: {}", Sources.where(context), decoded);
            return;
        }
        StatusHeader header = MessageFamily.STATUS.header(message.value());
        String target = header.getTarget();
        String epoch = header.getEpoch() == null ? "" : header.getEpoch();
        Registration existing = registrations.get(target).orElse(null);
        if (message.value() instanceof Enlist enlist) {
            enlisted(record, target, epoch, header.getOccurredAt(), enlist, existing);
        } else if (message.value() instanceof DefectNotice && existing != null && existing.enlisted()) {
            log.info("Target {} reports it defected: no longer enlisted", target);
            Registration defected = new Registration(target, existing.location(), List.of(),
                    existing.registeredAt(), existing.epoch(), true, null);
            registrations.put(defected);
            forward(viewEvent(record, ViewEvent.registered(defected)));
        }
    }

    private void enlisted(Record<byte[], byte[]> record, String target, String epoch, Instant at, Enlist enlist,
                          Registration existing) {
        if (existing != null && existing.defected() && epoch.equals(existing.epoch())) {
            log.warn("Target {} (epoch '{}') enlisted again after it was defected: ignored; reset its data "
                    + "directory or enlist it with `msx target enlist {}`", target, epoch, target);
            return;
        }
        String location = enlist.getLocation() != null ? enlist.getLocation()
                : existing == null ? null : existing.location();
        Registration next;
        if (existing == null || existing.defected()) {
            try {
                Topics.requireValidTargetName(target);
                deps.retrying("creating the topic of " + target, () -> {
                    deps.admin().ensureTargetTopics(List.of(deps.topics().target(target)));
                    return null;
                });
            } catch (IllegalArgumentException | MasterException e) {
                log.warn("Target {} cannot enlist: {}", target, e.getMessage());
                return;
            }
            next = new Registration(target, location, List.of(), at, epoch, false,
                    existing == null ? null : existing.keyFingerprint());
            log.info("Target {} enlisted (agent {}, zone {})", target, enlist.getAgentVersion(),
                    enlist.getTimeZone());
        } else {
            next = new Registration(target, location, existing.groups(), existing.registeredAt(), epoch, false,
                    existing.keyFingerprint());
            if (next.equals(existing)) {
                return;
            }
        }
        registrations.put(next);
        forward(viewEvent(record, ViewEvent.registered(next)));
    }

    private CommandResult rejection(UUID commandId, String reason) {
        return CommandResult.newBuilder().setCommandId(commandId).setProcessedAt(now())
                .setStatus(CommandStatus.REJECTED).setReason(reason).setInstructions(List.of()).build();
    }

    private Instant now() {
        return Instant.ofEpochMilli(context.currentSystemTimeMs()).truncatedTo(ChronoUnit.MILLIS);
    }

    /** Job instructions are keyed by job id, the others by {@code -}. */
    static byte[] key(SpecificRecord instruction) {
        String jobId = Instructions.jobIdOf(instruction);
        return jobId == null ? NO_JOB_KEY : jobId.getBytes(StandardCharsets.UTF_8);
    }

    /** The command id of the decoded header, else of the record key, else null. */
    private static UUID commandId(SpecificRecord header, byte[] key) {
        if (header instanceof CommandHeader h && h.getCommandId() != null) {
            return h.getCommandId();
        }
        if (key == null) {
            return null;
        }
        try {
            return UUID.fromString(new String(key, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
