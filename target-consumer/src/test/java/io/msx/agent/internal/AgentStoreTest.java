package io.msx.agent.internal;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.StepAction;
import io.msx.avro.state.StoredRun;
import io.msx.spool.StateChange;
import io.msx.spool.StatusSpool;
import io.msx.spool.StatusSpoolConfig;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.GenericRecordBuilder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The agent's state on real RocksDB (the spool's store); Kafka is a MockProducer that is never used. */
class AgentStoreTest {

    /** The column families of the release before the schemas column family. */
    private static final List<String> PREVIOUS_RELEASE_FAMILIES = List.of(AgentStore.JOBS, AgentStore.RUNS,
            AgentStore.AGENT);

    @TempDir
    Path dir;

    private StatusSpool open(List<String> columnFamilies) {
        StatusSpoolConfig config = new StatusSpoolConfig(Map.of(StatusSpoolConfig.SPOOL_DIR_CONFIG, dir.toString(),
                StatusSpoolConfig.SPOOL_STATE_COLUMN_FAMILIES_CONFIG, String.join(",", columnFamilies)));
        return StatusSpool.open("t", config, () -> new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer()), "status", Clock.systemUTC(), new SimpleMeterRegistry());
    }

    private static byte[] fixture() throws IOException {
        try (InputStream in = AgentStoreTest.class.getResourceAsStream("/fixtures/job-v1.bin")) {
            assertThat(in).as("fixtures/job-v1.bin on the test class path").isNotNull();
            return in.readAllBytes();
        }
    }

    private static JobDefinition job(String id) {
        return JobDefinition.newBuilder().setJobId(id).setName(id).setMaxStepExecutions(50).setSteps(List.of(
                JobStep.newBuilder().setStepId(1).setName("only").setCommand(List.of("true")).build())).build();
    }

    @Test
    void shouldDecodeAJobThePreviousReleaseStoredWithTheBundledSchemas() throws IOException {
        byte[] stored = fixture();
        long writer = ByteBuffer.wrap(stored, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(writer).as("written with another schema than today's")
                .isNotEqualTo(AgentSchemas.fingerprint(JobDefinition.getClassSchema()));

        JobDefinition job = new StateCodec<JobDefinition>(JobDefinition.getClassSchema(), AgentSchemas.withoutStore())
                .decode(stored);

        assertThat(job.getMaxStepExecutions()).isNull();
        assertThat(job.getJobId()).isEqualTo("nightly-backup");
        assertThat(job.getName()).isEqualTo("Nightly backup");
        assertThat(job.getDescription()).isEqualTo("Dumps the orders database and uploads it");
        assertThat(job.getEnabled()).isFalse();
        assertThat(job.getVersion()).isEqualTo(7L);
        assertThat(job.getTargets()).containsExactly("T1", "T2");
        assertThat(job.getGroups()).containsExactly("db-servers");
        assertThat(job.getSteps()).hasSize(2);
        JobStep dump = job.getSteps().get(0);
        assertThat(dump.getCommand()).containsExactly("pg_dump", "--format=custom", "orders");
        assertThat(dump.getEnv()).containsExactly(Map.entry("PGHOST", "db1"));
        assertThat(dump.getWorkingDirectory()).isEqualTo("/var/backups");
        assertThat(dump.getTimeoutSeconds()).isEqualTo(3600);
        assertThat(dump.getRetryAttempts()).isEqualTo(2);
        assertThat(dump.getRetryIntervalSeconds()).isEqualTo(30);
        assertThat(dump.getOnSuccess()).isEqualTo(StepAction.GO_TO_STEP);
        assertThat(dump.getOnSuccessGoToStep()).isEqualTo(2);
        assertThat(dump.getSuccessExitCodes()).containsExactly(0, 3);
        assertThat(dump.getMaxOutputBytes()).isEqualTo(1024);
        assertThat(job.getSteps().get(1).getOnSuccess()).isEqualTo(StepAction.QUIT_WITH_SUCCESS);
        assertThat(job.getSchedules()).singleElement().satisfies(s -> {
            assertThat(s.getCron()).isEqualTo("30 2 * * *");
            assertThat(s.getTimeZone()).isEqualTo("Europe/Berlin");
        });
    }

    @Test
    void shouldNameTheUnknownWriterSchemaWhenNoHistoryHasIt() throws IOException {
        StateCodec<JobDefinition> amnesiac = new StateCodec<>(JobDefinition.getClassSchema(), fingerprint -> null);
        assertThatThrownBy(() -> amnesiac.decode(fixture())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("fingerprint");
    }

    @Test
    void shouldShipEveryBundledSchemaNamedInItsIndex() throws IOException, URISyntaxException {
        Path folder = Path.of(AgentSchemas.class.getClassLoader().getResource(AgentSchemas.BUNDLED_DIR).toURI());
        try (Stream<Path> files = Files.list(folder)) {
            assertThat(AgentSchemas.bundledNames()).containsExactlyInAnyOrderElementsOf(files
                    .map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".avsc")).toList());
        }
        assertThat(AgentSchemas.bundled()).extracting(Schema::getFullName).contains("io.msx.avro.JobDefinition");
    }

    @Test
    void shouldReadWhatThePreviousReleaseStoredAfterAnUpgrade() throws IOException {
        UUID runId = UUID.randomUUID();
        StatusSpool previous = open(PREVIOUS_RELEASE_FAMILIES);
        try {
            previous.writeState(List.of(
                    new StateChange.Put(AgentStore.JOBS, utf8("nightly-backup"), fixture()),
                    new StateChange.Put(AgentStore.RUNS, utf8(runId.toString()),
                            utf8("PENDING\tnightly-backup\t" + UUID.randomUUID() + "\t2"))));
        } finally {
            previous.close(Duration.ofMillis(200));
        }

        StatusSpool upgraded = open(AgentStore.COLUMN_FAMILIES); // adds the schemas column family
        try {
            AgentStore store = new AgentStore(upgraded);
            assertThat(store.jobs()).containsOnlyKeys("nightly-backup");
            assertThat(store.jobs().get("nightly-backup").getSteps()).hasSize(2);
            assertThat(store.runs()).singleElement().satisfies(run -> {
                assertThat(run.getRunId()).isEqualTo(runId);
                assertThat(run.getJobId()).isEqualTo("nightly-backup");
                assertThat(run.getState()).isEqualTo(AgentStore.PENDING);
                assertThat(run.getStartStepId()).isEqualTo(2);
            });
        } finally {
            upgraded.close(Duration.ofMillis(200));
        }
    }

    @Test
    void shouldWriteEachSchemaOnceInTheBatchOfTheFirstRecordUsingIt() {
        StatusSpool spool = open(AgentStore.COLUMN_FAMILIES);
        StoredRun run = AgentStore.run(UUID.randomUUID(), "a", AgentStore.STARTED, "schedule:nightly", null);
        try {
            AgentStore store = new AgentStore(spool);
            List<StateChange> first = store.putJob(job("a"));
            assertThat(first).extracting(StateChange::columnFamily).containsExactly(AgentStore.SCHEMAS,
                    AgentStore.JOBS);
            List<StateChange> all = new ArrayList<>(first);
            all.addAll(store.putRun(run));
            spool.writeState(all);
            store.durable(all);
            assertThat(store.putJob(job("b"))).extracting(StateChange::columnFamily)
                    .containsExactly(AgentStore.JOBS);
        } finally {
            spool.close(Duration.ofMillis(200));
        }

        StatusSpool reopened = open(AgentStore.COLUMN_FAMILIES);
        try {
            AgentStore store = new AgentStore(reopened);
            assertThat(store.jobs()).containsExactly(Map.entry("a", job("a")));
            assertThat(store.runs()).containsExactly(run);
            assertThat(store.putRun(run)).as("known from the schemas column family")
                    .extracting(StateChange::columnFamily).containsExactly(AgentStore.RUNS);
        } finally {
            reopened.close(Duration.ofMillis(200));
        }
    }

    @Test
    void shouldResolveARecordWhoseSchemaOnlyTheSchemasColumnFamilyHolds() {
        // a JobDefinition schema neither bundled nor current: v1 with one more field, as a release in between
        // might have written
        Schema v1 = AgentSchemas.bundled().get(0);
        List<Schema.Field> fields = new ArrayList<>();
        v1.getFields().forEach(f -> fields.add(new Schema.Field(f, f.schema())));
        fields.add(new Schema.Field("owner", SchemaBuilder.builder().stringType(), "who to call", "ops"));
        Schema between = Schema.createRecord(v1.getName(), v1.getDoc(), v1.getNamespace(), false, fields);
        GenericRecord record = new GenericRecordBuilder(between).set("jobId", "x").set("name", "x")
                .set("steps", List.of(new GenericRecordBuilder(v1.getField("steps").schema().getElementType())
                        .set("stepId", 1).set("name", "s").set("command", List.of("true")).build()))
                .set("owner", "dba").build();
        byte[] bytes = encode(between, record);

        StatusSpool spool = open(AgentStore.COLUMN_FAMILIES);
        try {
            spool.writeState(List.of(new StateChange.Put(AgentStore.SCHEMAS,
                    AgentStore.fingerprintKey(AgentSchemas.fingerprint(between)), utf8(between.toString())),
                    new StateChange.Put(AgentStore.JOBS, utf8("x"), bytes)));

            JobDefinition job = new AgentStore(spool).jobs().get("x");

            assertThat(job.getSteps().get(0).getCommand()).containsExactly("true");
            assertThat(job.getMaxStepExecutions()).isNull();
        } finally {
            spool.close(Duration.ofMillis(200));
        }
    }

    private static byte[] encode(Schema schema, GenericRecord record) {
        try {
            ByteBuffer buffer = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), schema).encode(record);
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            return bytes;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
