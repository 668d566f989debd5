package io.msx.master.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.msx.avro.CommandHeader;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobSchedule;
import io.msx.avro.JobStep;
import io.msx.avro.StepAction;
import io.msx.avro.command.DefectTarget;
import io.msx.avro.command.DeleteGroup;
import io.msx.avro.command.DeleteJob;
import io.msx.avro.command.EnlistTarget;
import io.msx.avro.command.ForcePoll;
import io.msx.avro.command.ResyncTargets;
import io.msx.avro.command.SetPollingInterval;
import io.msx.avro.command.StartJob;
import io.msx.avro.command.StopJob;
import io.msx.avro.command.SyncClocks;
import io.msx.avro.command.UpdateGroup;
import io.msx.avro.command.UpsertJob;
import io.msx.avro.command.UpsertMode;
import io.msx.schemas.MessageFamily;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CommandJsonTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final CommandHeader CLI = header("alice");
    private static final CommandHeader SERVER = header("rest:ops");

    private static CommandHeader header(String issuedBy) {
        return CommandHeader.newBuilder().setCommandId(UUID.randomUUID())
                .setIssuedAt(Instant.parse("2030-01-31T02:00:00Z")).setIssuedBy(issuedBy).build();
    }

    static JobDefinition job() {
        return JobDefinition.newBuilder().setJobId("backup").setName("Nightly backup").setDescription(null)
                .setTargets(List.of("T1")).setGroups(List.of("databases")).setMaxStepExecutions(500)
                .setSteps(List.of(JobStep.newBuilder().setStepId(1).setName("dump")
                        .setCommand(List.of("sh", "-c", "pg_dump app > /backup/app.sql"))
                        .setEnv(Map.of("PGHOST", "db")).setTimeoutSeconds(600).setRetryAttempts(2)
                        .setOnFailure(StepAction.GO_TO_STEP).setOnFailureGoToStep(2).build(),
                        JobStep.newBuilder().setStepId(2).setName("alert").setCommand(List.of("true")).build()))
                .setSchedules(List.of(JobSchedule.newBuilder().setName("nightly").setCron("0 2 * * *")
                                .setTimeZone("Europe/Berlin").build(),
                        JobSchedule.newBuilder().setName("once").setRunOnceAt(Instant.parse("2030-02-01T03:04:05Z"))
                                .build()))
                .build();
    }

    /** Every command the CLI sends, as it builds them. */
    static List<SpecificRecord> cliCommands(CommandHeader h) {
        return List.of(
                ForcePoll.newBuilder().setHeader(h).setTargets(List.of("T1", "T2")).build(),
                ForcePoll.newBuilder().setHeader(h).setTargets(List.of()).build(),
                SetPollingInterval.newBuilder().setHeader(h).setTargets(List.of()).setIntervalSeconds(30).build(),
                SyncClocks.newBuilder().setHeader(h).setTargets(List.of("T1")).build(),
                EnlistTarget.newBuilder().setHeader(h).setTarget("T3").setLocation(null).setGroups(List.of("g"))
                        .build(),
                EnlistTarget.newBuilder().setHeader(h).setTarget("T3").setLocation("rack 4").build(),
                EnlistTarget.newBuilder().setHeader(h).setTarget("T4").setKeyFingerprint("SHA256:abc").build(),
                io.msx.avro.command.AcceptTarget.newBuilder().setHeader(h).setTarget("T4")
                        .setKeyFingerprint("SHA256:abc").build(),
                DefectTarget.newBuilder().setHeader(h).setTarget("T3").setForce(true).build(),
                ResyncTargets.newBuilder().setHeader(h).setTargets(List.of("T1")).build(),
                UpsertJob.newBuilder().setHeader(h).setJob(job()).setMode(UpsertMode.CREATE).build(),
                DeleteJob.newBuilder().setHeader(h).setJobId("backup").build(),
                StartJob.newBuilder().setHeader(h).setJobId("backup").setTargets(List.of()).setStartStepId(2).build(),
                StartJob.newBuilder().setHeader(h).setJobId("backup").setTargets(List.of("T1")).build(),
                StopJob.newBuilder().setHeader(h).setJobId("backup").setTargets(List.of()).build(),
                UpdateGroup.newBuilder().setHeader(h).setGroup("g").setAddTargets(List.of("T1"))
                        .setRemoveTargets(List.of("T2")).build(),
                DeleteGroup.newBuilder().setHeader(h).setGroup("g").build());
    }

    @Test
    void shouldReadBackEveryCommandTheCliSendsWithTheServersHeader() {
        List<SpecificRecord> sent = cliCommands(CLI);
        List<SpecificRecord> expected = cliCommands(SERVER);
        for (int i = 0; i < sent.size(); i++) {
            JsonNode body = CommandJson.write(sent.get(i));
            assertThat(body.get("command").has("header")).as("header left out").isFalse();

            SpecificRecord read = CommandJson.read(body, SERVER);

            // (Avro's generated equals fails on instants inside unions inside arrays: compare what they hold)
            assertThat(read.getClass()).isEqualTo(expected.get(i).getClass());
            assertThat(MessageFamily.COMMAND.<CommandHeader>header(read)).isEqualTo(SERVER);
            assertThat(read.toString()).as(body.toString()).isEqualTo(expected.get(i).toString());
            assertThat(CommandJson.write(read)).isEqualTo(body);
        }
        assertThat(MessageFamily.COMMAND.types()).as("every command type is covered")
                .allMatch(type -> sent.stream().anyMatch(type::isInstance));
    }

    @Test
    void shouldWritePlainJsonWithoutUnionWrappersAndTimestampsAsIso() {
        JsonNode body = CommandJson.write(UpsertJob.newBuilder().setHeader(CLI).setJob(job()).build());

        assertThat(body.get("type").asText()).isEqualTo("UpsertJob");
        JsonNode job = body.get("command").get("job");
        assertThat(job.get("description").isNull()).isTrue();
        assertThat(job.get("maxStepExecutions").asInt()).isEqualTo(500);
        assertThat(job.get("steps").get(0).get("timeoutSeconds").asInt()).isEqualTo(600);
        assertThat(job.get("schedules").get(1).get("runOnceAt").asText()).isEqualTo("2030-02-01T03:04:05Z");
        assertThat(body.get("command").get("mode").asText()).isEqualTo("CREATE_OR_UPDATE");
    }

    @Test
    void shouldFillDefaultsAndAcceptTimestampsAsIsoOrMillis() throws Exception {
        UpsertJob read = (UpsertJob) CommandJson.read(JSON.readTree("""
                {"type": "io.msx.avro.command.UpsertJob", "command": {"job": {
                  "jobId": "j", "name": "J", "targets": ["T1"],
                  "steps": [{"stepId": 1, "name": "s", "command": ["true"]}],
                  "schedules": [{"name": "a", "runOnceAt": "2030-02-01T03:04:05Z"},
                                {"name": "b", "runOnceAt": 1896145445000}]}}}"""), SERVER);

        assertThat(read.getHeader()).isEqualTo(SERVER);
        assertThat(read.getMode()).isEqualTo(UpsertMode.CREATE_OR_UPDATE);
        JobStep step = read.getJob().getSteps().get(0);
        assertThat(step.getOnFailure()).isEqualTo(StepAction.QUIT_WITH_FAILURE);
        assertThat(step.getSuccessExitCodes()).containsExactly(0);
        assertThat(step.getTimeoutSeconds()).isNull();
        assertThat(read.getJob().getEnabled()).isTrue();
        assertThat(read.getJob().getSchedules()).extracting(JobSchedule::getRunOnceAt)
                .containsExactly(Instant.parse("2030-02-01T03:04:05Z"), Instant.ofEpochMilli(1896145445000L));
        assertThat(read.getJob().getSchedules().get(0).getTimeZone()).isEqualTo("UTC");
    }

    @Test
    void shouldNameWhatIsWrong() {
        Map<String, String> cases = Map.of(
                "[]", "the body must be a JSON object",
                "{\"command\":{}}", "'type' is required: one of [ForcePoll,",
                "{\"type\":\"ForcePoll\",\"extra\":1}", "unknown field 'extra'",
                "{\"type\":\"ForcePoll\",\"command\":[]}", "'command' must be a JSON object",
                "{\"type\":\"ForcePoll\",\"command\":{\"targets\":\"T1\"}}",
                "command.targets: expected an array, found string \"T1\"",
                "{\"type\":\"UpsertJob\",\"command\":{\"job\":{\"jobId\":\"j\",\"name\":\"J\",\"steps\":[{\"stepId\":1,"
                        + "\"name\":\"s\"}]}}}", "command.job.steps[0].command: required",
                "{\"type\":\"UpsertJob\",\"command\":{\"mode\":\"MERGE\",\"job\":{\"jobId\":\"j\",\"name\":\"J\","
                        + "\"steps\":[]}}}",
                "command.mode: expected one of [CREATE, UPDATE, CREATE_OR_UPDATE], found string \"MERGE\"",
                "{\"type\":\"StartJob\",\"command\":{\"jobId\":\"j\",\"startStepId\":\"2\"}}",
                "command.startStepId: expected one of [null, int], found string \"2\"",
                "{\"type\":\"EnlistTarget\",\"command\":{\"target\":null}}", "command.target: expected a string, found null");
        cases.forEach((body, message) -> assertThatThrownBy(() -> CommandJson.read(JSON.readTree(body), SERVER))
                .as(body).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message));
    }

    @Test
    void shouldRefuseToWriteWhatIsNotACommand() {
        assertThatThrownBy(() -> CommandJson.write(job())).isInstanceOf(IllegalArgumentException.class);
    }
}
