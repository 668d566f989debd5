package io.msx.agent.internal.job;

import io.msx.avro.StatusHeader;
import io.msx.avro.status.JobOutcome;
import io.msx.avro.status.RunStatus;
import io.msx.avro.status.StepOutcome;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** Outcomes cut to their byte budget, measured as Avro encodes them with a real header. */
class OutcomeBudgetTest {

    private static final int BUDGET = OutcomeBudget.DEFAULT_MAX_BYTES;
    private static final Instant T = Instant.parse("2024-05-01T10:00:00Z");

    private static StepOutcome attempt(int step, int attempt, RunStatus status, Integer exit, String output) {
        return StepOutcome.newBuilder().setStepId(step).setName("step " + step).setAttempt(attempt)
                .setStatus(status).setExitCode(exit).setMessage("exit code " + exit).setStartedAt(T).setEndedAt(T)
                .setOutput(output).setOutputTruncated(false).build();
    }

    private static JobOutcome.Builder outcome(List<StepOutcome> steps) {
        return JobOutcome.newBuilder().setRunId(UUID.randomUUID()).setJobId("j").setTrigger("test")
                .setStatus(RunStatus.FAILED).setMessage("last step failed").setStartedAt(T).setEndedAt(T)
                .setDurationMillis(0).setSteps(steps);
    }

    /** What the reporter spools: the outcome with a real header, Avro binary. */
    private static int spooledSize(JobOutcome.Builder outcome) throws IOException {
        JobOutcome event = JobOutcome.newBuilder(outcome).setHeader(StatusHeader.newBuilder()
                .setTarget("target-with-a-fairly-long-name-01").setSeq(123_456_789_012L).setOccurredAt(Instant.now())
                .setEpoch(UUID.randomUUID().toString()).build()).build();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
        new SpecificDatumWriter<>(JobOutcome.class).write(event, encoder);
        encoder.flush();
        return out.size();
    }

    @Test
    void shouldCutOutputsFairlyAndKeepEveryAttemptWhenOutputsAreOverTheBudget() throws IOException {
        List<StepOutcome> steps = new ArrayList<>();
        for (int i = 1; i <= 20; i++) {
            steps.add(attempt(i, 1, RunStatus.FAILED, i, "x".repeat(70_000)));
        }
        steps.add(attempt(21, 1, RunStatus.SUCCEEDED, 0, "short and kept\n"));

        JobOutcome.Builder fitted = OutcomeBudget.fit(outcome(steps), BUDGET);

        assertThat(spooledSize(fitted)).isLessThanOrEqualTo(BUDGET).isGreaterThan(BUDGET * 9 / 10);
        assertThat(fitted.getSteps()).extracting(StepOutcome::getStepId, StepOutcome::getExitCode)
                .containsExactlyElementsOf(steps.stream()
                        .map(s -> org.assertj.core.groups.Tuple.tuple(s.getStepId(), s.getExitCode())).toList());
        assertThat(fitted.getSteps().subList(0, 20)).allSatisfy(s -> {
            assertThat(s.getOutputTruncated()).isTrue();
            assertThat(s.getOutput()).startsWith("xxxx").containsPattern("\n\\[msx: output truncated, \\d+ more "
                    + "bytes dropped]$");
        });
        assertThat(fitted.getSteps().get(20).getOutput()).isEqualTo("short and kept\n");
        assertThat(fitted.getSteps().get(20).getOutputTruncated()).isFalse();
    }

    @Test
    void shouldCountBytesTheCaptureDroppedInTheNewMarker() {
        String captured = "y".repeat(300_000) + OutcomeBudget.marker(1_000);
        JobOutcome.Builder fitted = OutcomeBudget.fit(outcome(List.of(attempt(1, 1, RunStatus.FAILED, 1,
                captured))), BUDGET);
        String output = fitted.getSteps().get(0).getOutput();
        int kept = output.indexOf('\n');
        assertThat(output).endsWith(OutcomeBudget.marker(300_000 - kept + 1_000));
    }

