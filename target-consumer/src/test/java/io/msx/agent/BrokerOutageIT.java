package io.msx.agent;

import io.msx.avro.InstructionHeader;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.StatusHeader;
import io.msx.avro.instruction.JobInsert;
import io.msx.avro.instruction.JobStart;
import io.msx.avro.instruction.PollNow;
import io.msx.avro.status.AckStatus;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.InstructionAck;
import io.msx.avro.status.JobOutcome;
import io.msx.avro.status.JobRunStarted;
import io.msx.local.KafkaProcessExtension;
import io.msx.local.KafkaProcessStack;
import io.msx.local.LocalStack;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.schemas.SchemaRegistryConfig;
import io.msx.schemas.Topics;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.assertj.core.api.SoftAssertions;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Three agents lose their broker (SIGKILL of its child JVM) while jobs run, for 30 s, and get it back on the same
 * address: every loop recovers by itself, readiness follows the broker while liveness never does, and the status
 * stream, deduplicated by (target, epoch, seq) as the master does, holds every acknowledgement and every outcome
 * exactly once, in seq order without gaps per target.
 */
@ExtendWith(KafkaProcessExtension.class)
class BrokerOutageIT {

    private static final Logger log = LoggerFactory.getLogger(BrokerOutageIT.class);
    private static final List<String> TARGETS = List.of("T1", "T2", "T3");
    private static final Duration OUTAGE = Duration.ofSeconds(30);
    private static final Duration PROBE_INTERVAL = Duration.ofMillis(500);
    private static final Duration RECOVERY_TIMEOUT = Duration.ofSeconds(45);

    @TempDir
    Path dir;

    private final Map<String, TargetAgent> agents = new LinkedHashMap<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    /** Every status event in arrival order, replays included. */
    private final List<SpecificRecord> arrived = new ArrayList<>();
    /** The master's view: the first arrival of each (target, epoch, seq). */
    private final List<SpecificRecord> view = new ArrayList<>();
    private final Set<String> seen = new HashSet<>();

    private Topics topics;
    private MsxCodec codec;
    private KafkaProducer<byte[], byte[]> producer;
    private AgentFixtures.StandInMaster master;
    private KafkaConsumer<byte[], byte[]> statusReader;

