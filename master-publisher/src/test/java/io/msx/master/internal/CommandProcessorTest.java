package io.msx.master.internal;

import io.msx.avro.CommandHeader;
import io.msx.avro.CommandStatus;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobSchedule;
import io.msx.avro.JobStep;
import io.msx.avro.StatusHeader;
import io.msx.avro.TargetRegistration;
import io.msx.avro.command.DeleteGroup;
import io.msx.avro.command.DeleteJob;
import io.msx.avro.command.EnlistTarget;
import io.msx.avro.command.ForcePoll;
import io.msx.avro.command.SetPollingInterval;
import io.msx.avro.command.StartJob;
import io.msx.avro.command.UpdateGroup;
import io.msx.avro.command.UpsertJob;
import io.msx.avro.command.UpsertMode;
import io.msx.avro.instruction.JobInsert;
import io.msx.avro.instruction.PollNow;
import io.msx.avro.instruction.SetPollInterval;
import io.msx.avro.status.Enlist;
import io.msx.local.ManualClock;
import io.msx.schemas.JobRules;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.function.UnaryOperator;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

class CommandProcessorTest {

    private final ManualClock clock = new ManualClock(Instant.parse("2026-11-25T10:00:00Z"));
    private final TargetRegistry registry = new TargetRegistry(clock);
    private final JobRegistry jobs = new JobRegistry();
    private final CommandProcessor processor = new CommandProcessor(registry, jobs, clock);

    @BeforeEach
    void enlistTwo() {
        for (String t : List.of("T1", "T2")) {
            registry.apply(Enlist.newBuilder().setHeader(StatusHeader.newBuilder().setTarget(t).setSeq(1)
                    .setOccurredAt(clock.instant()).build()).setAgentVersion("1").setTimeZone("UTC")
                    .setPollingIntervalSeconds(60).build());
        }
    }

    static CommandHeader header() {
        return CommandHeader.newBuilder().setCommandId(UUID.randomUUID()).setIssuedAt(Instant.EPOCH).build();
    }

    /** Decides and applies at once, as the command loop does for a command within the record limit. */
    private CommandProcessor.Decision process(SpecificRecord command) {
        CommandProcessor.Decision decision = processor.decide(command);
        decision.apply();
        return decision;
    }

    private static String target(SpecificRecord instruction) {
        return Instructions.header(instruction).getTarget();
    }

    @Test
    void shouldPostOnePollToEachNamedTargetOnly() {
        ForcePoll command = ForcePoll.newBuilder().setHeader(header()).setTargets(List.of("T1")).build();
        CommandProcessor.Decision decision = process(command);

        assertThat(decision.result().getStatus()).isEqualTo(CommandStatus.ACCEPTED);
        assertThat(decision.instructions()).singleElement().satisfies(i -> {
            assertThat(target(i)).isEqualTo("T1");
            assertThat(i).isInstanceOf(PollNow.class);
            assertThat(Instructions.header(i).getCommandId()).isEqualTo(command.getHeader().getCommandId());
        });
        assertThat(decision.result().getInstructions()).singleElement().satisfies(p -> {
            assertThat(p.getTarget()).isEqualTo("T1");
            assertThat(p.getInstructionId())
                    .isEqualTo(Instructions.header(decision.instructions().get(0)).getInstructionId());
        });
    }

    @Test
    void shouldPollEveryEnlistedTargetWhenNoneIsNamed() {
        CommandProcessor.Decision decision = process(ForcePoll.newBuilder().setHeader(header())
                .setTargets(List.of()).build());
        assertThat(decision.instructions()).extracting(CommandProcessorTest::target).containsExactly("T1", "T2");
    }

    @Test
    void shouldRejectUnknownTargetsWithoutPostingAnything() {
        CommandProcessor.Decision decision = process(ForcePoll.newBuilder().setHeader(header())
                .setTargets(List.of("T1", "T9")).build());
        assertThat(decision.result().getStatus()).isEqualTo(CommandStatus.REJECTED);
        assertThat(decision.result().getReason()).isEqualTo("unknown target 'T9' (enlisted: T1, T2)");
        assertThat(decision.instructions()).isEmpty();
    }

    @Test
    void shouldRejectAPollingIntervalOutsideTenSecondsToEightHours() {
        assertThat(process(SetPollingInterval.newBuilder().setHeader(header()).setTargets(List.of())
                .setIntervalSeconds(5).build()).result().getReason()).contains("outside 10 s to 8 h");
        CommandProcessor.Decision ok = process(SetPollingInterval.newBuilder().setHeader(header())
                .setTargets(List.of("T2")).setIntervalSeconds(30).build());
        assertThat(ok.instructions()).singleElement().satisfies(i ->
                assertThat(((SetPollInterval) i).getIntervalSeconds()).isEqualTo(30));
    }

