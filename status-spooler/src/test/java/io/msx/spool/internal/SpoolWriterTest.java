package io.msx.spool.internal;

import io.msx.Threads;
import io.msx.spool.OutboxException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The writer on real RocksDB whose writes fail (the store is closed underneath it). */
class SpoolWriterTest {

    @TempDir
    Path dir;

    @Test
    void shouldFailThePendingAndEveryLaterAppendWhenTheStoreRefusesAWrite() throws Exception {
        SpoolStore store = SpoolStore.open(dir, List.of());
        store.close();
        AtomicReference<String> failure = new AtomicReference<>();
        AtomicLong released = new AtomicLong();
        SpoolWriter writer = new SpoolWriter(store, 10, new SpoolWriter.Listener() {
            @Override
            public void written() {
            }

            @Override
            public void notWritten(SpoolWriter.Pending pending) {
                released.addAndGet(pending.events().size());
            }

            @Override
            public void writeFailed(RuntimeException error) {
                failure.compareAndSet(null, "storage write failed: " + error.getMessage());
            }

            @Override
            public String refusal() {
                return failure.get() == null ? null : "spool t FAILED: " + failure.get();
            }
        });
        Thread thread = Threads.supervised("msx-spool-test-writer", writer, e -> { });
        thread.start();
        try {
            SpoolWriter.Pending first = pending(1);
            writer.enqueue(first);
            assertThatThrownBy(() -> first.durable().get(5, java.util.concurrent.TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).cause().isInstanceOf(OutboxException.class)
                    .hasMessageContaining("spool storage write failed").hasMessageContaining("closed");
            assertThat(failure.get()).contains("closed");

            SpoolWriter.Pending later = pending(2);
            writer.enqueue(later);
            assertThatThrownBy(() -> later.durable().get(5, java.util.concurrent.TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).cause().isInstanceOf(OutboxException.class)
                    .hasMessageContaining("FAILED: storage write failed").hasMessageContaining("not appended");
            assertThat(released).hasValue(2);
        } finally {
            writer.stop();
            assertThat(Threads.joinUntil(thread, System.nanoTime() + Duration.ofSeconds(5).toNanos())).isTrue();
        }
        assertThatThrownBy(() -> writer.enqueue(pending(3))).as("nothing waits on an ended writer")
                .isInstanceOf(OutboxException.class).hasMessageContaining("not appended");
    }

    private static SpoolWriter.Pending pending(long seq) {
        return new SpoolWriter.Pending(List.of(new SpooledEvent(seq, 0, "T1".getBytes(StandardCharsets.UTF_8),
                new byte[] {1})), List.of(), new CompletableFuture<>());
    }
}
