package io.msx.agent.internal.job;

import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.StepAction;
import io.msx.avro.status.JobOutcome;
import io.msx.avro.status.RunStatus;
import io.msx.avro.status.StepOutcome;
import io.msx.schemas.JobRules;
import io.msx.avro.StatusHeader;
import io.msx.avro.state.StoredRun;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Job runs with real OS processes. */
class JobRunTest {

    @TempDir
    Path work;

    private static JobStep.Builder step(int id, String name, String script) {
        return JobStep.newBuilder().setStepId(id).setName(name).setCommand(List.of("sh", "-c", script));
    }

    /** Runs started here, whose processes are killed after each test whatever it left. */
    private final List<UUID> runIds = new CopyOnWriteArrayList<>();

    @AfterEach
    void killLeftovers() {
        runIds.forEach(id -> Orphans.kill(List.of(Orphans.runMarker(id.toString())), List.of(), false,
                Duration.ofSeconds(10)));
    }

    private JobRun run(JobDefinition job) {
        return run(job, StepListener.NONE);
    }

    private JobRun run(JobDefinition job, StepListener listener) {
        UUID runId = UUID.randomUUID();
        runIds.add(runId);
        return new JobRun(runId, job, "test", null, JobIsolation.defaults(work), Clock.systemUTC(), "test-run",
                OutcomeBudget.DEFAULT_MAX_BYTES, listener);
    }

    private static List<Long> processesOf(JobRun run) {
        return Orphans.processesWith(List.of(Orphans.runMarker(run.runId().toString())));
    }

    /** Fields 5 and 6 of /proc/<pid>/stat: process group and session. */
    private static long[] groupAndSession(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return new long[] {Long.parseLong(fields[2]), Long.parseLong(fields[3])};
    }

    @Test
    void shouldKeepTheOutcomeWithinItsBudgetWhenTwentyStepsPrint70KbEach() throws IOException {
        JobStep[] steps = new JobStep[20];
        for (int i = 0; i < steps.length; i++) {
            steps[i] = step(i + 1, "chatty " + (i + 1), "head -c 70000 /dev/zero | tr '\\0' x; exit " + (i % 3))
                    .setMaxOutputBytes(100_000).setOnFailure(StepAction.NEXT_STEP).build();
        }

        JobOutcome.Builder outcome = run(job(steps)).execute();

        JobOutcome event = JobOutcome.newBuilder(outcome).setHeader(StatusHeader.newBuilder().setTarget("T1")
                .setSeq(42).setOccurredAt(Instant.now().truncatedTo(ChronoUnit.MILLIS))
                .setEpoch(UUID.randomUUID().toString()).build()).build();
        ByteArrayOutputStream encoded = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(encoded, null);
        new SpecificDatumWriter<>(JobOutcome.class).write(event, encoder);
        encoder.flush();
        assertThat(encoded.size()).isLessThanOrEqualTo(OutcomeBudget.DEFAULT_MAX_BYTES);
        assertThat(outcome.getSteps()).hasSize(20).allSatisfy(s -> {
            assertThat(s.getOutputTruncated()).isTrue();
            assertThat(s.getOutput()).startsWith("xxx").containsPattern("\\[msx: output truncated, \\d+ more "
                    + "bytes dropped]$");
        });
        assertThat(outcome.getSteps()).extracting(StepOutcome::getExitCode)
                .containsExactly(0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1);
    }

    @Test
    void shouldRunEachAttemptInItsOwnSessionAndReportItsProcessGroupWhenItStarts() throws Exception {
        List<Long> groups = new CopyOnWriteArrayList<>();
        JobRun run = run(job(step(1, "sleeper", "sleep 300").build()), groups::add);
        CompletableFuture<JobOutcome.Builder> outcome = CompletableFuture.supplyAsync(run::execute);
        await().atMost(Duration.ofSeconds(10)).alias("process group reported").until(() -> !groups.isEmpty());

        long group = groups.get(0);
        assertThat(groupAndSession(group)).containsExactly(group, group);
        assertThat(groupAndSession(group)[1]).isNotEqualTo(groupAndSession(ProcessHandle.current().pid())[1]);

        run.cancel();
        assertThat(outcome.get(20, TimeUnit.SECONDS).getStatus()).isEqualTo(RunStatus.CANCELED);
    }

