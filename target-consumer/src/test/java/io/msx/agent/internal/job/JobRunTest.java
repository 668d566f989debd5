package io.msx.agent.internal.job;

import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.StepAction;
import io.msx.avro.status.JobOutcome;
import io.msx.avro.status.RunStatus;
import io.msx.avro.status.StepOutcome;
import io.msx.schemas.JobRules;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
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

    private JobRun run(JobDefinition job) {
        return new JobRun(UUID.randomUUID(), job, "test", null, work, Clock.systemUTC(), "test-run");
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
