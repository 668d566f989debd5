package io.msx.bench;

import io.msx.avro.CommandResult;
import io.msx.avro.InstructionHeader;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.command.UpsertJob;
import io.msx.avro.instruction.JobInsert;
import io.msx.master.client.CommandClient;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.schemas.Topics;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Fan-out of one job to every target: an UpsertJob naming them all, command produced until its result is committed
 * and read back, against a raw idempotent producer sending the same JobInsert records (the job with its target list
 * cut to the one target, as the master posts it) to the same target topics and flushing. Median of {@code rounds} rounds after one warm-up.
 */
final class FanOuts {

    private static final String JOB_ID = "fan";

    private FanOuts() {
    }

    static JobDefinition job(List<String> targets, String name) {
        return JobDefinition.newBuilder().setJobId(JOB_ID).setName(name).setTargets(targets)
                .setSteps(List.of(JobStep.newBuilder().setStepId(1).setName("s").setCommand(List.of("true")).build()))
                .build();
    }

    /**
     * Instructions per second of a raw idempotent producer writing one JobInsert to each target topic: the records
     * the master writes (the job's target list cut to the target it goes to).
     */
    static double raw(Map<String, Object> kafka, Topics topics, MsxCodec codec, List<String> targets, int rounds) {
        double[] rates = new double[rounds];
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Clients.with(kafka,
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true, ProducerConfig.ACKS_CONFIG, "all"),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int round = -1; round < rounds; round++) {
                JobDefinition job = job(targets, "raw-" + round);
                long start = System.nanoTime();
                for (String target : targets) {
                    producer.send(new ProducerRecord<>(topics.target(target), JOB_ID.getBytes(StandardCharsets.UTF_8),
                            codec.encode(JobInsert.newBuilder().setHeader(InstructionHeader.newBuilder()
                                    .setInstructionId(UUID.randomUUID()).setTarget(target)
                                    .setPostedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS)).build())
                                    .setJob(JobDefinition.newBuilder(job).setTargets(List.of(target)).build())
                                    .build())));
                }
                producer.flush();
                if (round >= 0) {
                    rates[round] = targets.size() / ((System.nanoTime() - start) / 1e9);
                }
            }
        }
        return median(rates);
    }

    /** Instructions per second of the master: UpsertJob to every target, produced until its result is read. */
    static double master(Map<String, Object> kafka, Topics topics, SchemaRegistryClient registry, List<String> targets,
                         int rounds) throws InterruptedException {
        double[] rates = new double[rounds];
        try (CommandClient client = new CommandClient(kafka, registry, topics)) {
            for (int round = -1; round < rounds; round++) {
                UpsertJob command = UpsertJob.newBuilder().setHeader(ForcePolls.header())
                        .setJob(job(targets, "v" + round)).build();
                long start = System.nanoTime();
                CommandResult result = client.submit(command, Duration.ofMinutes(5)).orElseThrow(() ->
                        new IllegalStateException("no result for the fan-out to " + targets.size() + " targets "
                                + "within 5 minutes"));
                if (result.getInstructions().size() != targets.size()) {
                    throw new IllegalStateException("fan-out posted " + result.getInstructions().size() + ": "
                            + result.getReason());
                }
                if (round >= 0) {
                    rates[round] = targets.size() / ((System.nanoTime() - start) / 1e9);
                }
            }
        }
        return median(rates);
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
