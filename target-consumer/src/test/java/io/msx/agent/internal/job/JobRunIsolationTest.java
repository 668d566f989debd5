package io.msx.agent.internal.job;

import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.StepAction;
import io.msx.avro.status.JobOutcome;
import io.msx.avro.status.RunStatus;
import io.msx.avro.status.StepOutcome;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

/** Job isolation with real step processes, through {@link JobRun} and {@link StepProcess}. */
class JobRunIsolationTest {

    private static final String SECRET = "org.apache.kafka.common.security.scram.ScramLoginModule required "
            + "username=\"T1\" password=\"s3cr3t-sasl\";";

    @TempDir
    Path dir;

    private final List<UUID> runIds = new CopyOnWriteArrayList<>();

    @AfterEach
    void killLeftovers() {
        runIds.forEach(id -> Orphans.kill(List.of(Orphans.runMarker(id.toString())), List.of(), false,
                Duration.ofSeconds(10)));
    }

    /** The agent's environment: this JVM's own, plus the secrets an agent holds in production. */
    private static Map<String, String> agentEnvironment() {
        Map<String, String> env = new HashMap<>(System.getenv());
        env.put("MSX_SASL_JAAS_CONFIG", SECRET);
        env.put("MSX_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO", "registry:s3cr3t-registry");
        env.put("HTTPS_PROXY", "http://proxy.example:3128");
        return env;
    }

    private JobIsolation isolation(List<String> allowed, String runAs) {
        return JobIsolation.prepare(new JobIsolation.Settings(dir.resolve("jobs"), dir.resolve("data"),
                JobIsolation.DEFAULT_PATH, "C.UTF-8", null, List.of("HTTPS_PROXY"), runAs, allowed),
                agentEnvironment());
    }

    private JobRun run(JobIsolation isolation, JobStep... steps) {
        UUID runId = UUID.randomUUID();
        runIds.add(runId);
        JobDefinition job = JobDefinition.newBuilder().setJobId("iso").setName("iso").setSteps(List.of(steps))
                .build();
        return new JobRun(runId, job, "test", null, isolation, Clock.systemUTC(), "test-run",
                OutcomeBudget.DEFAULT_MAX_BYTES, StepListener.NONE);
    }

    private static JobStep.Builder step(int id, String... command) {
        return JobStep.newBuilder().setStepId(id).setName("step " + id).setCommand(List.of(command));
    }

    private static Map<String, String> parseEnv(String output) {
        Map<String, String> env = new HashMap<>();
        for (String line : output.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                env.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return env;
    }

    @Test
    void shouldGiveAStepNothingOfTheAgentsEnvironmentButWhatIsAllowed() {
        JobRun run = run(isolation(List.of(), null), step(1, "/usr/bin/env")
                .setEnv(Map.of("REPORT_DATE", "2024-01-31", "MSX_RUN_ID", "forged")).build());

        JobOutcome.Builder outcome = run.execute();

        assertThat(outcome.getStatus()).as("%s", outcome.getSteps()).isEqualTo(RunStatus.SUCCEEDED);
        String output = outcome.getSteps().get(0).getOutput();
        Map<String, String> env = parseEnv(output);
        List<String> expected = List.of("PATH", "HOME", "LANG", "HTTPS_PROXY", "REPORT_DATE", "MSX_JOB_ID",
                "MSX_RUN_ID", "MSX_STEP_ID", "MSX_ATTEMPT_SEQ");
        assertThat(env).containsOnlyKeys(expected);
        assertThat(env).containsEntry("PATH", JobIsolation.DEFAULT_PATH)
                .containsEntry("HOME", dir.resolve("jobs").toString()).containsEntry("LANG", "C.UTF-8")
                .containsEntry("HTTPS_PROXY", "http://proxy.example:3128").containsEntry("REPORT_DATE", "2024-01-31")
                .containsEntry("MSX_RUN_ID", run.runId().toString()).containsEntry("MSX_JOB_ID", "iso");
        assertThat(output).doesNotContain("s3cr3t").doesNotContain("MSX_SASL_JAAS_CONFIG");
        System.getenv().keySet().stream().filter(name -> !expected.contains(name))
                .forEach(name -> assertThat(env).as("the JVM's own %s", name).doesNotContainKey(name));
    }

    @Test
    void shouldRunStepsInTheWorkDirectoryOutsideTheDataDirectory() throws IOException {
        JobRun run = run(isolation(List.of(), null), step(1, "/bin/pwd").build());

        JobOutcome.Builder outcome = run.execute();

        assertThat(outcome.getSteps().get(0).getOutput().strip()).isEqualTo(dir.resolve("jobs").toRealPath()
                .toString());
    }

    @Test
    void shouldNotStartAForbiddenExecutableNorRetryItAndSayWhy() throws IOException {
        Path marker = dir.resolve("marker");
        Path touch = Path.of("/usr/bin/touch").toRealPath();
        JobRun run = run(isolation(List.of("/usr/bin/env", Path.of("/usr/bin/true").toRealPath().toString()), null),
                step(1, "/usr/bin/touch", marker.toString()).setRetryAttempts(2).setRetryIntervalSeconds(0)
                        .setOnFailure(StepAction.NEXT_STEP).build(),
                step(2, "touch", marker.toString()).build());

        JobOutcome.Builder outcome = run.execute();

        assertThat(marker).doesNotExist();
        assertThat(outcome.getStatus()).isEqualTo(RunStatus.FAILED);
        assertThat(outcome.getSteps()).as("one attempt each: a refusal is not retried")
                .extracting(StepOutcome::getStepId, StepOutcome::getStatus, StepOutcome::getExitCode)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(1, RunStatus.FAILED, null),
                        org.assertj.core.groups.Tuple.tuple(2, RunStatus.FAILED, null));
        assertThat(outcome.getSteps().get(0).getMessage()).isEqualTo(touch
                + " is not in jobs.allowed.commands: step not started");
        assertThat(outcome.getSteps().get(1).getMessage()).isEqualTo(touch
                + " is not in jobs.allowed.commands (the step's program touch resolves to it): step not started");
    }

