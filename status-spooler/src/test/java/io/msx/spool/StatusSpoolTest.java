package io.msx.spool;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.errors.RecordTooLargeException;
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
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

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

    private StatusSpool open(MockProducer<byte[], byte[]> producer, Map<String, Object> settings) {
        Map<String, Object> values = new HashMap<>(settings);
        values.put(StatusSpoolConfig.SPOOL_DIR_CONFIG, dir.toString());
        return StatusSpool.open("t", new StatusSpoolConfig(values), () -> producer, "status", Clock.systemUTC(),
                meters);
    }

    /** Acknowledges every record at once, except those whose value {@code refuse} picks: failed as Kafka would. */
    private static MockProducer<byte[], byte[]> failingProducer(Predicate<String> refuse,
                                                                java.util.function.Supplier<RuntimeException> error) {
        return new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer()) {
            @Override
            public synchronized Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record,
                                                            Callback callback) {
                if (refuse.test(new String(record.value(), StandardCharsets.UTF_8))) {
                    return CompletableFuture.failedFuture(error.get());
                }
                return super.send(record, callback);
            }
        };
    }

    private static MockProducer<byte[], byte[]> tooLargeProducer() {
        return failingProducer(v -> v.startsWith("big"), () -> new RecordTooLargeException("too large"));
    }

    private static byte[] big(long seq, int size) {
        byte[] value = Arrays.copyOf(("big-" + seq + "-").getBytes(StandardCharsets.UTF_8), size);
        Arrays.fill(value, 8, size, (byte) 'x');
        return value;
    }

    private static List<String> sentValues(MockProducer<byte[], byte[]> producer) {
        return producer.history().stream().map(r -> new String(r.value(), StandardCharsets.UTF_8)).toList();
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
            // NORMAL appends get spool.max.bytes minus the reserve (at most half of it): 4 events of 123 bytes
            assertThat(appended).isEqualTo(4);
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

    @Test
    void shouldRefuseNormalAppendsAtMaxMinusReserveAndReservedOnesAtMax() {
        // 2048 bytes, reserve 1024 (half); an event of value v and key T1 counts 8 + 13 + 2 + v bytes
        StatusSpool spool = open(holdingProducer(), 2048);
        try {
            assertThatThrownBy(() -> spool.append(event(1002, StatusOutbox.Priority.NORMAL)))
                    .as("one byte over max - reserve").isInstanceOf(SpoolFullException.class);
            spool.append(event(1001, StatusOutbox.Priority.NORMAL));
            assertThat(spool.bytes()).isEqualTo(1024);
            assertThat(spool.stats().full()).isTrue();
            assertThatThrownBy(() -> spool.append(event(1, StatusOutbox.Priority.NORMAL)))
                    .isInstanceOf(SpoolFullException.class).hasMessageContaining("NORMAL");
            assertThatThrownBy(() -> spool.append(event(1002, StatusOutbox.Priority.RESERVED)))
                    .as("one byte over max").isInstanceOf(SpoolFullException.class);
            spool.append(event(1001, StatusOutbox.Priority.RESERVED));
            assertThat(spool.bytes()).isEqualTo(2048);
            assertThatThrownBy(() -> spool.append(event(0, StatusOutbox.Priority.RESERVED)))
                    .isInstanceOf(SpoolFullException.class).hasMessageContaining("RESERVED");
            assertThat(spool.stats().depth()).isEqualTo(2);
            assertThat(spool.stats().rejectedAppends()).isEqualTo(4);
        } finally {
            spool.close(Duration.ofMillis(200));
        }
    }

    private static StatusOutbox.Append event(int valueBytes, StatusOutbox.Priority priority, StateChange... changes) {
        return new StatusOutbox.Append("T1", seq -> new byte[valueBytes], List.of(changes), priority);
    }

    @Test
    void shouldAppendNothingOfABatchWhenOneOfItsEventsDoesNotFit() {
        StatusSpool spool = open(holdingProducer(), Map.of(StatusSpoolConfig.SPOOL_MAX_BYTES_CONFIG, 2048L,
                StatusSpoolConfig.SPOOL_STATE_COLUMN_FAMILIES_CONFIG, "jobs"));
        byte[] key = "j1".getBytes(StandardCharsets.UTF_8);
        try {
            // 523 + 623 bytes: over the 1024 NORMAL appends may use
            assertThatThrownBy(() -> spool.appendAll(List.of(
                    event(500, StatusOutbox.Priority.NORMAL, new StateChange.Put("jobs", key, new byte[] {1})),
                    event(600, StatusOutbox.Priority.NORMAL))))
                    .isInstanceOf(SpoolFullException.class);
            assertThat(spool.stats().depth()).isZero();
            assertThat(spool.stats().lastSeq()).isZero();
            assertThat(spool.bytes()).isZero();
            assertThat(spool.stateGet("jobs", key)).isNull();

            long[] seqs = spool.appendAll(List.of(
                    event(500, StatusOutbox.Priority.NORMAL, new StateChange.Put("jobs", key, new byte[] {1})),
                    event(600, StatusOutbox.Priority.RESERVED)));
            assertThat(seqs).containsExactly(1, 2);
            assertThat(spool.stateGet("jobs", key)).containsExactly(1);
            assertThat(spool.stats().depth()).isEqualTo(2);
        } finally {
            spool.close(Duration.ofMillis(200));
        }
    }

    @Test
    void shouldDeadLetterAnEventKafkaRefusesForGoodAndDeliverTheEventsAfterItInOrder() {
        MockProducer<byte[], byte[]> producer = tooLargeProducer();
        StatusSpool spool = open(producer, Map.of(StatusSpoolConfig.SPOOL_DEAD_LETTER_VALUE_MAX_BYTES_CONFIG, 16));
        long bigSeq;
        try {
            spool.append("T1", StatusSpoolTest::payload);
            bigSeq = spool.append("T1", seq -> big(seq, 2000));
            for (int i = 0; i < 3; i++) {
                spool.append("T1", StatusSpoolTest::payload);
            }
            assertThat(spool.flush(Duration.ofSeconds(10))).isTrue();
            assertThat(sentValues(producer)).containsExactly("event-1", "event-3", "event-4", "event-5");
            assertThat(spool.stats().deadLettered()).isEqualTo(1);
            assertThat(spool.stats().depth()).isZero();
            assertThat(spool.bytes()).isZero();
            assertThat(spool.failure()).isEmpty();
            assertThat(meters.get("msx.spool.dead.lettered").counter().count()).isEqualTo(1);
            assertThat(spool.deadLetters(10)).singleElement().satisfies(dead -> {
                assertThat(dead.seq()).isEqualTo(bigSeq);
                assertThat(dead.key()).isEqualTo("T1");
                assertThat(dead.reason()).contains("RecordTooLargeException").contains("too large");
                assertThat(dead.valueSize()).isEqualTo(2000);
                assertThat(dead.valuePrefix()).containsExactly(Arrays.copyOf(big(bigSeq, 2000), 16));
                assertThat(dead.truncated()).isTrue();
            });
        } finally {
            spool.close(Duration.ofSeconds(1));
        }

        StatusSpool reopened = open(holdingProducer(), 1 << 20);
        try {
            assertThat(reopened.stats().deadLettered()).as("counted since the store was created").isEqualTo(1);
            assertThat(reopened.deadLetters(10)).extracting(DeadLetter::seq).containsExactly(bigSeq);
            assertThat(reopened.stats().depth()).isZero();
        } finally {
            reopened.close(Duration.ofMillis(200));
        }
    }

    @Test
    void shouldEvictTheOldestDeadLettersOnlyBeyondTheBound() {
        Map<String, Object> settings = Map.of(StatusSpoolConfig.SPOOL_DEAD_LETTER_VALUE_MAX_BYTES_CONFIG, 400);
        StatusSpool first = open(tooLargeProducer(), settings);
        long one;
        try {
            first.append("T1", seq -> big(seq, 1000));
            assertThat(first.flush(Duration.ofSeconds(10))).isTrue();
            one = first.deadLetterBytes();
        } finally {
            first.close(Duration.ofSeconds(1));
        }
        assertThat(one).isGreaterThan(400);

        // room for exactly three dead letters of the same size
        Map<String, Object> bounded = new HashMap<>(settings);
        bounded.put(StatusSpoolConfig.SPOOL_DEAD_LETTER_MAX_BYTES_CONFIG, 3 * one);
        StatusSpool spool = open(tooLargeProducer(), bounded);
        try {
            assertThat(spool.deadLetterBytes()).isEqualTo(one);
            spool.append("T1", seq -> big(seq, 1000));
            spool.append("T1", seq -> big(seq, 1000));
            assertThat(spool.flush(Duration.ofSeconds(10))).isTrue();
            assertThat(spool.deadLetterBytes()).as("at the bound").isEqualTo(3 * one);
            assertThat(spool.deadLetters(10)).extracting(DeadLetter::seq).containsExactly(1L, 2L, 3L);
            assertThat(meters.get("msx.spool.dead.letters.evicted").counter().count()).isZero();

            spool.append("T1", seq -> big(seq, 1000));
            assertThat(spool.flush(Duration.ofSeconds(10))).isTrue();
            assertThat(spool.deadLetters(10)).extracting(DeadLetter::seq).containsExactly(2L, 3L, 4L);
            assertThat(spool.deadLetterBytes()).isEqualTo(3 * one);
            assertThat(meters.get("msx.spool.dead.letters.evicted").counter().count()).isEqualTo(1);
            assertThat(spool.stats().deadLettered()).as("evicted ones stay counted").isEqualTo(4);
        } finally {
            spool.close(Duration.ofSeconds(1));
        }
    }

    @Test
    void shouldRetryATransientFailureInOrderAndDeadLetterNothing() {
        AtomicInteger failures = new AtomicInteger();
        MockProducer<byte[], byte[]> producer = failingProducer(
                v -> v.equals("event-2") && failures.incrementAndGet() <= 3,
                () -> new NotEnoughReplicasException("not enough replicas"));
        StatusSpool spool = open(producer, Map.of(StatusSpoolConfig.SPOOL_RETRY_BACKOFF_MAX_MS_CONFIG, 50));
        try {
            for (int i = 0; i < 3; i++) {
                spool.append("T1", StatusSpoolTest::payload);
            }
            assertThat(spool.flush(Duration.ofSeconds(10))).isTrue();
            assertThat(sentValues(producer)).containsExactly("event-1", "event-2", "event-3");
            assertThat(failures).hasValueGreaterThan(3);
            assertThat(meters.get("msx.spool.send.errors").counter().count()).isEqualTo(3);
            assertThat(spool.stats().deadLettered()).isZero();
            assertThat(spool.deadLetters(10)).isEmpty();
            assertThat(spool.failure()).isEmpty();
        } finally {
            spool.close(Duration.ofSeconds(1));
        }
    }

    @Test
    void shouldFailAndRefuseAppendsNamingTheReasonWhenTheRelayThreadDies() {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer()) {
            @Override
            public synchronized Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record,
                                                            Callback callback) {
                throw new AssertionError("relay bug");
            }
        };
        StatusSpool spool = open(producer, 1 << 20);
        try {
            assertThat(spool.failure()).isEmpty();
            spool.append("T1", StatusSpoolTest::payload);
            await().atMost(Duration.ofSeconds(5)).alias("spool FAILED").until(() -> spool.failure().isPresent());
            assertThat(spool.failure()).get(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                    .contains("relay thread died").contains("relay bug");
            assertThatThrownBy(() -> spool.append("T1", StatusSpoolTest::payload))
                    .isInstanceOf(OutboxException.class).hasMessageContaining("FAILED")
                    .hasMessageContaining("relay bug").hasMessageContaining("not appended");
            assertThatThrownBy(() -> spool.writeState(List.of()))
                    .isInstanceOf(OutboxException.class).hasMessageContaining("relay bug");
            assertThat(spool.stats().depth()).as("the appended event stays spooled").isEqualTo(1);
            assertThat(spool.flush(Duration.ofSeconds(5))).as("no relay left to wait for").isFalse();
        } finally {
            spool.close(Duration.ofSeconds(1));
        }
    }
}
