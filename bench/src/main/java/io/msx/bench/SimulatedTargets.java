package io.msx.bench;

import io.msx.avro.InstructionHeader;
import io.msx.avro.instruction.PollNow;
import io.msx.avro.status.AckStatus;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.CheckInTrigger;
import io.msx.avro.status.InstructionAck;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.Topics;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Simulated targets answering force polls, as an agent does without its spool: one consumer (read_committed) over
 * their topics answers each PollNow with an ack and a forced check-in, with the targets' next seqs. Run it on a thread
 * of its own; {@link #stop()} ends it.
 */
final class SimulatedTargets implements Runnable {

    private final MsxCodec codec;
    private final StatusWriter writer;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final AtomicBoolean stop = new AtomicBoolean();

    SimulatedTargets(Map<String, Object> kafka, Topics topics, MsxCodec codec, SimulatedFleet fleet,
                     List<String> answering) {
        this.codec = codec;
        this.writer = StatusWriter.immediate(kafka, topics, codec, fleet);
        this.consumer = new KafkaConsumer<>(Clients.with(kafka, ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                "read_committed"), new ByteArrayDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> partitions = answering.stream()
                .map(t -> new TopicPartition(topics.target(t), 0)).toList();
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        partitions.forEach(consumer::position);
    }

    @Override
    public void run() {
        try {
            while (!stop.get()) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(1))) {
                    Decoded decoded = codec.decode(MessageFamily.INSTRUCTION, r.topic(), r.partition(), r.offset(),
                            r.value());
                    if (decoded instanceof Decoded.Message m && m.value() instanceof PollNow poll) {
                        InstructionHeader instruction = poll.getHeader();
                        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
                        writer.send(instruction.getTarget(), h -> InstructionAck.newBuilder().setHeader(h)
                                .setInstructionId(instruction.getInstructionId()).setOffset(r.offset())
                                .setStatus(AckStatus.APPLIED).setAppliedAt(now).build());
                        writer.send(instruction.getTarget(), h -> CheckIn.newBuilder().setHeader(h)
                                .setTrigger(CheckInTrigger.FORCED)
                                .setAnswersInstructionId(instruction.getInstructionId()).setLocalTime(now)
                                .setTimeZone("UTC").setAgentVersion("sim").setPollingIntervalSeconds(60).build());
                    }
                }
            }
        } finally {
            consumer.close();
            writer.close();
        }
    }

    void stop() {
        stop.set(true);
    }
}