    @Test
    void shouldRunAnAllowedExecutableCalledThroughASymlinkOrOnThePath() throws IOException {
        Path touch = Path.of("/usr/bin/touch").toRealPath();
        Path link = Files.createSymbolicLink(dir.resolve("make-marker"), touch);
        JobRun run = run(isolation(List.of(touch.toString()), null),
                step(1, link.toString(), dir.resolve("by-link").toString()).build(),
                step(2, "touch", dir.resolve("by-path").toString()).build());

        JobOutcome.Builder outcome = run.execute();

        assertThat(outcome.getStatus()).as("%s", outcome.getSteps()).isEqualTo(RunStatus.SUCCEEDED);
        assertThat(dir.resolve("by-link")).exists();
        assertThat(dir.resolve("by-path")).exists();
    }

    @Test
    void shouldNotStartAStepWhoseWorkingDirectoryIsInTheDataDirectory() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        JobRun run = run(isolation(List.of(), null), step(1, "touch", "planted").setWorkingDirectory(data.toString())
                .build());

        JobOutcome.Builder outcome = run.execute();

        assertThat(data.resolve("planted")).doesNotExist();
        assertThat(outcome.getSteps()).singleElement().satisfies(s -> assertThat(s.getMessage())
                .isEqualTo("working directory " + data + " is inside the agent's data directory " + data
                        + ": step not started"));
    }

    @Test
    void shouldRunStepsAsTheRunAsUserKeepingTheMarkersThatKillThem() throws Exception {
        assumeThat(ProcessHandle.current().info().user().orElse("")).as("switching users needs root (CI runs as "
                + "root); this JVM runs as %s", ProcessHandle.current().info().user().orElse("?")).isEqualTo("root");
        assumeThat(JobIsolation.SETPRIV).as("util-linux setpriv installed").isNotNull();
        JobIsolation isolation = isolation(List.of(), "nobody");
        JobIsolation.RunAs nobody = JobIsolation.lookUp("nobody");

        JobOutcome.Builder outcome = run(isolation, step(1, "id", "-u").build(),
                step(2, "/bin/sh", "-c", "echo $HOME; touch written-by-nobody").build()).execute();

        assertThat(outcome.getStatus()).as("%s", outcome.getSteps()).isEqualTo(RunStatus.SUCCEEDED);
        assertThat(outcome.getSteps().get(0).getOutput()).isEqualTo(nobody.uid() + "\n");
        assertThat(outcome.getSteps().get(1).getOutput()).isEqualTo(nobody.home() + "\n");
        assertThat(Files.getAttribute(dir.resolve("jobs/written-by-nobody"), "unix:uid"))
                .isEqualTo((int) nobody.uid());

        JobRun sleeping = run(isolation, step(1, "/bin/sh", "-c", "sleep 300 & sleep 300").build());
        CompletableFuture<JobOutcome.Builder> running = CompletableFuture.supplyAsync(sleeping::execute);
        await().atMost(Duration.ofSeconds(10)).alias("the run's processes, found by their markers")
                .until(() -> Orphans.processesOf(sleeping.runId()).size() >= 2);
        sleeping.cancel();
        assertThat(running.get(20, TimeUnit.SECONDS).getStatus()).isEqualTo(RunStatus.CANCELED);
        assertThat(Orphans.processesOf(sleeping.runId())).as("killed though another user's").isEmpty();
    }
}
