package io.msx.spool.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 */
public final class SpoolWriter implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(SpoolWriter.class);
    private static final int MAX_BATCH = 1000;

    /**
     * One queued write: its events (consecutive sequence numbers; none for state changes only), the owner's state
     * changes written in the same batch, and its caller's wait.
     */
    public record Pending(List<SpooledEvent> events, List<io.msx.spool.StateChange> changes,
                          CompletableFuture<Void> durable) {

        /** Bytes its events count against the spool's bound. */
        public long size() {
            long size = 0;
            for (SpooledEvent event : events) {
                size += event.size();
            }
            return size;
        }
    }

    private final SpoolStore store;
    private final BlockingQueue<Pending> queue;
    private final Runnable afterWrite;
    private final java.util.function.Consumer<Pending> onFailure;
    private volatile boolean stopping;

    public SpoolWriter(SpoolStore store, int queueSize, Runnable afterWrite,
                       java.util.function.Consumer<Pending> onFailure) {
        this.store = store;
        this.queue = new ArrayBlockingQueue<>(queueSize);
        this.afterWrite = afterWrite;
        this.onFailure = onFailure;
    }

    /** Queues an append, blocking while the queue is full. */
    public void enqueue(Pending pending) throws InterruptedException {
        queue.put(pending);
    }

    @Override
    public void run() {
        List<Pending> batch = new ArrayList<>(MAX_BATCH);
        while (!stopping || !queue.isEmpty()) {
            try {
                Pending first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, MAX_BATCH - 1);
                write(batch);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } finally {
                batch.clear();
            }
        }
        // Anything still queued (interrupted shutdown) was never written: tell its callers.
        List<Pending> left = new ArrayList<>();
        queue.drainTo(left);
        left.forEach(p -> fail(p, new io.msx.spool.OutboxException("spool closed before the event was written")));
    }

    private void write(List<Pending> batch) {
        List<SpooledEvent> events = new ArrayList<>(batch.size());
        List<List<io.msx.spool.StateChange>> changes = new ArrayList<>(batch.size());
        batch.forEach(p -> {
            // the store writes events and changes pairwise: the changes go with the last event (or none)
            for (int i = 0; i + 1 < p.events().size(); i++) {
                events.add(p.events().get(i));
                changes.add(List.of());
            }
            events.add(p.events().isEmpty() ? null : p.events().get(p.events().size() - 1));
            changes.add(p.changes());
        });
        try {
            store.append(events, changes);
        } catch (RuntimeException e) {
            log.error("Spool write of {} event(s) failed: {}", batch.size(), e.getMessage());
            batch.forEach(p -> fail(p, e));
            return;
        }
        batch.forEach(p -> p.durable().complete(null));
        afterWrite.run();
    }

    private void fail(Pending pending, RuntimeException e) {
        onFailure.accept(pending);
        pending.durable().completeExceptionally(e);
    }

    /** Writes what is queued, then lets {@link #run()} return. */
    public void stop() {
        stopping = true;
    }
}
