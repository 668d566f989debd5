package io.msx.spool.internal;

import io.msx.spool.OutboxException;
import io.msx.spool.StateChange;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Group commit: the single writer thread takes every append waiting in its bounded queue, writes them in one synced
 * RocksDB batch, and only then completes their futures. Appends are queued in sequence order, so the store only
 * ever holds a gap-free prefix of what was queued.
 *
 * <p>A failed write is never retried: its appends fail, the {@link Listener} is told (the spool becomes FAILED), and
 * every append queued after it fails too, with the reason {@link Listener#refusal()} gives. When the thread ends
 * (stopped, interrupted, or killed by an Error) whatever is still queued fails; nothing waits forever.
 */
public final class SpoolWriter implements Runnable {

    private static final int MAX_BATCH = 1000;

    /**
     * One queued write: its events (consecutive sequence numbers; none for state changes only), the owner's state
     * changes written in the same batch, and its caller's wait.
     */
    public record Pending(List<SpooledEvent> events, List<StateChange> changes, CompletableFuture<Void> durable) {

        /** Bytes its events count against the spool's bound. */
        public long size() {
            long size = 0;
            for (SpooledEvent event : events) {
                size += event.size();
            }
            return size;
        }
    }

    /** What the writer tells its spool, and asks it. */
    public interface Listener {
        /** A batch is durable (wake the relay). */
        void written();

        /** A queued append was not written; its caller is told by its future. Release its share of the bound. */
        void notWritten(Pending pending);

        /** The store refused a write: nothing more will be written. */
        void writeFailed(RuntimeException error);

        /** Why nothing more may be written (the spool failed), or null while healthy. */
        String refusal();
    }

    private final SpoolStore store;
    private final BlockingQueue<Pending> queue;
    private final Listener listener;
    private volatile boolean stopping;
    private volatile boolean ended;

    public SpoolWriter(SpoolStore store, int queueSize, Listener listener) {
        this.store = store;
        this.queue = new ArrayBlockingQueue<>(queueSize);
        this.listener = listener;
    }

    /**
     * Queues an append, blocking while the queue is full.
     *
     * @throws OutboxException when the writer thread has ended; the append was not queued
     */
    public void enqueue(Pending pending) throws InterruptedException {
        while (!queue.offer(pending, 100, TimeUnit.MILLISECONDS)) {
            if (ended) {
                throw notQueued();
            }
        }
        // ended is set before the final drain: either that drain fails this append, or we take it back here
        if (ended && queue.remove(pending)) {
            throw notQueued();
        }
    }

    private OutboxException notQueued() {
        String refusal = listener.refusal();
        return new OutboxException((refusal != null ? refusal : "spool writer stopped") + "; not appended");
    }

    @Override
    public void run() {
        List<Pending> batch = new ArrayList<>(MAX_BATCH);
        try {
            while (!stopping || !queue.isEmpty()) {
                Pending first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, MAX_BATCH - 1);
                String refusal = listener.refusal();
                if (refusal != null) {
                    failAll(batch, new OutboxException(refusal + "; not appended"));
                } else {
                    write(batch);
                }
                batch.clear();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            ended = true;
            String refusal = listener.refusal();
            OutboxException gone = new OutboxException((refusal != null ? refusal
                    : "spool writer stopped before the event was written") + "; not appended");
            failAll(batch, gone);
            List<Pending> left = new ArrayList<>();
            queue.drainTo(left);
            failAll(left, gone);
        }
    }

    private void write(List<Pending> batch) {
        List<SpooledEvent> events = new ArrayList<>(batch.size());
        List<List<StateChange>> changes = new ArrayList<>(batch.size());
        for (Pending p : batch) {
            // the store takes events and changes pairwise: a Pending's changes go with its last event (or none)
            for (int i = 0; i + 1 < p.events().size(); i++) {
                events.add(p.events().get(i));
                changes.add(List.of());
            }
            events.add(p.events().isEmpty() ? null : p.events().get(p.events().size() - 1));
            changes.add(p.changes());
        }
        try {
            store.append(events, changes);
        } catch (RuntimeException e) {
            // the spool is FAILED before any caller hears of the failure: one that looks right away sees it
            listener.writeFailed(e);
            failAll(batch, new OutboxException("spool storage write failed: " + e.getMessage()
                    + "; not appended", e));
            return;
        }
        batch.forEach(p -> p.durable().complete(null));
        listener.written();
    }

    private void failAll(List<Pending> pendings, RuntimeException e) {
        for (Pending pending : pendings) {
            // a Pending already completed was written and holds its share. Only this thread completes them, so the
            // share is released before its caller is told, and sees the spool's counts already right.
            if (!pending.durable().isDone()) {
                listener.notWritten(pending);
                pending.durable().completeExceptionally(e);
            }
        }
    }

    /** Writes what is queued, then lets {@link #run()} return. */
    public void stop() {
        stopping = true;
    }
}