    @Test
    void shouldLeaveNoProcessWithTheRunIdWhenABackgroundingStepIsCanceled() throws Exception {
        JobRun run = run(job(step(1, "sleepers", "sleep 300 & sleep 300").build()));
        CompletableFuture<JobOutcome.Builder> outcome = CompletableFuture.supplyAsync(run::execute);
        await().atMost(Duration.ofSeconds(10)).alias("two processes of the run")
                .until(() -> processesOf(run).size() >= 2);

        run.cancel();

        assertThat(outcome.get(20, TimeUnit.SECONDS).getStatus()).isEqualTo(RunStatus.CANCELED);
        assertThat(processesOf(run)).as("killed before the run ends").isEmpty();
    }

    @Test
    void shouldKillAProcessThatLeftTheStepsSessionWhenCanceled() throws Exception {
        JobRun run = run(job(step(1, "escaper", "setsid sh -c 'sleep 300' & sleep 300").build()));
        CompletableFuture<JobOutcome.Builder> outcome = CompletableFuture.supplyAsync(run::execute);
        List<Long> processes = await().atMost(Duration.ofSeconds(10)).alias("the escaped sleep running")
                .until(() -> processesOf(run), list -> list.size() >= 2);
        assertThat(processes.stream().map(pid -> {
            try {
                return groupAndSession(pid)[1];
            } catch (IOException e) {
                return -1L;
            }
        }).distinct().count()).as("two sessions").isGreaterThanOrEqualTo(2);

        run.cancel();

        assertThat(outcome.get(20, TimeUnit.SECONDS).getStatus()).isEqualTo(RunStatus.CANCELED);
        assertThat(processesOf(run)).isEmpty();
    }

    @Test
    void shouldAwaitTheKillWhenStoppedAndStartNothingAfterTheCancel() throws Exception {
        JobRun run = run(job(step(1, "sleepers", "sleep 300 & sleep 300").build(),
                step(2, "never", "touch never").build()));
        CompletableFuture<JobOutcome.Builder> outcome = CompletableFuture.supplyAsync(run::execute);
        await().atMost(Duration.ofSeconds(10)).until(() -> processesOf(run).size() >= 2);

        run.cancel();

        assertThat(run.awaitStopped(Duration.ofSeconds(20))).isTrue();
        assertThat(processesOf(run)).isEmpty();
        assertThat(outcome.get(20, TimeUnit.SECONDS).getStatus()).isEqualTo(RunStatus.CANCELED);
        assertThat(work.resolve("never")).doesNotExist();
    }

    @Test
    void shouldKillTheSurvivorsOfAnAbandonedRunButNotAnUnrelatedProcessGroup() throws Exception {
        List<Long> groups = new CopyOnWriteArrayList<>();
        JobRun abandoned = run(job(step(1, "survivors", "sleep 300 & setsid sleep 300 & sleep 300").build()),
                groups::add);
        // the agent "crashes": the run is never canceled, its thread simply left behind
        Thread thread = new Thread(abandoned::execute, "test-abandoned-run");
        thread.setDaemon(true);
        thread.start();
        await().atMost(Duration.ofSeconds(10)).alias("the run's three sleeps")
                .until(() -> !groups.isEmpty() && processesOf(abandoned).size() >= 3);
        Process unrelated = new ProcessBuilder(StepProcess.SETSID, "sleep", "300").start();
        try {
            StoredRun stored = StoredRun.newBuilder().setRunId(abandoned.runId()).setJobId("j").setState("STARTED")
                    .setTrigger("test").setProcessGroups(List.of(groups.get(0), unrelated.pid())).build();

            Orphans.Result result = Orphans.killSurvivors(stored, Duration.ofSeconds(10));

            assertThat(result.clean()).isTrue();
            assertThat(result.killed()).isGreaterThanOrEqualTo(3);
            assertThat(processesOf(abandoned)).isEmpty();
            assertThat(unrelated.isAlive()).as("a group none of whose members carries the run id").isTrue();
        } finally {
            unrelated.destroyForcibly();
        }
    }

    private static JobDefinition job(JobStep... steps) {
        return JobDefinition.newBuilder().setJobId("j").setName("j").setSteps(List.of(steps)).build();
    }

