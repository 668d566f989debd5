package io.msx.master.internal;

import io.msx.avro.Instruction;
import io.msx.avro.InstructionAck;
import io.msx.avro.JobDelete;
import io.msx.avro.JobInsert;
import io.msx.avro.JobStart;
import io.msx.avro.JobStop;
import io.msx.avro.JobUpdate;
import io.msx.avro.PostedInstruction;
import io.msx.master.InstructionView;

import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The download list: every instruction posted (recorded once its transaction committed) and its acknowledgement
 * from the target. Bounded per target (the oldest rows go first). After a master restart it is rebuilt from Kafka:
 * instructions read back from the target topics (read_committed) and acknowledgements replayed from the status topic.
 * Thread-safe.
 */
public final class DownloadList {

    static final int PER_TARGET = 1000;

    private final Map<String, Row> byId = new HashMap<>();
    private final Map<String, Deque<Row>> byTarget = new HashMap<>();

    private static final class Row {
        final String target;
        final String instructionId;
        String operation;
        String object;
        java.time.Instant postedAt;
        InstructionAck ack;

        Row(String target, String instructionId) {
            this.target = target;
            this.instructionId = instructionId;
        }

        InstructionView view() {
            return new InstructionView(target, instructionId, operation, object, postedAt,
                    ack == null ? "POSTED" : ack.getStatus().name(), ack == null ? null : ack.getOffset(),
                    ack == null ? null : ack.getAppliedAt(), ack == null ? null : ack.getError());
        }
    }

    /** Records instructions whose transaction committed. */
    public synchronized void posted(List<Instruction> instructions, List<PostedInstruction> posted) {
        Map<String, String> operations = new HashMap<>();
        posted.forEach(p -> operations.put(p.getInstructionId().toString(), p.getOperation()));
        for (Instruction instruction : instructions) {
            Row row = row(instruction.getTarget(), instruction.getInstructionId().toString());
            row.operation = operations.get(row.instructionId);
            row.object = jobOf(instruction.getBody());
            row.postedAt = instruction.getPostedAt();
        }
    }

    /** Records an instruction read back from a target topic (rebuilding after a restart). */
    public synchronized void posted(Instruction instruction) {
        Row row = row(instruction.getTarget(), instruction.getInstructionId().toString());
        if (row.postedAt == null) {
            row.operation = operationOf(instruction.getBody());
            row.object = jobOf(instruction.getBody());
            row.postedAt = instruction.getPostedAt();
        }
    }

    /** The operation name of an instruction body, as PostedInstruction names it. */
    static String operationOf(Object body) {
        String simple = body.getClass().getSimpleName();
        return switch (simple) {
            case "PollNow" -> "POLL";
            case "SetPollInterval" -> "SET_POLL";
            case "SyncTime" -> "SYNC_TIME";
            case "JobInsert" -> "JOB_INSERT";
            case "JobUpdate" -> "JOB_UPDATE";
            case "JobDelete" -> "JOB_DELETE";
            case "JobStart" -> "JOB_START";
            case "JobStop" -> "JOB_STOP";
            default -> simple.toUpperCase(java.util.Locale.ROOT);
        };
    }

    /** Records a target's acknowledgement. */
    public synchronized void acked(String target, InstructionAck ack) {
        row(target, ack.getInstructionId().toString()).ack = ack;
    }

    /** Rows, newest first, optionally for one target and/or one job. */
    public synchronized List<InstructionView> list(String target, String job) {
        return byTarget.values().stream().flatMap(Deque::stream)
                .filter(r -> target == null || r.target.equals(target))
                .filter(r -> job == null || job.equals(r.object))
                .map(Row::view)
                .sorted(Comparator.comparing((InstructionView v) -> v.postedAt() != null ? v.postedAt()
                        : Objects.requireNonNullElse(v.appliedAt(), java.time.Instant.EPOCH)).reversed())
                .toList();
    }

    private Row row(String target, String id) {
        Row row = byId.get(id);
        if (row == null) {
            row = new Row(target, id);
            byId.put(id, row);
            Deque<Row> rows = byTarget.computeIfAbsent(target, t -> new ArrayDeque<>());
            rows.addLast(row);
            if (rows.size() > PER_TARGET) {
                byId.remove(rows.removeFirst().instructionId);
            }
        }
        return row;
    }

    static String jobOf(Object body) {
        if (body instanceof JobInsert i) {
            return i.getJob().getJobId();
        }
        if (body instanceof JobUpdate u) {
            return u.getJob().getJobId();
        }
        if (body instanceof JobDelete d) {
            return d.getJobId();
        }
        if (body instanceof JobStart s) {
            return s.getJobId();
        }
        if (body instanceof JobStop s) {
            return s.getJobId();
        }
        return null;
    }
}
