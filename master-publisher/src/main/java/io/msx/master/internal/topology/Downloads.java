package io.msx.master.internal.topology;

import io.msx.avro.status.InstructionAck;
import io.msx.master.InstructionView;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

import java.time.Instant;
import java.util.function.Consumer;

/**
 * The download list: every instruction posted to a target and what became of it, in the {@code downloads} store
 * keyed {@code target NUL number(19 digits)} (numbered per target in posting order), with the {@code download-index}
 * store from instruction id to that key for acknowledgements. At most {@code perTarget} rows per target: posting one
 * more drops the oldest. Called from the stream thread (writes) or a query thread (reads).
 */
public final class Downloads {

    private static final StringSerializer KEYS = new StringSerializer();
    private static final char SEPARATOR = '\0';

    private final KeyValueStore<String, byte[]> rows;
    private final KeyValueStore<String, byte[]> index;
    private final int perTarget;

    public Downloads(KeyValueStore<String, byte[]> rows, KeyValueStore<String, byte[]> index, int perTarget) {
        this.rows = rows;
        this.index = index;
        this.perTarget = perTarget;
    }

    /** Records a posted instruction as the target's next row. */
    public void posted(TargetState target, ViewEvent posted) {
        long number = ++target.postedCount;
        String key = key(target.name, number);
        String id = posted.instructionId().toString();
        rows.put(key, JsonStore.write(new InstructionView(target.name, id, posted.operation(), posted.object(),
                posted.postedAt(), "POSTED", null, null, null, null)));
        index.put(id, key.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        if (number > perTarget) {
            String oldest = key(target.name, number - perTarget);
            byte[] dropped = rows.get(oldest);
            if (dropped != null) {
                index.delete(JsonStore.read(dropped, InstructionView.class).instructionId());
                rows.delete(oldest);
            }
        }
    }

    /**
     * Records an acknowledgement; one for a row already dropped (or never posted by this master), or for another
     * target's instruction, is ignored.
     */
    public void acked(String target, InstructionAck ack) {
        update(target, ack.getInstructionId().toString(), row -> new InstructionView(row.target(), row.instructionId(),
                row.operation(), row.object(), row.postedAt(), ack.getStatus().name(), ack.getOffset(),
                ack.getAppliedAt(), ack.getError(), row.checkInAt()));
    }

    /** Records the check-in that answered a POLL. */
    public void answered(String target, String instructionId, Instant checkInAt) {
        update(target, instructionId, row -> new InstructionView(row.target(), row.instructionId(), row.operation(),
                row.object(), row.postedAt(), row.status(), row.offset(), row.appliedAt(), row.error(), checkInAt));
    }

    private void update(String target, String instructionId,
                        java.util.function.UnaryOperator<InstructionView> change) {
        byte[] key = index.get(instructionId);
        if (key == null) {
            return;
        }
        String rowKey = new String(key, java.nio.charset.StandardCharsets.UTF_8);
        byte[] row = rows.get(rowKey);
        if (row != null) {
            InstructionView view = JsonStore.read(row, InstructionView.class);
            if (view.target().equals(target)) { // a target speaks for its own instructions only
                rows.put(rowKey, JsonStore.write(change.apply(view)));
            }
        }
    }

    private static String key(String target, long number) {
        return target + SEPARATOR + String.format("%019d", number);
    }

    /** Every row of one target (oldest first), or of every target when {@code target} is null. */
    public static void scan(ReadOnlyKeyValueStore<String, byte[]> rows, String target,
                            Consumer<InstructionView> action) {
        try (KeyValueIterator<String, byte[]> scan = target == null ? rows.all()
                : rows.prefixScan(target + SEPARATOR, KEYS)) {
            while (scan.hasNext()) {
                action.accept(JsonStore.read(scan.next().value, InstructionView.class));
            }
        }
    }

    /** One instruction's row, or null. */
    public static InstructionView find(ReadOnlyKeyValueStore<String, byte[]> rows,
                                       ReadOnlyKeyValueStore<String, byte[]> index, String instructionId) {
        byte[] key = index.get(instructionId);
        byte[] row = key == null ? null : rows.get(new String(key, java.nio.charset.StandardCharsets.UTF_8));
        return row == null ? null : JsonStore.read(row, InstructionView.class);
    }
}
