package io.msx.master.internal;

import io.msx.MsxRetriableException;
import io.msx.Threads;
import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.schemas.AvroCodec;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.Topics;
import io.msx.schemas.WireFormatException;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import io.msx.security.CommandSignatures;
import io.msx.security.Signer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * How the REST API submits commands: writes each to {@code msx.commands} (as {@code CommandClient} does for the CLI)
 * with one shared idempotent producer, and hands each caller the answer from {@code msx.command-results}, read by one
 * thread ({@code msx-master-<id>-command-results}) from the end as it was when the gateway started, so any answer to
 * a command written after that is seen.
 *
 * <p>Thread-safe: many requests may submit at once. {@link #submit} blocks up to its wait. {@link #close()} is
 * idempotent.
 */
public final class CommandGateway implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CommandGateway.class);
    private static final Duration WRITE_TIMEOUT = Duration.ofSeconds(15);
    private static final Duration RETRY = Duration.ofSeconds(1);

    /** The issuer of a command posted without authentication (no tokens file): never signed for. */
    static final String ANONYMOUS = "rest:" + io.msx.http.Principal.ANONYMOUS.name();
    private final Signer signer;
    private final Topics topics;
    private final MsxCodec codec;
    private final AvroCodec<CommandResult> results;
    private final String threadName;
    private final KafkaProducer<String, byte[]> producer;
    /** Used by the results thread only. */
    private final KafkaConsumer<String, byte[]> consumer;
    private final Map<String, CompletableFuture<CommandResult>> waiting = new ConcurrentHashMap<>();
    private final CountDownLatch positioned = new CountDownLatch(1);
    private final CountDownLatch closing = new CountDownLatch(1);
    private final AtomicBoolean closed = new AtomicBoolean();
    private Thread thread;

    /**
     * @param kafka settings every client of the master uses (at least {@code bootstrap.servers})
     */
    public CommandGateway(Map<String, Object> kafka, Topics topics, MsxCodec codec, String masterId, Signer signer) {
        this.topics = topics;
        this.signer = signer;
        this.codec = codec;
        this.results = AvroCodec.of(CommandResult.class, codec);
        this.threadName = "msx-master-" + masterId + "-command-results";
        Map<String, Object> producerConfig = new HashMap<>(kafka);
        producerConfig.put(ProducerConfig.CLIENT_ID_CONFIG, "msx-master-" + masterId + "-rest-commands");
        producerConfig.put(ProducerConfig.ACKS_CONFIG, "all");
        producerConfig.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        producerConfig.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) WRITE_TIMEOUT.toMillis());
        this.producer = new KafkaProducer<>(producerConfig, new StringSerializer(), new ByteArraySerializer());
        Map<String, Object> consumerConfig = new HashMap<>(kafka);
        consumerConfig.put(ConsumerConfig.CLIENT_ID_CONFIG, "msx-master-" + masterId + "-rest-results");
        consumerConfig.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        consumerConfig.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        this.consumer = new KafkaConsumer<>(consumerConfig, new StringDeserializer(), new ByteArrayDeserializer());
    }

    /** Starts reading results. */
    public synchronized void start() {
        if (thread != null || closed.get()) {
            throw new IllegalStateException("the command gateway cannot start twice or after close");
        }
        thread = Threads.supervised(threadName, this::readResults,
                e -> log.error("REST commands cannot be answered any more: {}", e.toString()));
        thread.start();
    }

    /**
     * Writes {@code command} to the commands topic and waits up to {@code wait} for the master's answer.
     *
     * @return the answer, or empty when none came within {@code wait} (the command is written and will be decided)
     * @throws MsxRetriableException when the gateway is not reading results yet or the command cannot be written
     *                               (broker or registry away); nothing was written, or nothing is known of it
     */
    public Optional<CommandResult> submit(SpecificRecord command, Duration wait) throws InterruptedException {
        CommandHeader header = MessageFamily.COMMAND.header(command);
        if (closed.get() || !positioned.await(Math.min(wait.toMillis(), WRITE_TIMEOUT.toMillis()),
                TimeUnit.MILLISECONDS)) {
            throw new MsxRetriableException("the master is not ready to take commands over REST yet (it cannot "
                    + "read " + topics.commandResults() + "); try again");
        }
        String id = header.getCommandId().toString();
        CompletableFuture<CommandResult> answer = new CompletableFuture<>();
        waiting.put(id, answer);
        try {
            byte[] value;
            try {
                value = codec.encode(command);
            } catch (RuntimeException e) {
                throw new MsxRetriableException("cannot encode the command (is the schema registry reachable?): "
                        + e.getMessage(), e);
            }
            try {
                // signed with the master's key, vouching for the caller it authenticated (the header's issuedBy)
                ProducerRecord<String, byte[]> record = new ProducerRecord<>(topics.commands(), id, value);
                if (!ANONYMOUS.equals(header.getIssuedBy())) {
                    // an unauthenticated caller (no tokens file) is vouched for by nobody: unverified
                    CommandSignatures.sign(signer, header.getIssuedBy(), value, record.headers());
                }
                producer.send(record)
                        .get(WRITE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                throw new MsxRetriableException("cannot write the command to " + topics.commands() + ": "
                        + e.getCause().getMessage(), e.getCause());
            } catch (TimeoutException | KafkaException e) {
                throw new MsxRetriableException("cannot write the command to " + topics.commands() + " within "
                        + WRITE_TIMEOUT.toSeconds() + " s: " + e.getMessage(), e);
            }
            log.info("Command {} {} written for {}", MessageFamily.typeName(command), id, header.getIssuedBy());
            if (wait.isZero()) {
                return Optional.empty();
            }
            try {
                return Optional.of(answer.get(wait.toMillis(), TimeUnit.MILLISECONDS));
            } catch (TimeoutException e) {
                return Optional.empty();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof MsxRetriableException closing) {
                    throw closing;
                }
                throw new IllegalStateException("the master's answer to command " + id + " is unreadable: "
                        + e.getCause().getMessage(), e.getCause());
            }
        } finally {
            waiting.remove(id);
        }
    }

    private void readResults() {
        try {
            while (!closed.get() && positioned.getCount() > 0) {
                try {
                    List<TopicPartition> partitions = consumer.partitionsFor(topics.commandResults(),
                            Duration.ofSeconds(10)).stream()
                            .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
                    if (partitions.isEmpty()) {
                        throw new KafkaException("topic " + topics.commandResults() + " does not exist");
                    }
                    consumer.assign(partitions);
                    consumer.seekToEnd(partitions);
                    partitions.forEach(consumer::position); // fix the start before any command can be answered
                    positioned.countDown();
                } catch (WakeupException e) {
                    throw e;
                } catch (KafkaException e) {
                    log.warn("Cannot read {} yet, retrying: {}", topics.commandResults(), e.toString());
                    pause();
                }
            }
            while (!closed.get()) {
                try {
                    for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                        CompletableFuture<CommandResult> answer = record.key() == null ? null
                                : waiting.get(record.key());
                        if (answer != null) {
                            try {
                                answer.complete(results.decode(record.topic(), record.partition(), record.offset(),
                                        record.value()));
                            } catch (WireFormatException e) {
                                answer.completeExceptionally(e);
                            }
                        }
                    }
                } catch (WakeupException e) {
                    throw e;
                } catch (KafkaException e) {
                    log.warn("Reading {} failed, retrying: {}", topics.commandResults(), e.toString());
                    pause();
                }
            }
        } catch (WakeupException e) {
            if (!closed.get()) {
                throw e;
            }
        } finally {
            consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
        }
    }

    private void pause() {
        try {
            closing.await(RETRY.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closed.set(true);
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(10));
    }

    /** Stops reading results, fails the waiting requests' waits, and closes both clients. */
    public synchronized void close(Duration timeout) {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        closing.countDown();
        waiting.values().forEach(f -> f.completeExceptionally(new MsxRetriableException("the master is closing")));
        if (thread != null) {
            consumer.wakeup();
            Threads.joinUntil(thread, deadline);
        } else {
            consumer.close(CloseOptions.timeout(Duration.ZERO));
        }
        producer.close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
    }
}