    @AfterEach
    void tearDown() {
        // agents first: they must not outlive the broker the extension kills after this method
        agents.values().forEach(TargetAgent::close);
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
        }
        if (statusReader != null) {
            statusReader.close(Duration.ofSeconds(5));
        }
    }

    @Test
    void shouldRecoverEveryLoopAndDeliverEveryEventExactlyOnceAfterA30sBrokerOutage(KafkaProcessStack stack)
            throws Exception {
        long testStarted = System.nanoTime();
        topics = new Topics(LocalStack.uniqueTopicPrefix());
        List<NewTopic> newTopics = new ArrayList<>(List.of(new NewTopic(topics.status(), 1, (short) 1)));
        TARGETS.forEach(t -> newTopics.add(new NewTopic(topics.target(t), 1, (short) 1)));
        try (Admin admin = Admin.create(AgentFixtures.kafka(stack))) {
            admin.createTopics(newTopics).all().get(30, TimeUnit.SECONDS);
        }
        SchemaRegistryClient registry = new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl()));
        // Three agents registering the same new subject at once meet Apicurio's HTTP 409 race, which is not what this
        // test is about: the subjects exist before the agents start, as they do once the master has run.
        for (MessageFamily family : List.of(MessageFamily.STATUS, MessageFamily.INSTRUCTION)) {
            family.schemas().forEach(schema -> registry.register(MsxCodec.subjectOf(schema), schema));
        }
        codec = MsxCodec.of(registry, true);
        producer = new KafkaProducer<>(AgentFixtures.kafka(stack), new ByteArraySerializer(),
                new ByteArraySerializer());
        master = new AgentFixtures.StandInMaster(producer, codec, topics);
        statusReader = new KafkaConsumer<>(AgentFixtures.kafka(stack), new ByteArrayDeserializer(),
                new ByteArrayDeserializer());
        TopicPartition status = new TopicPartition(topics.status(), 0);
        statusReader.assign(List.of(status));
        statusReader.seekToBeginning(List.of(status));

        for (String target : TARGETS) {
            agents.put(target, startAgent(stack, target));
        }
        for (TargetAgent agent : agents.values()) {
            assertThat(agent.awaitConsuming(Duration.ofSeconds(30))).as("%s consuming", agent.name()).isTrue();
        }
        log.info("Agents {} consuming {} ms into the test", agents.keySet(), millisSince(testStarted));

        // Before the outage: jobs defined, a first stream of starts and polls, all acknowledged.
        List<UUID> instructions = new ArrayList<>();
        List<UUID> jobStarts = new ArrayList<>();
        for (String target : TARGETS) {
            instructions.add(post(target, h -> JobInsert.newBuilder().setHeader(h).setJob(job("quick", "echo quick"))
                    .build()));
            instructions.add(post(target, h -> JobInsert.newBuilder().setHeader(h)
                    .setJob(job("slow", "sleep 4; echo slow")).build()));
            jobStarts.add(post(target, h -> JobStart.newBuilder().setHeader(h).setJobId("quick").build()));
            instructions.add(post(target, h -> PollNow.newBuilder().setHeader(h).build()));
        }
        instructions.addAll(jobStarts);
        awaiting("first instructions acknowledged and first outcomes in")
                .until(() -> ackedIds().containsAll(instructions)
                        && outcomeTriggers().containsAll(triggers(jobStarts)));

        // While jobs run: the slow one on every target, with starts and polls queued behind it.
        for (String target : TARGETS) {
            jobStarts.add(post(target, h -> JobStart.newBuilder().setHeader(h).setJobId("slow").build()));
            jobStarts.add(post(target, h -> JobStart.newBuilder().setHeader(h).setJobId("quick").build()));
            instructions.add(post(target, h -> PollNow.newBuilder().setHeader(h).build()));
        }
        instructions.addAll(jobStarts.subList(TARGETS.size(), jobStarts.size()));
        awaiting("the slow job running on every target").until(() -> TARGETS.stream()
                .allMatch(t -> events(JobRunStarted.class).anyMatch(r -> r.getJobId().equals("slow")
                        && header(r).getTarget().equals(t))));

        stack.kafka().kill();
        long killed = System.nanoTime();
        log.info("Broker killed {} ms into the test; down for {} s", millisSince(testStarted), OUTAGE.toSeconds());

        // The outage is the scenario: its length is measured, and health is probed all along it.
        Map<String, List<Integer>> readyDuringOutage = new LinkedHashMap<>();
        Map<String, List<Integer>> liveDuringOutage = new LinkedHashMap<>();
        Duration left = OUTAGE.minusNanos(System.nanoTime() - killed);
        await().pollInSameThread().alias("broker outage").pollDelay(Duration.ZERO).pollInterval(PROBE_INTERVAL)
                .during(left).atMost(left.plusSeconds(10)).until(() -> {
                    probeAll("/health/ready").forEach((t, code) ->
                            readyDuringOutage.computeIfAbsent(t, k -> new ArrayList<>()).add(code));
                    probeAll("/health/live").forEach((t, code) ->
                            liveDuringOutage.computeIfAbsent(t, k -> new ArrayList<>()).add(code));
                    return true;
                });
        log.info("Broker down for {} ms; restarting it", millisSince(killed));

        stack.kafka().restart();
        log.info("Broker back {} ms into the test", millisSince(testStarted));

        // After the restart: a new stream of instructions, applied and acknowledged without any help.
        List<UUID> lateStarts = new ArrayList<>();
        Map<String, UUID> latePolls = new LinkedHashMap<>();
        for (String target : TARGETS) {
            lateStarts.add(post(target, h -> JobStart.newBuilder().setHeader(h).setJobId("quick").build()));
            latePolls.put(target, post(target, h -> PollNow.newBuilder().setHeader(h).build()));
        }
        jobStarts.addAll(lateStarts);
        instructions.addAll(lateStarts);
        instructions.addAll(latePolls.values());
        awaiting("every instruction acknowledged and every job started has its outcome")
                .until(() -> ackedIds().containsAll(instructions)
                        && outcomeTriggers().containsAll(triggers(jobStarts)));
        awaiting("check-ins answering the polls posted after the restart")
                .until(() -> events(CheckIn.class).map(CheckIn::getAnswersInstructionId).collect(Collectors.toSet())
                        .containsAll(latePolls.values()));
        log.info("Every loop recovered {} ms after the restart began", millisSince(killed) - OUTAGE.toMillis());

        // Exactly once in the master's deduplicated view, and in seq order per target.
        drain();
        List<InstructionAck> acks = events(InstructionAck.class).toList();
        assertThat(acks).extracting(InstructionAck::getInstructionId).as("one ack per instruction")
                .doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(instructions);
        assertThat(acks).extracting(InstructionAck::getStatus).containsOnly(AckStatus.APPLIED);
        assertThat(events(JobOutcome.class).map(JobOutcome::getTrigger).toList()).as("one outcome per job start")
                .doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(triggers(jobStarts));
        for (String target : TARGETS) {
            List<SpecificRecord> own = arrived.stream().filter(e -> header(e).getTarget().equals(target)).toList();
            assertThat(own).extracting(e -> header(e).getEpoch()).as("%s has one installation epoch", target)
                    .containsOnly(header(own.get(0)).getEpoch());
            List<Long> firstArrivals = own.stream().map(e -> header(e).getSeq()).distinct().toList();
            for (int i = 1; i < firstArrivals.size(); i++) {
                assertThat(firstArrivals.get(i)).as("%s: seq after %s in arrival order, replays dropped (%s)",
                        target, firstArrivals.get(i - 1), firstArrivals).isEqualTo(firstArrivals.get(i - 1) + 1);
            }
        }

        // Health: readiness follows the broker, liveness never does.
        SoftAssertions.assertSoftly(softly -> {
            for (String target : TARGETS) {
                softly.assertThat(runs(liveDuringOutage.get(target))).as("%s /health/live during the outage", target)
                        .matches("200x\\d+");
                // a detection lag is fine; flapping back to ready while the broker is still down is not
                softly.assertThat(runs(readyDuringOutage.get(target))).as("%s /health/ready during the outage", target)
                        .matches("(200x\\d+ )?503x\\d+");
            }
        });
        awaiting("every agent ready again")
                .until(() -> probeAll("/health/ready").values().stream().allMatch(code -> code == 200));
        assertThat(probeAll("/health/live").values()).containsOnly(200);
        log.info("Broker outage test done in {} ms", millisSince(testStarted));
    }

    /** Awaits on this thread: the conditions poll the status reader, a {@code KafkaConsumer}. */
    private static ConditionFactory awaiting(String alias) {
        return await().pollInSameThread().atMost(RECOVERY_TIMEOUT).alias(alias);
    }

    private TargetAgent startAgent(KafkaProcessStack stack, String target) {
        // the broker is plaintext; instructions are signed and checked all the same
        Map<String, Object> config = AgentFixtures.agentConfig(stack, topics, target, dir.resolve(target));
        config.put(TargetAgentConfig.POLL_INTERVAL_MS_CONFIG, TargetAgentConfig.MIN_POLL_INTERVAL_MS);
        config.put(TargetAgentConfig.SHUTDOWN_GRACE_MS_CONFIG, 1_000L);
        config.put(TargetAgentConfig.HTTP_PORT_CONFIG, 0);
        TargetAgent agent = new TargetAgent(new TargetAgentConfig(config), Clock.systemUTC());
        agent.start();
        return agent;
    }

    private static JobDefinition job(String id, String script) {
        return JobDefinition.newBuilder().setJobId(id).setName(id).setSteps(List.of(JobStep.newBuilder()
                .setStepId(1).setName("only").setCommand(List.of("sh", "-c", script)).build())).build();
    }

    /** Posts the instruction built around a new header, signed as the master would, and returns its id. */
    private UUID post(String target, Function<InstructionHeader, SpecificRecord> instruction) throws Exception {
        return master.post(target, instruction);
    }

    /** Reads what has arrived on the status topic into {@link #arrived} and the deduplicated {@link #view}. */
    private void drain() {
        statusReader.poll(Duration.ofMillis(100)).forEach(r -> {
            SpecificRecord event = ((Decoded.Message) codec.decode(MessageFamily.STATUS, r.topic(), r.partition(),
                    r.offset(), r.value())).value();
            arrived.add(event);
            StatusHeader h = header(event);
            if (seen.add(h.getTarget() + "/" + h.getEpoch() + "/" + h.getSeq())) {
                view.add(event);
            }
        });
    }

    private <T extends SpecificRecord> Stream<T> events(Class<T> type) {
        drain();
        return view.stream().filter(type::isInstance).map(type::cast);
    }

    private Set<UUID> ackedIds() {
        return events(InstructionAck.class).map(InstructionAck::getInstructionId).collect(Collectors.toSet());
    }

    private Set<String> outcomeTriggers() {
        return events(JobOutcome.class).map(JobOutcome::getTrigger).collect(Collectors.toSet());
    }

    private static List<String> triggers(List<UUID> jobStarts) {
        return jobStarts.stream().map(UUID::toString).toList();
    }

    private static StatusHeader header(SpecificRecord event) {
        return MessageFamily.STATUS.header(event);
    }

    /** HTTP status of {@code path} on every agent; -1 where the request itself failed. */
    private Map<String, Integer> probeAll(String path) {
        Map<String, Integer> codes = new LinkedHashMap<>();
        agents.forEach((target, agent) -> codes.put(target, probe(agent, path)));
        return codes;
    }

    private int probe(TargetAgent agent, String path) {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.httpPort() + path))
                .timeout(Duration.ofSeconds(2)).GET().build();
        try {
            return http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while probing " + path, e);
        }
    }

    /** Run-length form of probe results in order, e.g. {@code 200x3 503x57}. */
    private static String runs(List<Integer> codes) {
        StringBuilder runs = new StringBuilder();
        for (int i = 0; i < codes.size(); ) {
            int j = i;
            while (j < codes.size() && codes.get(j).equals(codes.get(i))) {
                j++;
            }
            runs.append(runs.isEmpty() ? "" : " ").append(codes.get(i)).append('x').append(j - i);
            i = j;
        }
        return runs.toString();
    }

    private static long millisSince(long nanoTime) {
        return (System.nanoTime() - nanoTime) / 1_000_000;
    }
}
