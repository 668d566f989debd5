package io.msx.spool;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The spool on real RocksDB; Kafka is a MockProducer here because the broker is not the point. */
class StatusSpoolTest {

    @TempDir
    Path dir;

    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

    private StatusSpoolConfig config(long maxBytes) {
        return new StatusSpoolConfig(Map.of(StatusSpoolConfig.SPOOL_DIR_CONFIG, dir.toString(),
                StatusSpoolConfig.SPOOL_MAX_BYTES_CONFIG, maxBytes));
    }

    private StatusSpool open(MockProducer<byte[], byte[]> producer, long maxBytes) {
        return StatusSpool.open("t", config(maxBytes), () -> producer, "status", Clock.systemUTC(), meters);
    }

    private static MockProducer<byte[], byte[]> holdingProducer() {
        // Nothing is ever acknowledged (no auto-completion, and flush completes nothing), as with a broker that is
        // unreachable: everything stays spooled.
        return new MockProducer<>(false, null, new ByteArraySerializer(), new ByteArraySerializer()) {
            @Override
            public synchronized void flush() {
            }
        };
    }

    private static byte[] payload(long seq) {
        return ("event-" + seq).getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void shouldKeepEventsAndContinueSequenceNumbersAcrossAReopen() {
        StatusSpool first = open(holdingProducer(), 1 << 20);
        long a = first.append("T1", StatusSpoolTest::payload);
        long b = first.append("T1", StatusSpoolTest::payload);
        first.close(Duration.ofMillis(200));

        StatusSpool second = open(holdingProducer(), 1 << 20);
        try {
            assertThat(b).isEqualTo(a + 1);
            assertThat(second.stats().depth()).isEqualTo(2);
            assertThat(second.append("T1", StatusSpoolTest::payload)).isEqualTo(b + 1);
        } finally {
            second.close(Duration.ofMillis(200));
        }
    }

    @Test
    void shouldDeliverInOrderAndForgetWhatKafkaAcknowledged() {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer());
        StatusSpool spool = open(producer, 1 << 20);
        try {
            for (int i = 0; i < 50; i++) {
                spool.append("T1", StatusSpoolTest::payload);
            }
            assertThat(spool.flush(Duration.ofSeconds(10))).isTrue();
            assertThat(spool.stats().depth()).isZero();
            assertThat(spool.bytes()).isZero();
            assertThat(producer.history()).extracting(r -> new String(r.value(), StandardCharsets.UTF_8))
                    .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, 50)
                            .mapToObj(s -> "event-" + s).toList());
            assertThat(producer.history()).extracting(ProducerRecord::topic).containsOnly("status");
            assertThat(meters.get("msx.spool.sent").counter().count()).isEqualTo(50);
        } finally {
            spool.close(Duration.ofSeconds(1));
        }
    }

    @Test
    void shouldRefuseAppendsLoudlyWhenFullAndCountThem() {
        StatusSpool spool = open(holdingProducer(), 1024);
        try {
            int appended = 0;
            SpoolFullException full = null;
            while (full == null) {
                try {
                    spool.append("T1", seq -> new byte[100]);
                    appended++;
                } catch (SpoolFullException e) {
                    full = e;
                }
            }
            // NORMAL appends get spool.max.bytes minus the reserve (at most half of it)
            assertThat(appended).isBetween(2, 4);
            assertThat(full).hasMessageContaining("spool t is full").hasMessageContaining("spool.max.bytes")
                    .hasMessageContaining("not appended");
            assertThat(spool.stats().rejectedAppends()).isEqualTo(1);
            assertThat(spool.stats().depth()).isEqualTo(appended);
            assertThat(meters.get("msx.spool.appends.rejected").counter().count()).isEqualTo(1);
            assertThat(meters.get("msx.spool.depth").gauge().value()).isEqualTo(appended);
        } finally {
            spool.close(Duration.ofMillis(200));
        }
    }

    @Test
    void shouldRefuseASpoolDirectoryOpenTwiceInOneProcess() {
        StatusSpool spool = open(holdingProducer(), 1 << 20);
        try {
            assertThatThrownBy(() -> open(holdingProducer(), 1 << 20))
                    .isInstanceOf(SpoolStorageException.class).hasMessageContaining("already open in this process");
        } finally {
            spool.close(Duration.ofMillis(200));
        }
    }

    @Test
    void shouldRefuseASpoolDirectoryLockedByAnotherProcess() throws Exception {
        Process holder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), LockHolder.class.getName(), dir.toString())
                .redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(),
                StandardCharsets.UTF_8))) {
            assertThat(out.readLine()).isEqualTo("locked");
            assertThatThrownBy(() -> open(holdingProducer(), 1 << 20))
                    .isInstanceOf(SpoolStorageException.class)
                    .hasMessageContaining("in use by another process (pid " + holder.pid() + ")");
        } finally {
            holder.getOutputStream().close();
            holder.waitFor();
        }
        // released with the other process: usable now
        open(holdingProducer(), 1 << 20).close(Duration.ofMillis(200));
    }

    @Test
    void shouldRefuseADirectoryHoldingSomethingElse() throws Exception {
        Files.writeString(dir.resolve("notes.txt"), "not a spool");
        assertThatThrownBy(() -> open(holdingProducer(), 1 << 20))
                .isInstanceOf(SpoolStorageException.class)
                .hasMessageContaining("is not empty and holds no spool").hasMessageContaining("notes.txt");
    }

    @Test
    void shouldRefuseARocksDbStoreThatIsNotASpool() throws Exception {
        try (Options options = new Options().setCreateIfMissing(true);
             RocksDB other = RocksDB.open(options, dir.toString())) {
            other.put("k".getBytes(StandardCharsets.UTF_8), "v".getBytes(StandardCharsets.UTF_8));
        }
        assertThatThrownBy(() -> open(holdingProducer(), 1 << 20))
                .isInstanceOf(SpoolStorageException.class).hasMessageContaining("is not an msx spool");
        try (Options options = new Options(); RocksDB other = RocksDB.open(options, dir.toString())) {
            assertThat(RocksDB.listColumnFamilies(options, dir.toString())).as("foreign store left untouched")
                    .hasSize(1);
        }
    }

    @Test
    void shouldRefuseACorruptStoreAtOpen() throws Exception {
        open(holdingProducer(), 1 << 20).close(Duration.ofMillis(200));
        Files.writeString(dir.resolve("CURRENT"), "MANIFEST-999999\n");
        assertThatThrownBy(() -> open(holdingProducer(), 1 << 20))
                .isInstanceOf(SpoolStorageException.class)
                .hasMessageContaining(dir.toString()).hasMessageContaining("holds no readable msx spool");
    }

    @Test
    void shouldCloseIdempotentlyAndRefuseAppendsAfterwards() {
        StatusSpool spool = open(holdingProducer(), 1 << 20);
        spool.close(Duration.ofMillis(200));
        spool.close(Duration.ofMillis(200));
        assertThatThrownBy(() -> spool.append("T1", StatusSpoolTest::payload))
                .isInstanceOf(OutboxException.class).hasMessageContaining("closed");
        assertThat(meters.find("msx.spool.depth").gauge()).as("meters removed on close").isNull();
    }

    @Test
    void shouldShareSyncsBetweenConcurrentAppenders() throws Exception {
        StatusSpool spool = open(holdingProducer(), 64L << 20);
        try {
            List<Thread> threads = new java.util.ArrayList<>();
            java.util.Set<Long> seqs = java.util.concurrent.ConcurrentHashMap.newKeySet();
            for (int t = 0; t < 8; t++) {
                Thread thread = new Thread(() -> {
                    for (int i = 0; i < 200; i++) {
                        seqs.add(spool.append("T1", StatusSpoolTest::payload));
                    }
                }, "appender-" + t);
                threads.add(thread);
                thread.start();
            }
            for (Thread thread : threads) {
                thread.join();
            }
            assertThat(seqs).hasSize(1600);
            assertThat(spool.stats().depth()).isEqualTo(1600);
            await().atMost(Duration.ofSeconds(5)).until(() -> spool.stats().lastSeq() == 1600);
        } finally {
            spool.close(Duration.ofMillis(200));
        }
    }

    @Test
    void shouldWriteStateTogetherWithTheEventAndKeepItAcrossAReopen() {
        StatusSpoolConfig withState = new StatusSpoolConfig(Map.of(StatusSpoolConfig.SPOOL_DIR_CONFIG, dir.toString(),
                StatusSpoolConfig.SPOOL_STATE_COLUMN_FAMILIES_CONFIG, "jobs,agent"));
        byte[] key = "offset".getBytes(StandardCharsets.UTF_8);
        StatusSpool spool = StatusSpool.open("t", withState, StatusSpoolTest::holdingProducer, "status",
                Clock.systemUTC(), meters);
        spool.append(new StatusOutbox.Append("T1", StatusSpoolTest::payload, List.of(
                new StateChange.Put("agent", key, new byte[] {7}),
                new StateChange.Put("jobs", "j1".getBytes(StandardCharsets.UTF_8), new byte[] {1})),
                StatusOutbox.Priority.NORMAL));
        spool.writeState(List.of(new StateChange.Delete("jobs", "j1".getBytes(StandardCharsets.UTF_8))));
        assertThatThrownBy(() -> spool.writeState(List.of(new StateChange.Put("nope", key, key))))
                .isInstanceOf(OutboxException.class).hasMessageContaining("no state column family 'nope'");
        spool.close(Duration.ofMillis(200));

        StatusSpool reopened = StatusSpool.open("t", withState, StatusSpoolTest::holdingProducer, "status",
                Clock.systemUTC(), meters);
        try {
            assertThat(reopened.stateGet("agent", key)).containsExactly(7);
            List<String> jobs = new java.util.ArrayList<>();
            reopened.stateForEach("jobs", (k, v) -> jobs.add(new String(k, StandardCharsets.UTF_8)));
            assertThat(jobs).isEmpty();
            assertThat(reopened.stats().depth()).isEqualTo(1);
        } finally {
            reopened.close(Duration.ofMillis(200));
        }
    }
}
