package io.msx.schemas;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobSchedule;
import io.msx.avro.JobStep;
import io.msx.avro.StepAction;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Coverage-guided fuzzing (Jazzer) of what the master validates in every command before it writes anything: target
 * and group names, and job definitions. Properties: validation answers every input with acceptance or an
 * {@link IllegalArgumentException} carrying a message (nothing else escapes); two different accepted target names
 * never give colliding topic names; an accepted job stays inside every documented bound.
 */
class NameAndJobRulesFuzzTest {

    private static final StepAction[] ACTIONS = StepAction.values();

    @FuzzTest(maxDuration = "30s")
    void namesNeverCollideAndJobsStayInBounds(FuzzedDataProvider data) {
        String a = data.consumeString(120);
        String b = data.consumeString(120);
        String topicA = acceptedTopic(a);
        String topicB = acceptedTopic(b);
        if (topicA != null && topicB != null && !a.equals(b)) {
            // Kafka treats '.' and '_' alike: the two topics must differ even so, and neither may be the other's DLQ
            assertThat(topicA.replace('.', '_')).isNotEqualTo(topicB.replace('.', '_'));
            assertThat(Topics.deadLetter(topicA)).isNotEqualTo(topicB);
        }
        JobDefinition job = job(data);
        try {
            JobRules.validate(job);
        } catch (IllegalArgumentException e) {
            assertThat(e.getMessage()).isNotBlank();
            return;
        }
        assertThat(job.getSteps()).isNotEmpty().hasSizeLessThanOrEqualTo(JobRules.MAX_STEPS);
        assertThat(JobRules.maxStepExecutions(job)).isBetween(1, JobRules.MAX_STEP_EXECUTIONS);
        for (JobStep step : job.getSteps()) {
            assertThat(step.getRetryAttempts()).isBetween(0, JobRules.MAX_RETRY_ATTEMPTS);
            assertThat(step.getRetryIntervalSeconds()).isBetween(0, JobRules.MAX_RETRY_INTERVAL_SECONDS);
            assertThat(step.getMaxOutputBytes()).isBetween(0, JobRules.MAX_OUTPUT_BYTES);
            if (step.getTimeoutSeconds() != null) {
                assertThat(step.getTimeoutSeconds()).isBetween(1, JobRules.MAX_TIMEOUT_SECONDS);
            }
        }
        job.getTargets().forEach(t -> assertThat(acceptedTopic(t)).isNotNull());
    }

    private static String acceptedTopic(String name) {
        try {
            return Topics.defaults().target(name);
        } catch (IllegalArgumentException e) {
            assertThat(e.getMessage()).contains("name");
            return null;
        }
    }

    private static JobDefinition job(FuzzedDataProvider data) {
        int stepCount = data.consumeInt(0, 8);
        List<JobStep> steps = new ArrayList<>();
        for (int i = 0; i < stepCount; i++) {
            List<String> command = new ArrayList<>();
            int args = data.consumeInt(0, 3);
            for (int j = 0; j < args; j++) {
                command.add(data.consumeString(20));
            }
            Map<String, String> env = new HashMap<>();
            if (data.consumeBoolean()) {
                env.put(data.consumeString(10), data.consumeString(10));
            }
            steps.add(JobStep.newBuilder().setStepId(data.consumeInt()).setName(data.consumeString(20))
                    .setCommand(command).setEnv(env)
                    .setTimeoutSeconds(data.consumeBoolean() ? null : data.consumeInt())
                    .setRetryAttempts(data.consumeInt()).setRetryIntervalSeconds(data.consumeInt())
                    .setOnSuccess(data.pickValue(ACTIONS)).setOnSuccessGoToStep(data.consumeInt(-2, 10))
                    .setOnFailure(data.pickValue(ACTIONS)).setOnFailureGoToStep(data.consumeInt(-2, 10))
                    .setSuccessExitCodes(data.consumeBoolean() ? List.of(0) : List.of())
                    .setMaxOutputBytes(data.consumeInt()).build());
        }
        List<JobSchedule> schedules = new ArrayList<>();
        if (data.consumeBoolean()) {
            schedules.add(JobSchedule.newBuilder().setName(data.consumeString(10))
                    .setCron(data.consumeBoolean() ? data.consumeString(20) : null)
                    .setTimeZone(data.consumeString(20)).build());
        }
        return JobDefinition.newBuilder().setJobId(data.consumeString(30)).setName(data.consumeString(30))
                .setSteps(steps).setSchedules(schedules)
                .setMaxStepExecutions(data.consumeBoolean() ? null : data.consumeInt())
                .setTargets(List.of(data.consumeString(20))).setGroups(List.of(data.consumeString(20)))
                .build();
    }
}
