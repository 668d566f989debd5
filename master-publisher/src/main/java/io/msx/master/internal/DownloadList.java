package io.msx.master.internal;

import io.msx.avro.InstructionHeader;
import io.msx.avro.status.InstructionAck;
import io.msx.master.InstructionView;
import org.apache.avro.specific.SpecificRecord;

import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.HashMap;
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

    /** Records instructions (records of the instruction family) whose transaction committed. */
    public synchronized void posted(List<SpecificRecord> instructions) {
        instructions.forEach(this::posted);
    }

    /**
     * Records one posted instruction (also when read back from a target topic after a restart).
     *
     * @throws IllegalArgumentException when the record is not an instruction
     */
    public synchronized void posted(SpecificRecord instruction) {
        InstructionHeader header = Instructions.header(instruction);
        Row row = row(header.getTarget(), header.getInstructionId().toString());
        if (row.postedAt == null) {
            row.operation = Instructions.operationOf(instruction);
            row.object = Instructions.jobIdOf(instruction);
            row.postedAt = header.getPostedAt();
        }
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
}