    @Test
    void shouldPreRegisterAndAskForTheTopicOfAnEnlistedTarget() {
        CommandProcessor.Decision decision = process(EnlistTarget.newBuilder().setHeader(header()).setTarget("T3")
                .setLocation("rack-9").build());
        assertThat(decision.result().getStatus()).isEqualTo(CommandStatus.ACCEPTED);
        assertThat(decision.newTargets()).containsExactly("T3");
        assertThat(registry.view("T3").orElseThrow().location()).isEqualTo("rack-9");

        assertThat(process(EnlistTarget.newBuilder().setHeader(header()).setTarget("bad name").build())
                .result().getReason()).contains("invalid target name");
    }

    @Test
    void shouldChangeNothingInMemoryUntilTheDecisionIsApplied() {
        CommandProcessor.Decision decision = processor.decide(EnlistTarget.newBuilder().setHeader(header())
                .setTarget("T3").setGroups(List.of("web")).build());

        assertThat(decision.accepted()).isTrue();
        assertThat(decision.targetsPut()).extracting(TargetRegistration::getTarget).containsExactly("T3");
        assertThat(registry.contains("T3")).as("decided, not applied").isFalse();
        assertThat(registry.members("web")).isEmpty();

        decision.apply();
        assertThat(registry.contains("T3")).isTrue();
        assertThat(registry.members("web")).containsExactly("T3");
    }

    @Test
    void shouldRejectEnlistingATargetWhoseTopicWouldCollideNamingTheCollision() {
        CommandProcessor.Decision decision = process(EnlistTarget.newBuilder().setHeader(header()).setTarget("C_1")
                .build());

        assertThat(decision.result().getStatus()).isEqualTo(CommandStatus.REJECTED);
        assertThat(decision.result().getReason()).contains("invalid target name 'C_1'")
                .contains("'C_1' would collide with 'C.1'");
        assertThat(decision.newTargets()).isEmpty();
        assertThat(decision.targetsPut()).isEmpty();
        assertThat(registry.contains("C_1")).isFalse();

        assertThat(process(ForcePoll.newBuilder().setHeader(header()).setTargets(List.of("C_1")).build()).result()
                .getReason()).as("an invalid name gets the rule, not 'unknown'").contains("would collide with 'C.1'");
        assertThat(process(EnlistTarget.newBuilder().setHeader(header()).setTarget("T3").setGroups(List.of("web_1"))
                .build()).result().getReason()).contains("invalid group name 'web_1'");
        assertThat(process(UpdateGroup.newBuilder().setHeader(header()).setGroup("web_1")
                .setAddTargets(List.of("T1")).build()).result().getReason())
                .contains("invalid group name 'web_1'");
        assertThat(registry.contains("T3")).isFalse();
    }

    @Test
    void shouldRefuseUnknownGroupsAndJobs() {
        CommandProcessor.Decision decision = process(DeleteGroup.newBuilder().setHeader(header()).setGroup("g")
                .build());
        assertThat(decision.result().getStatus()).isEqualTo(CommandStatus.REJECTED);
        assertThat(decision.result().getReason()).isEqualTo("unknown group 'g'");
        assertThat(process(DeleteJob.newBuilder().setHeader(header()).setJobId("j").build()).result().getReason())
                .isEqualTo("unknown job 'j'");
    }

    static JobDefinition job(String id, List<String> targets) {
        return JobDefinition.newBuilder().setJobId(id).setName(id).setTargets(targets)
                .setSteps(List.of(step(1))).build();
    }

    private static JobStep step(int id) {
        return JobStep.newBuilder().setStepId(id).setName("s").setCommand(List.of("true")).build();
    }

    private static UpsertJob upsert(JobDefinition job, UpsertMode mode) {
        return UpsertJob.newBuilder().setHeader(header()).setJob(job).setMode(mode).build();
    }

    private static UpsertJob upsert(JobDefinition job) {
        return UpsertJob.newBuilder().setHeader(header()).setJob(job).build();
    }

    @Test
    void shouldInsertThenUpdateAndDeleteAJobOnTheRightTargets() {
        CommandProcessor.Decision created = process(upsert(job("backup", List.of("T1")), UpsertMode.CREATE));
        assertThat(created.result().getInstructions()).extracting(p -> p.getTarget() + ":" + p.getOperation())
                .containsExactly("T1:JOB_INSERT");
        assertThat(((JobInsert) created.instructions().get(0)).getJob().getVersion()).isEqualTo(1);

        assertThat(process(upsert(job("backup", List.of("T1")), UpsertMode.CREATE)).result().getReason())
                .isEqualTo("duplicate job 'backup' (use update)");

        CommandProcessor.Decision moved = process(upsert(job("backup", List.of("T2")), UpsertMode.UPDATE));
        assertThat(moved.result().getInstructions()).extracting(p -> p.getTarget() + ":" + p.getOperation())
                .containsExactly("T2:JOB_INSERT", "T1:JOB_DELETE");

        CommandProcessor.Decision started = process(StartJob.newBuilder().setHeader(header()).setJobId("backup")
                .build());
        assertThat(started.result().getInstructions()).extracting(p -> p.getTarget() + ":" + p.getOperation())
                .containsExactly("T2:JOB_START");
    }

