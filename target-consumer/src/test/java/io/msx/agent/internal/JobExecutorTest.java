package io.msx.agent.internal;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.msx.agent.internal.job.JobIsolation;
import io.msx.agent.internal.job.JobRun;
import io.msx.agent.internal.job.Orphans;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.state.StoredRun;
import io.msx.avro.status.JobOutcome;
import io.msx.avro.status.RunStatus;
import io.msx.schemas.Decoded;
import io.msx.schemas.InMemorySchemaRegistry;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.spool.StatusSpool;
import io.msx.spool.StatusSpoolConfig;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The executor over a real spool (RocksDB), with real step processes; Kafka is a MockProducer. */
class JobExecutorTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private final MsxCodec codec = MsxCodec.of(new InMemorySchemaRegistry(), true);
    private final MockProducer<byte[], byte[]> status = new MockProducer<>(true, null, new ByteArraySerializer(),
            new ByteArraySerializer());
    private StatusSpool spool;
    private AgentStore store;
    private JobExecutor executor;

    @BeforeEach
    void setUp() throws Exception {
        spool = StatusSpool.open("T1", new StatusSpoolConfig(Map.of(
                StatusSpoolConfig.SPOOL_DIR_CONFIG, dir.resolve("spool").toString(),
                StatusSpoolConfig.SPOOL_STATE_COLUMN_FAMILIES_CONFIG, String.join(",", AgentStore.COLUMN_FAMILIES))),
                () -> status, "msx.status", Clock.systemUTC(), new SimpleMeterRegistry());
        store = new AgentStore(spool);
        StatusReporter reporter = new StatusReporter("T1", spool, store, codec, Clock.systemUTC(),
                new AgentState(Duration.ofMinutes(1)));
        executor = new JobExecutor("T1", 1, 1, reporter,
                JobIsolation.defaults(Files.createDirectories(dir.resolve("work"))), Clock.systemUTC(),
                JobExecutor.DEFAULT_OUTCOME_MAX_BYTES);
    }

    @AfterEach
    void tearDown() {
        executor.runningJobs().forEach(j -> executor.cancelAndAwait(j, WAIT));
        executor.shutdown(Duration.ZERO);
        spool.close(Duration.ofSeconds(1));
    }

    private static JobDefinition job(String id, String script) {
        return JobDefinition.newBuilder().setJobId(id).setName(id).setSteps(List.of(JobStep.newBuilder()
                .setStepId(1).setName("s").setCommand(List.of("sh", "-c", script)).build())).build();
    }

    /** Reserves, records PENDING (as the instruction applier does) and starts a run. */
    private JobRun start(JobDefinition job) {
        JobRun run = executor.reserve(UUID.randomUUID(), job, "test", null);
        assertThat(run).isNotNull();
        spool.writeState(store.putRun(AgentStore.run(run.runId(), job.getJobId(), AgentStore.PENDING, "test",
                null)));
        executor.start(run);
        return run;
    }

    private List<JobOutcome> outcomes() {
        return status.history().stream()
                .map(r -> ((Decoded.Message) codec.decode(MessageFamily.STATUS, r.topic(), r.value())).value())
                .filter(JobOutcome.class::isInstance).map(JobOutcome.class::cast).toList();
    }

    private StoredRun stored(UUID runId) {
        return store.runs().stream().filter(r -> r.getRunId().equals(runId)).findFirst().orElse(null);
    }

    private static boolean alive(List<Long> groups) {
        return groups.stream().anyMatch(g -> ProcessHandle.of(g).map(ProcessHandle::isAlive).orElse(false));
    }

    @Test
    void shouldRecordEachProcessGroupAndKillTheRunBeforeCancelAndAwaitReturns() {
        JobRun run = start(job("sleepy", "sleep 300 & sleep 300"));
        StoredRun recorded = await().atMost(WAIT).alias("process group recorded in the run's record")
                .until(() -> stored(run.runId()), r -> r != null && !r.getProcessGroups().isEmpty());
        assertThat(recorded.getState()).isEqualTo(AgentStore.STARTED);

        assertThat(executor.cancelAndAwait("sleepy", WAIT)).isTrue();

        assertThat(alive(recorded.getProcessGroups())).isFalse();
        assertThat(Orphans.processesOf(run.runId())).isEmpty();
        await().atMost(WAIT).alias("CANCELED outcome spooled, record deleted, slot free")
                .until(() -> outcomes().stream().anyMatch(o -> o.getRunId().equals(run.runId()))
                        && stored(run.runId()) == null && executor.current("sleepy") == null);
        assertThat(outcomes()).singleElement().satisfies(o -> assertThat(o.getStatus())
                .isEqualTo(RunStatus.CANCELED));
    }

    @Test
    void shouldKillWhatAFinishedRunLeftRunningBeforeItsNextRun() {
        JobRun run = start(job("daemon", "sleep 120 & setsid sleep 120 & echo spawned"));

        await().atMost(WAIT).alias("outcome reported").until(() -> outcomes().stream()
                .anyMatch(o -> o.getRunId().equals(run.runId())));
        assertThat(io.msx.agent.internal.job.Orphans.processesOf(run.runId()))
                .as("background and setsid children killed when the run ended").isEmpty();
        assertThat(outcomes()).filteredOn(o -> o.getRunId().equals(run.runId())).singleElement()
                .satisfies(o -> assertThat(o.getStatus()).isEqualTo(RunStatus.SUCCEEDED));
    }

    @Test
    void shouldReportTrueWhenNothingRunsForCancelAndAwait() {
        assertThat(executor.cancelAndAwait("nothing", Duration.ofSeconds(1))).isTrue();
    }

    @Test
    void shouldReleaseTheSlotAndReportSkippedWhenThePoolRejectsTheRun() {
        start(job("busy", "sleep 300"));
        await().atMost(WAIT).alias("first run on the only thread").until(() -> status.history().size() >= 1);
        start(job("queued", "true")); // fills the queue of 1

        JobRun rejected = start(job("rejected", "true"));

        assertThat(executor.current("rejected")).as("slot released").isNull();
        assertThat(stored(rejected.runId())).as("record deleted").isNull();
        await().atMost(WAIT).alias("SKIPPED outcome sent").until(() -> outcomes().stream()
                .anyMatch(o -> o.getRunId().equals(rejected.runId())));
        assertThat(outcomes()).filteredOn(o -> o.getRunId().equals(rejected.runId())).singleElement()
                .satisfies(o -> {
                    assertThat(o.getStatus()).isEqualTo(RunStatus.SKIPPED);
                    assertThat(o.getJobId()).isEqualTo("rejected");
                    assertThat(o.getMessage()).contains("run queue is full");
                });
        assertThat(executor.reserve(UUID.randomUUID(), job("rejected", "true"), "test", null))
                .as("the job can be started again").isNotNull();
    }
}
