package io.msx.bench;

import io.msx.avro.CommandHeader;
import io.msx.avro.command.ForcePoll;
import io.msx.master.MasterPublisher;
import io.msx.master.TargetView;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * Force-poll round trips (command produced until the answering check-in is in the master's view) and their raw
 * baseline, two produce-consume hops (the minimum such a round trip needs: command to target, check-in back).
 */
final class ForcePolls {

    static final String HOP_A = "bench.hop-a";
    static final String HOP_B = "bench.hop-b";
    private static final int POLLS = 300;
    private static final int WARM_UP = 20;

    private ForcePolls() {
    }

    /** Sequential polls of random targets: command produced until the answering check-in is in the view. */
    static long[] forcePolls(Map<String, Object> kafka, Topics topics, MsxCodec codec, MasterPublisher master,
                             List<String> targets) {
        Random random = new Random(42);
        long[] latencies = new long[POLLS];
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Clients.with(kafka,
                ProducerConfig.LINGER_MS_CONFIG, 0),
                new StringSerializer(), new ByteArraySerializer())) {
            for (int i = -WARM_UP; i < POLLS; i++) {
                String target = targets.get(random.nextInt(targets.size()));
                String before = master.target(target).map(TargetView::lastAnsweredInstructionId).orElse(null);
                ForcePoll command = ForcePoll.newBuilder().setHeader(header()).setTargets(List.of(target)).build();
                byte[] bytes = codec.encode(command);
                long start = System.nanoTime();
                producer.send(new ProducerRecord<>(topics.commands(), command.getHeader().getCommandId().toString(),
                        bytes));
                while (Objects.equals(before,
                        master.target(target).map(TargetView::lastAnsweredInstructionId).orElse(null))) {
                    LockSupport.parkNanos(50_000);
                    if (System.nanoTime() - start > Duration.ofSeconds(30).toNanos()) {
                        throw new IllegalStateException("poll of " + target + " not answered within 30 s");
                    }
                }
                if (i >= 0) {
                    latencies[i] = System.nanoTime() - start;
                }
            }
        }
        return latencies;
    }

    /** Baseline: produce to A, an echo consumer forwards to B, measure until it is consumed from B. */
    static long[] rawTwoHops(Map<String, Object> kafka) throws InterruptedException {
        Map<String, Object> producerConfig = Clients.with(kafka, ProducerConfig.LINGER_MS_CONFIG, 0,
                ProducerConfig.ACKS_CONFIG, "all");
        Map<String, Object> consumerConfig = kafka;
        AtomicBoolean stop = new AtomicBoolean();
        Thread echo = new Thread(() -> {
            try (KafkaConsumer<byte[], byte[]> in = new KafkaConsumer<>(consumerConfig, new ByteArrayDeserializer(),
                    new ByteArrayDeserializer());
                 KafkaProducer<byte[], byte[]> out = new KafkaProducer<>(producerConfig, new ByteArraySerializer(),
                         new ByteArraySerializer())) {
                in.assign(List.of(new TopicPartition(HOP_A, 0)));
                while (!stop.get()) {
                    for (ConsumerRecord<byte[], byte[]> r : in.poll(Duration.ofMillis(1))) {
                        out.send(new ProducerRecord<>(HOP_B, r.value()));
                    }
                }
            }
        }, "bench-echo");
        long[] latencies = new long[POLLS];
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerConfig, new ByteArraySerializer(),
                new ByteArraySerializer());
             KafkaConsumer<byte[], byte[]> back = new KafkaConsumer<>(consumerConfig, new ByteArrayDeserializer(),
                     new ByteArrayDeserializer())) {
            TopicPartition b = new TopicPartition(HOP_B, 0);
            back.assign(List.of(b));
            back.seekToEnd(List.of(b));
            back.position(b);
            echo.start();
            Thread.sleep(1000); // let the echo consumer take its partition before measuring
            for (int i = -WARM_UP; i < POLLS; i++) {
                long start = System.nanoTime();
                producer.send(new ProducerRecord<>(HOP_A, new byte[100]));
                int got = 0;
                while (got == 0) {
                    got = back.poll(Duration.ofMillis(1)).count();
                }
                if (i >= 0) {
                    latencies[i] = System.nanoTime() - start;
                }
            }
        } finally {
            stop.set(true);
            echo.join(5000);
        }
        return latencies;
    }

    static CommandHeader header() {
        return CommandHeader.newBuilder().setCommandId(UUID.randomUUID())
                .setIssuedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS)).build();
    }

    static long percentile(long[] values, int p) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
    }
}