    @Test
    void shouldRejectJobsThatCannotRunOrGoNowhere() {
        JobDefinition badCron = JobDefinition.newBuilder(job("j", List.of("T1")))
                .setSchedules(List.of(JobSchedule.newBuilder().setName("s").setCron("nope").build()))
                .build();
        assertThat(process(upsert(badCron)).result().getReason()).contains("invalid cron 'nope'");
        assertThat(process(upsert(job("j", List.of("T7")))).result().getReason()).isEqualTo("unknown target 'T7'");
        assertThat(process(upsert(job("j", List.of()))).result().getReason())
                .isEqualTo("job 'j' names no targets or groups");
    }

    @Test
    void shouldRejectJobsOutsideTheBoundsNamingTheValueAndTheBound() {
        assertRejected(step -> JobStep.newBuilder(step).setRetryAttempts(Integer.MAX_VALUE).build(),
                "retryAttempts is " + Integer.MAX_VALUE + ", allowed 0 to " + JobRules.MAX_RETRY_ATTEMPTS);
        assertRejected(step -> JobStep.newBuilder(step).setTimeoutSeconds(-1).build(),
                "timeoutSeconds is -1, allowed 1 to " + JobRules.MAX_TIMEOUT_SECONDS);
        assertRejected(step -> JobStep.newBuilder(step).setMaxOutputBytes(-5).build(),
                "maxOutputBytes is -5, allowed 0 to " + JobRules.MAX_OUTPUT_BYTES);

        JobDefinition huge = JobDefinition.newBuilder(job("huge", List.of("T1")))
                .setSteps(IntStream.rangeClosed(1, 5_000).mapToObj(CommandProcessorTest::step).toList()).build();
        CommandProcessor.Decision decision = process(upsert(huge));
        assertThat(decision.result().getStatus()).isEqualTo(CommandStatus.REJECTED);
        assertThat(decision.result().getReason()).isEqualTo("job 'huge' steps: 5000, at most " + JobRules.MAX_STEPS
                + " allowed");
        assertThat(decision.instructions()).isEmpty();
        assertThat(jobs.all()).isEmpty();
    }

    private void assertRejected(UnaryOperator<JobStep> change, String reason) {
        JobDefinition job = JobDefinition.newBuilder(job("bounded", List.of("T1")))
                .setSteps(List.of(change.apply(step(1)))).build();
        CommandProcessor.Decision decision = process(upsert(job));
        assertThat(decision.result().getStatus()).isEqualTo(CommandStatus.REJECTED);
        assertThat(decision.result().getReason()).isEqualTo("job 'bounded' step 1 " + reason);
        assertThat(decision.instructions()).isEmpty();
        assertThat(decision.jobsPut()).isEmpty();
        assertThat(jobs.get("bounded")).isEmpty();
    }

    @Test
    void shouldMoveAGroupJobWithItsMembers() {
        process(UpdateGroup.newBuilder().setHeader(header()).setGroup("web").setAddTargets(List.of("T1")).build());
        JobDefinition site = JobDefinition.newBuilder(job("site", List.of())).setGroups(List.of("web")).build();
        assertThat(process(upsert(site)).result().getInstructions())
                .extracting(p -> p.getTarget() + ":" + p.getOperation()).containsExactly("T1:JOB_INSERT");

        CommandProcessor.Decision joined = process(UpdateGroup.newBuilder().setHeader(header()).setGroup("web")
                .setAddTargets(List.of("T2")).setRemoveTargets(List.of("T1")).build());

        assertThat(joined.result().getInstructions()).extracting(p -> p.getTarget() + ":" + p.getOperation())
                .containsExactly("T2:JOB_INSERT", "T1:JOB_DELETE");
        assertThat(joined.targetsPut()).extracting(TargetRegistration::getTarget)
                .containsExactlyInAnyOrder("T1", "T2");
        assertThat(registry.members("web")).containsExactly("T2");
        assertThat(process(upsert(JobDefinition.newBuilder(site).setJobId("other").setGroups(List.of("nobody"))
                .build())).result().getReason()).startsWith("unknown group 'nobody'");
    }

    @Test
    void shouldPostAGroupsJobsToATargetEnlistedIntoIt() {
        process(UpdateGroup.newBuilder().setHeader(header()).setGroup("web").setAddTargets(List.of("T1")).build());
        process(upsert(JobDefinition.newBuilder(job("site", List.of())).setGroups(List.of("web")).build()));

        CommandProcessor.Decision enlisted = process(EnlistTarget.newBuilder().setHeader(header()).setTarget("T3")
                .setGroups(List.of("web")).build());

        assertThat(enlisted.result().getInstructions()).extracting(p -> p.getTarget() + ":" + p.getOperation())
                .containsExactly("T3:JOB_INSERT");
        assertThat(registry.members("web")).containsExactly("T1", "T3");
    }
}