    @Test
    void shouldRetryGoToAStepAndQuitWithFailureStepByStep() {
        JobDefinition job = job(
                step(1, "flaky", "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; "
                        + "echo attempt $n; [ $n -ge 3 ]")
                        .setRetryAttempts(2).setRetryIntervalSeconds(0)
                        .setOnSuccess(StepAction.GO_TO_STEP).setOnSuccessGoToStep(3).build(),
                step(2, "skipped", "echo should not run > skipped").build(),
                step(3, "fails", "echo boom; exit 4").setOnFailure(StepAction.QUIT_WITH_FAILURE).build());

        JobOutcome.Builder outcome = run(job).execute();

        assertThat(outcome.getStatus()).isEqualTo(RunStatus.FAILED);
        assertThat(outcome.getMessage()).isEqualTo("quit with failure after step 3 (fails)");
        assertThat(outcome.getSteps()).extracting(StepOutcome::getStepId, StepOutcome::getAttempt,
                StepOutcome::getStatus, StepOutcome::getExitCode).containsExactly(
                org.assertj.core.groups.Tuple.tuple(1, 1, RunStatus.RETRY, 1),
                org.assertj.core.groups.Tuple.tuple(1, 2, RunStatus.RETRY, 1),
                org.assertj.core.groups.Tuple.tuple(1, 3, RunStatus.SUCCEEDED, 0),
                org.assertj.core.groups.Tuple.tuple(3, 1, RunStatus.FAILED, 4));
        assertThat(outcome.getSteps().get(2).getOutput()).isEqualTo("attempt 3\n");
        assertThat(outcome.getSteps().get(3).getOutput()).isEqualTo("boom\n");
        assertThat(outcome.getSteps().get(0).getMessage()).contains("retry 1 of 2");
        assertThat(work.resolve("skipped")).doesNotExist();
        assertThat(outcome.getDurationMillis()).isNotNegative();
    }

    @Test
    void shouldSucceedAfterTheLastStepAndHonourQuitWithSuccess() {
        JobOutcome.Builder outcome = run(job(
                step(1, "fails but goes on", "exit 2").setOnFailure(StepAction.NEXT_STEP).build(),
                step(2, "ok", "true").setOnSuccess(StepAction.QUIT_WITH_SUCCESS).build(),
                step(3, "never", "touch never").build())).execute();

        assertThat(outcome.getStatus()).isEqualTo(RunStatus.SUCCEEDED);
        assertThat(outcome.getSteps()).extracting(StepOutcome::getStatus)
                .containsExactly(RunStatus.FAILED, RunStatus.SUCCEEDED);
        assertThat(work.resolve("never")).doesNotExist();
    }

    @Test
    void shouldCancelAndKillTheWholeProcessTree() throws Exception {
        JobRun run = run(job(step(1, "sleepers", "sleep 300 & sleep 300 & wait").build()));
        CompletableFuture<JobOutcome.Builder> outcome = CompletableFuture.supplyAsync(run::execute);
        List<ProcessHandle> sleepers = await().atMost(Duration.ofSeconds(10)).alias("two sleep processes running")
                .until(JobRunTest::sleeps, list -> list.size() >= 2);

        run.cancel();

        JobOutcome.Builder done = outcome.get(10, TimeUnit.SECONDS);
        assertThat(done.getStatus()).isEqualTo(RunStatus.CANCELED);
        assertThat(done.getSteps()).singleElement().satisfies(s -> {
            assertThat(s.getStatus()).isEqualTo(RunStatus.CANCELED);
            assertThat(s.getExitCode()).isNull();
        });
        await().atMost(Duration.ofSeconds(10)).alias("every process of the tree gone")
                .until(() -> sleepers.stream().noneMatch(ProcessHandle::isAlive));
    }

    @Test
    void shouldStopAGoToStepLoopAtTheJobsOwnBound() {
        JobDefinition job = JobDefinition.newBuilder(job(
                step(1, "ping", "true").setOnSuccess(StepAction.GO_TO_STEP).setOnSuccessGoToStep(2).build(),
                step(2, "pong", "true").setOnSuccess(StepAction.GO_TO_STEP).setOnSuccessGoToStep(1).build()))
                .setMaxStepExecutions(3).build();

        JobOutcome.Builder outcome = run(job).execute();

        assertThat(outcome.getStatus()).isEqualTo(RunStatus.FAILED);
        assertThat(outcome.getMessage()).isEqualTo("more than 3 step executions: go-to-step loop stopped");
        assertThat(outcome.getSteps()).extracting(StepOutcome::getStepId).containsExactly(1, 2, 1);
    }

