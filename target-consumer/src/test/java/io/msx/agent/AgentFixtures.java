package io.msx.agent;

import io.msx.avro.InstructionHeader;
import io.msx.local.KafkaProcessStack;
import io.msx.local.LocalStack;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.Topics;
import io.msx.security.InstructionSignatures;
import io.msx.security.SignatureHeaders;
import io.msx.security.Signer;
import io.msx.security.TestKeys;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * What the agent's integration tests share: Kafka client settings for the secured local stack (the super-user's
 * SASL SCRAM credentials) or a plaintext child broker, an agent's configuration that trusts the test master key
 * ({@link TestKeys}), and a {@link StandInMaster} that signs the instructions a test posts, as the master does.
 */
final class AgentFixtures {

    private AgentFixtures() {
    }

    /** The local stack's super-user client settings, with {@code overrides} (key, value, key, value...). */
    static Map<String, Object> kafka(LocalStack stack, Object... overrides) {
        return with(stack.adminClientProperties(), overrides);
    }

    /** A child broker's (a {@link KafkaProcessStack}'s) super-user client settings, with {@code overrides}. */
    static Map<String, Object> kafka(KafkaProcessStack stack, Object... overrides) {
        return with(stack.adminClientProperties(), overrides);
    }

    private static Map<String, Object> with(Map<String, Object> base, Object... overrides) {
        Map<String, Object> all = new HashMap<>(base);
        for (int i = 0; i < overrides.length; i += 2) {
            all.put((String) overrides[i], overrides[i + 1]);
        }
        return all;
    }

    /**
     * An agent of {@code target} on the local stack, as a mutable map to add to: connected as the super-user, trusting
     * the test master key.
     */
    static Map<String, Object> agentConfig(LocalStack stack, Topics topics, String target, Path dataDir) {
        Map<String, Object> config = agentConfig(stack.bootstrapServers(), stack.schemaRegistryUrl(), topics, target,
                dataDir);
        config.putAll(stack.adminSecuritySettings());
        return config;
    }

    /** An agent of {@code target} on a (secured) child broker, as its super-user. */
    static Map<String, Object> agentConfig(KafkaProcessStack stack, Topics topics, String target, Path dataDir) {
        Map<String, Object> config = agentConfig(stack.bootstrapServers(), stack.schemaRegistryUrl(), topics, target,
                dataDir);
        config.putAll(stack.adminSecuritySettings());
        return config;
    }

    private static Map<String, Object> agentConfig(String bootstrapServers, String registryUrl, Topics topics,
                                                   String target, Path dataDir) {
        Map<String, Object> config = new HashMap<>(Map.of(
                TargetAgentConfig.TARGET_NAME_CONFIG, target,
                TargetAgentConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                TargetAgentConfig.SCHEMA_REGISTRY_URL_CONFIG, registryUrl,
                TargetAgentConfig.TOPIC_PREFIX_CONFIG, topics.prefix(),
                TargetAgentConfig.DATA_DIR_CONFIG, dataDir.toString()));
        config.putAll(TestKeys.agentSettings());
        return config;
    }

    /**
     * Writes what an {@link AgentChild} is configured with besides its arguments (Kafka security settings and the
     * trusted key file) to {@code file}, a properties file it loads as its configuration file.
     */
    static Path childSettings(LocalStack stack, Path file) {
        Properties p = new Properties();
        stack.adminSecuritySettings().forEach(p::setProperty);
        TestKeys.agentSettings().forEach(p::setProperty);
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            p.store(out, "settings of a target agent child JVM");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    /**
     * Stands in for the master on a target's topic: signs each instruction with the test master key
     * ({@link TestKeys#masterSigner()}) and the target's next sequence number, as the master does, and posts it with
     * the producer it is given (not closed here).
     *
     * <p>Not thread-safe.
     */
    static final class StandInMaster {

        private final KafkaProducer<byte[], byte[]> producer;
        private final MsxCodec codec;
        private final Topics topics;
        private final Signer signer = TestKeys.masterSigner();
        private final Map<String, Long> seqs = new HashMap<>();

        StandInMaster(KafkaProducer<byte[], byte[]> producer, MsxCodec codec, Topics topics) {
            this.producer = producer;
            this.codec = codec;
            this.topics = topics;
        }

        static InstructionHeader header(UUID id, String target) {
            return InstructionHeader.newBuilder().setInstructionId(id).setTarget(target)
                    .setPostedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS)).build();
        }

        /** Posts a signed instruction for {@code target} built around a new header, waits for it, returns its id. */
        UUID post(String target, Function<InstructionHeader, SpecificRecord> instruction) throws Exception {
            return post(target, target, instruction);
        }

        /**
         * Posts a signed instruction on {@code topicTarget}'s topic whose header names {@code addressedTo} (another
         * target, for a misaddressed one), waits for it and returns its id.
         */
        UUID post(String topicTarget, String addressedTo, Function<InstructionHeader, SpecificRecord> instruction)
                throws InterruptedException, ExecutionException, TimeoutException {
            UUID id = UUID.randomUUID();
            producer.send(signed(topicTarget, null, codec.encode(instruction.apply(header(id, addressedTo)))))
                    .get(30, TimeUnit.SECONDS);
            return id;
        }

        /** A record for {@code target}'s topic with {@code value} signed under the target's next sequence number. */
        ProducerRecord<byte[], byte[]> signed(String target, byte[] key, byte[] value) {
            long seq = seqs.merge(target, 1L, Long::sum);
            RecordHeaders headers = new RecordHeaders();
            SignatureHeaders.write(headers, signer.keyId(), InstructionSignatures.sign(signer, target, seq, value),
                    seq);
            return new ProducerRecord<>(topics.target(target), null, key, value, headers);
        }
    }
}
