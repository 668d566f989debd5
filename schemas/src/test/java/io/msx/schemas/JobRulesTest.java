package io.msx.schemas;

import io.msx.avro.JobDefinition;
import io.msx.avro.JobSchedule;
import io.msx.avro.JobStep;
import io.msx.avro.StepAction;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every bound of a job definition, tested at its edge and one past it. */
class JobRulesTest {

    static JobStep.Builder step(int id) {
        return JobStep.newBuilder().setStepId(id).setName("s" + id).setCommand(List.of("true"));
    }

    static JobDefinition job(List<JobStep> steps) {
        return JobDefinition.newBuilder().setJobId("j1").setName("job").setSteps(steps).setTargets(List.of("T1"))
                .build();
    }

    private static JobDefinition withStep(Consumer<JobStep.Builder> change) {
        JobStep.Builder builder = step(1);
        change.accept(builder);
        return job(List.of(builder.build()));
    }

    @Test
    void shouldAcceptEveryNumberAtItsBound() {
        assertThatCode(() -> JobRules.validate(withStep(s -> s.setRetryAttempts(JobRules.MAX_RETRY_ATTEMPTS)
                .setRetryIntervalSeconds(JobRules.MAX_RETRY_INTERVAL_SECONDS)
                .setTimeoutSeconds(JobRules.MAX_TIMEOUT_SECONDS).setMaxOutputBytes(JobRules.MAX_OUTPUT_BYTES))))
                .doesNotThrowAnyException();
        assertThatCode(() -> JobRules.validate(withStep(s -> s.setRetryAttempts(0).setRetryIntervalSeconds(0)
                .setTimeoutSeconds(1).setMaxOutputBytes(0)))).doesNotThrowAnyException();
    }

    @Test
    void shouldRefuseEveryNumberOnePastItsBound() {
        assertThatThrownBy(() -> JobRules.validate(withStep(s -> s.setRetryAttempts(Integer.MAX_VALUE))))
                .hasMessage("job 'j1' step 1 retryAttempts is 2147483647, allowed 0 to 9999");
        assertThatThrownBy(() -> JobRules.validate(withStep(s -> s.setRetryAttempts(-1))))
                .hasMessageContaining("retryAttempts is -1");
        assertThatThrownBy(() -> JobRules.validate(withStep(s -> s.setRetryIntervalSeconds(86_401))))
                .hasMessageContaining("retryIntervalSeconds is 86401, allowed 0 to 86400");
        assertThatThrownBy(() -> JobRules.validate(withStep(s -> s.setTimeoutSeconds(0))))
                .hasMessageContaining("timeoutSeconds is 0, allowed 1 to 604800");
        assertThatThrownBy(() -> JobRules.validate(withStep(s -> s.setTimeoutSeconds(-5))))
                .hasMessageContaining("timeoutSeconds is -5");
        assertThatThrownBy(() -> JobRules.validate(withStep(s -> s.setMaxOutputBytes(-1))))
                .hasMessageContaining("maxOutputBytes is -1, allowed 0 to 1048576");
        assertThatThrownBy(() -> JobRules.validate(withStep(s -> s.setMaxOutputBytes(JobRules.MAX_OUTPUT_BYTES + 1))))
                .hasMessageContaining("maxOutputBytes is 1048577");
        assertThatThrownBy(() -> JobRules.validate(withStep(s -> s.setSuccessExitCodes(List.of()))))
                .hasMessageContaining("successExitCodes is empty");
        assertThatThrownBy(() -> JobRules.validate(withStep(s -> s.setCommand(List.of("a\0b")))))
                .hasMessageContaining("NUL");
    }

    @Test
    void shouldAcceptTheMostStepsAndRefuseOneMore() {
        List<JobStep> steps = new ArrayList<>();
        IntStream.rangeClosed(1, JobRules.MAX_STEPS).forEach(i -> steps.add(step(i).build()));
        assertThatCode(() -> JobRules.validate(job(steps))).doesNotThrowAnyException();
        steps.add(step(JobRules.MAX_STEPS + 1).build());
        assertThatThrownBy(() -> JobRules.validate(job(steps))).hasMessage("job 'j1' steps: 1001, at most 1000 allowed");
    }

    @Test
    void shouldDeriveTheStepExecutionBoundFromTheJob() {
        List<JobStep> steps = new ArrayList<>();
        IntStream.rangeClosed(1, 50).forEach(i -> steps.add(step(i).build()));
        JobDefinition job = job(steps);
        assertThat(JobRules.maxStepExecutions(job)).isEqualTo(50 * JobRules.STEP_EXECUTIONS_PER_STEP);
        JobDefinition own = JobDefinition.newBuilder(job).setMaxStepExecutions(7).build();
        assertThat(JobRules.maxStepExecutions(own)).isEqualTo(7);
        assertThatThrownBy(() -> JobRules.validate(JobDefinition.newBuilder(job).setMaxStepExecutions(0).build()))
                .hasMessageContaining("maxStepExecutions is 0, allowed 1 to 1000000");
    }

    @Test
    void shouldRefuseBadNamesReferencesAndSchedules() {
        assertThatThrownBy(() -> JobRules.validate(JobDefinition.newBuilder(job(List.of(step(1).build())))
                .setTargets(List.of("C_1")).build())).hasMessageContaining("would collide with 'C.1'");
        assertThatThrownBy(() -> JobRules.validate(withStep(s -> s.setOnSuccess(StepAction.GO_TO_STEP)
                .setOnSuccessGoToStep(9)))).hasMessageContaining("goes to step 9, which does not exist");
        assertThatThrownBy(() -> JobRules.validate(job(List.of(step(1).build(), step(1).build()))))
                .hasMessageContaining("step id 1 is not a unique number");
        JobSchedule bad = JobSchedule.newBuilder().setName("n").setCron("61 * * * *").build();
        assertThatThrownBy(() -> JobRules.validate(JobDefinition.newBuilder(job(List.of(step(1).build())))
                .setSchedules(List.of(bad)).build())).hasMessageContaining("invalid cron '61 * * * *'");
        assertThatThrownBy(() -> JobRules.validate(JobDefinition.newBuilder(job(List.of(step(1).build())))
                .setJobId("bad id").build())).hasMessageContaining("invalid job id 'bad id'");
    }
}