    @Test
    void shouldNotStopAJobWithoutLoopThatEntersEveryStepUpToItsBound() {
        // the bound counts step entries: a job without loops enters each step once, so steps = bound still finishes
        JobDefinition job = JobDefinition.newBuilder(job(step(1, "a", "true").build(), step(2, "b", "true").build(),
                step(3, "c", "true").build())).setMaxStepExecutions(3).build();

        JobOutcome.Builder outcome = run(job).execute();

        assertThat(outcome.getStatus()).isEqualTo(RunStatus.SUCCEEDED);
        assertThat(outcome.getSteps()).extracting(StepOutcome::getStepId).containsExactly(1, 2, 3);
    }

    @Test
    void shouldDeriveTheBoundFromTheStepsWhenTheJobSetsNone() {
        // one step going to itself: 100 x 1 step executions, then stopped (the old fixed bound was 1000)
        JobDefinition job = job(JobStep.newBuilder().setStepId(1).setName("self").setCommand(List.of("true"))
                .setOnSuccess(StepAction.GO_TO_STEP).setOnSuccessGoToStep(1).build());
        assertThat(JobRules.maxStepExecutions(job)).isEqualTo(JobRules.STEP_EXECUTIONS_PER_STEP);

        JobOutcome.Builder outcome = run(job).execute();

        assertThat(outcome.getMessage()).isEqualTo("more than " + JobRules.STEP_EXECUTIONS_PER_STEP
                + " step executions: go-to-step loop stopped");
        assertThat(outcome.getSteps()).hasSize(JobRules.STEP_EXECUTIONS_PER_STEP);
    }

    @Test
    void shouldGiveAJobOfManyStepsABoundItsStepsFitIn() {
        // a 5,000-step job without loops enters 5,000 steps: the derived bound must not stop it (the old fixed
        // bound of 1,000 did); running 5,000 processes here would prove nothing more
        JobStep[] steps = new JobStep[5000];
        for (int i = 0; i < steps.length; i++) {
            steps[i] = step(i + 1, "s" + (i + 1), "true").build();
        }
        assertThat(JobRules.maxStepExecutions(job(steps))).isEqualTo(5000 * JobRules.STEP_EXECUTIONS_PER_STEP);
    }

    private static List<ProcessHandle> sleeps() {
        return ProcessHandle.current().descendants()
                .filter(p -> p.info().command().map(c -> c.endsWith("sleep")).orElse(false)
                        && p.info().arguments().map(a -> a.length == 1 && a[0].equals("300")).orElse(false))
                .toList();
    }

    @Test
    void shouldKillAStepThatOutlivesItsTimeout() {
        JobOutcome.Builder outcome = run(job(step(1, "slow", "sleep 30").setTimeoutSeconds(1).build())).execute();
        assertThat(outcome.getStatus()).isEqualTo(RunStatus.FAILED);
        assertThat(outcome.getSteps().get(0).getMessage()).isEqualTo("timed out after 1 s; process tree killed");
        assertThat(outcome.getDurationMillis()).isLessThan(20_000);
    }

    @Test
    void shouldBoundCapturedOutputAndMarkTheTruncation() {
        JobOutcome.Builder outcome = run(job(step(1, "chatty", "head -c 5000 /dev/zero | tr '\\0' x")
                .setMaxOutputBytes(100).build())).execute();
        StepOutcome step = outcome.getSteps().get(0);
        assertThat(step.getOutputTruncated()).isTrue();
        assertThat(step.getOutput()).startsWith("x".repeat(100) + "\n[msx: output truncated, 4900 more bytes");
    }

    @Test
    void shouldFailAStepWhoseProgramCannotStart() throws Exception {
        JobDefinition job = job(JobStep.newBuilder().setStepId(1).setName("missing")
                .setCommand(List.of(work.resolve("no-such-program").toString())).build());
        JobOutcome.Builder outcome = run(job).execute();
        assertThat(outcome.getStatus()).isEqualTo(RunStatus.FAILED);
        assertThat(outcome.getSteps().get(0).getMessage()).startsWith("cannot start");
        assertThat(Files.list(work)).isEmpty();
    }
}