    @Test
    void shouldNotTouchAnOutcomeExactlyAtTheBudget() {
        List<StepOutcome> steps = List.of(attempt(1, 1, RunStatus.FAILED, 3, "z".repeat(100_000)));
        int size = OutcomeBudget.encodedSize(outcome(steps));

        JobOutcome.Builder atBudget = OutcomeBudget.fit(outcome(steps), size);
        assertThat(atBudget.getSteps()).isEqualTo(steps);
        assertThat(atBudget.getMessage()).isEqualTo("last step failed");

        JobOutcome.Builder oneByteLess = OutcomeBudget.fit(outcome(steps), size - 1);
        assertThat(OutcomeBudget.encodedSize(oneByteLess)).isLessThanOrEqualTo(size - 1);
        assertThat(oneByteLess.getSteps().get(0).getOutputTruncated()).isTrue();
        assertThat(oneByteLess.getSteps().get(0).getOutput()).contains("[msx: output truncated, ");
    }

    @Test
    void shouldKeepEveryBareAttemptWhenOnlyTheirOutputsDoNotFit() throws IOException {
        List<StepOutcome> steps = new ArrayList<>();
        for (int i = 1; i <= 2_000; i++) {
            steps.add(attempt(1, i, i < 2_000 ? RunStatus.RETRY : RunStatus.FAILED, 1, "o".repeat(2_000)));
        }

        JobOutcome.Builder fitted = OutcomeBudget.fit(outcome(steps), OutcomeBudget.MIN_MAX_BYTES * 8);

        assertThat(spooledSize(fitted)).isLessThanOrEqualTo(OutcomeBudget.MIN_MAX_BYTES * 8);
        assertThat(fitted.getSteps()).hasSize(2_000)
                .allSatisfy(s -> assertThat(s.getOutputTruncated()).isTrue());
        assertThat(fitted.getSteps()).extracting(StepOutcome::getAttempt).doesNotHaveDuplicates();
        assertThat(fitted.getMessage()).isEqualTo("last step failed");
    }

    @Test
    void shouldKeepTheFirstAndLastAttemptsAndSummariseTheRestWhenEvenBareAttemptsDoNotFit() throws IOException {
        List<StepOutcome> steps = new ArrayList<>();
        int n = 20_000; // a go-to-step loop of retried steps
        for (int i = 1; i <= n; i++) {
            steps.add(attempt(1 + i % 3, i, i % 2 == 0 ? RunStatus.RETRY : RunStatus.SUCCEEDED, i % 2, "."));
        }

        JobOutcome.Builder fitted = OutcomeBudget.fit(outcome(steps), BUDGET);

        assertThat(spooledSize(fitted)).isLessThanOrEqualTo(BUDGET);
        List<StepOutcome> kept = fitted.getSteps();
        assertThat(kept.size()).isGreaterThan(1_000).isLessThan(n);
        int head = 0;
        while (kept.get(head).getAttempt() == head + 1) {
            head++;
        }
        int tail = kept.size() - head;
        assertThat(kept.get(0).getAttempt()).isEqualTo(1);
        assertThat(kept.get(kept.size() - 1).getAttempt()).isEqualTo(n);
        assertThat(head - tail).isBetween(0, 1);
        assertThat(kept).allSatisfy(s -> assertThat(s.getExitCode()).isNotNull());
        int dropped = n - kept.size();
        long failed = steps.subList(head, n - tail).stream().filter(s -> s.getStatus() == RunStatus.RETRY).count();
        StepOutcome firstDropped = steps.get(head);
        assertThat(fitted.getMessage()).startsWith("last step failed [msx: attempts #" + (head + 1) + " (step "
                        + firstDropped.getStepId() + " attempt " + firstDropped.getAttempt() + ") to #" + (n - tail))
                .endsWith("dropped to keep the outcome within " + BUDGET + " bytes: " + dropped + " attempts, "
                        + failed + " of them failed (FAILED or RETRY)]");
    }

    @Test
    void shouldCutAHugeMessageWithAMarker() throws IOException {
        JobOutcome.Builder outcome = outcome(List.of(StepOutcome.newBuilder(attempt(1, 1, RunStatus.FAILED, null,
                "")).setMessage("cannot start " + "a".repeat(400_000)).build()));

        JobOutcome.Builder fitted = OutcomeBudget.fit(outcome, BUDGET);

        assertThat(spooledSize(fitted)).isLessThanOrEqualTo(BUDGET);
        assertThat(fitted.getSteps().get(0).getMessage()).startsWith("cannot start aaa")
                .endsWith(OutcomeBudget.MESSAGE_MARK).hasSize(OutcomeBudget.MAX_MESSAGE_CHARS
                        + OutcomeBudget.MESSAGE_MARK.length());
    }
}
