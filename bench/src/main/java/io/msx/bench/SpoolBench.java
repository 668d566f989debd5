package io.msx.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.msx.local.Directories;
import io.msx.local.EmbeddedKafka;
import io.msx.spool.StatusSpool;
import io.msx.spool.StatusSpoolConfig;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The spool against raw baselines, side by side in one run on a local broker and the same disk:
 * <ul>
 *   <li>durable appends vs raw RocksDB synced single-put WriteBatches of the same bytes (1 and 8 threads);</li>
 *   <li>draining a backlog to Kafka vs a raw idempotent acks=all producer sending the same records.</li>
 * </ul>
 * Each figure is the median of {@value #ROUNDS} rounds after a warm-up round.
 */
final class SpoolBench {

    private static final int ROUNDS = 3;
    private static final int VALUE_BYTES = 200;
    private static final byte[] KEY = "T1".getBytes(StandardCharsets.UTF_8);

    private SpoolBench() {
    }

    static void main() throws Exception {
        Path root = Files.createTempDirectory("msx-bench-");
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            Table table = new Table();
            for (int threads : new int[] {1, 8}) {
                int perThread = threads == 1 ? 2000 : 1000;
                double raw = median(() -> rawRocksAppends(root, threads, perThread));
                double spool = median(() -> spoolAppends(root, kafka, threads, perThread));
                table.add("durable appends, " + threads + " thread(s)", "ev/s", raw, spool);
            }
            int backlog = 50_000;
            double producer = median(() -> rawProducer(kafka, backlog));
            double drain = median(() -> spoolDrain(root, kafka, backlog));
            table.add("drain " + backlog + " events to Kafka", "ev/s", producer, drain);
            System.out.println();
            System.out.printf("msx spool benchmark: %d-byte values, median of %d rounds, %d cores%n", VALUE_BYTES,
                    ROUNDS, Runtime.getRuntime().availableProcessors());
            table.print("baseline (raw RocksDB sync / raw producer)");
        } finally {
            Directories.deleteRecursively(root);
        }
    }

    @FunctionalInterface
    interface Round {
        double eventsPerSecond() throws Exception;
    }

    private static double median(Round round) throws Exception {
        round.eventsPerSecond(); // warm-up
        double[] results = new double[ROUNDS];
        for (int i = 0; i < ROUNDS; i++) {
            results[i] = round.eventsPerSecond();
        }
        Arrays.sort(results);
        return results[ROUNDS / 2];
    }

    private static byte[] value(long seq) {
        byte[] value = new byte[VALUE_BYTES];
        ByteBuffer.wrap(value).putLong(seq);
        return value;
    }

    /** Baseline: each thread writes single-put batches, synced, WAL on; the same bytes the spool stores. */
    private static double rawRocksAppends(Path root, int threads, int perThread) throws Exception {
        RocksDB.loadLibrary();
        Path dir = root.resolve("raw-" + UUID.randomUUID());
        AtomicLong seqs = new AtomicLong();
        try (Options options = new Options().setCreateIfMissing(true);
             RocksDB db = RocksDB.open(options, dir.toString());
             WriteOptions sync = new WriteOptions().setSync(true)) {
            return timed(threads, perThread, () -> {
                long seq = seqs.incrementAndGet();
                try (WriteBatch batch = new WriteBatch()) {
                    batch.put(ByteBuffer.allocate(8).putLong(seq).array(), storedValue(seq));
                    db.write(sync, batch);
                }
            });
        }
    }

    /** What the spool stores per event: header (13 bytes), key, value. */
    private static byte[] storedValue(long seq) {
        return ByteBuffer.allocate(13 + KEY.length + VALUE_BYTES).put((byte) 1).putLong(seq).putInt(KEY.length)
                .put(KEY).put(value(seq)).array();
    }

    private static double spoolAppends(Path root, EmbeddedKafka kafka, int threads, int perThread) throws Exception {
        String topic = topic(kafka);
        StatusSpool spool = openSpool(root.resolve("spool-" + UUID.randomUUID()), kafka.adminClientProperties(),
                topic);
        try {
            return timed(threads, perThread, () -> spool.append("T1", SpoolBench::value));
        } finally {
            spool.close(Duration.ofSeconds(30));
        }
    }

    private static double rawProducer(EmbeddedKafka kafka, int count) throws Exception {
        String topic = topic(kafka);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Clients.with(kafka.adminClientProperties(),
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.LINGER_MS_CONFIG, 5), new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.partitionsFor(topic); // metadata before the clock starts, as the spool's relay has it
            long start = System.nanoTime();
            for (int i = 1; i <= count; i++) {
                producer.send(new ProducerRecord<>(topic, KEY, value(i)));
            }
            producer.flush();
            return count / seconds(start);
        }
    }

    /** A backlog built while the broker is cut off, then timed from the moment it is reachable until empty. */
    private static double spoolDrain(Path root, EmbeddedKafka kafka, int count) throws Exception {
        String topic = topic(kafka);
        Path dir = root.resolve("drain-" + UUID.randomUUID());
        kafka.proxy().cut();
        StatusSpool filling = openSpool(dir, Clients.via(kafka.adminClientProperties(),
                kafka.proxiedBootstrapServers()), topic);
        try {
            List<Thread> writers = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                Thread writer = new Thread(() -> {
                    for (int i = 0; i < count / 8; i++) {
                        filling.append("T1", SpoolBench::value);
                    }
                }, "bench-fill-" + t);
                writers.add(writer);
                writer.start();
            }
            for (Thread writer : writers) {
                writer.join();
            }
        } finally {
            filling.close(Duration.ofMillis(500));
            kafka.proxy().restore();
        }
        long start = System.nanoTime();
        StatusSpool draining = openSpool(dir, kafka.adminClientProperties(), topic);
        try {
            if (!draining.flush(Duration.ofMinutes(5))) {
                throw new IllegalStateException("spool did not drain within 5 minutes");
            }
            return count / seconds(start);
        } finally {
            draining.close(Duration.ofSeconds(30));
        }
    }

    private static StatusSpool openSpool(Path dir, Map<String, Object> kafka, String topic) {
        return StatusSpool.open("bench", new StatusSpoolConfig(Map.of(
                StatusSpoolConfig.SPOOL_DIR_CONFIG, dir.toString(),
                StatusSpoolConfig.SPOOL_MAX_BYTES_CONFIG, 1L << 30,
                StatusSpoolConfig.SPOOL_DELIVERY_TIMEOUT_MS_CONFIG, 5000)),
                kafka, topic, Clock.systemUTC(), new SimpleMeterRegistry());
    }

    private static String topic(EmbeddedKafka kafka) throws Exception {
        String topic = "bench-" + UUID.randomUUID();
        try (Admin admin = Admin.create(kafka.adminClientProperties())) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        }
        return topic;
    }

    @FunctionalInterface
    interface Op {
        void run() throws Exception;
    }

    private static double timed(int threads, int perThread, Op op) throws Exception {
        List<Thread> workers = new ArrayList<>();
        List<Exception> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        long start = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            Thread worker = new Thread(() -> {
                try {
                    for (int i = 0; i < perThread; i++) {
                        op.run();
                    }
                } catch (Exception e) {
                    errors.add(e);
                }
            }, "bench-worker-" + t);
            workers.add(worker);
            worker.start();
        }
        for (Thread worker : workers) {
            worker.join();
        }
        if (!errors.isEmpty()) {
            throw errors.get(0);
        }
        return (double) threads * perThread / seconds(start);
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
