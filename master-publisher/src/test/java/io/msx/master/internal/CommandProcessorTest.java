package io.msx.master.internal;

import io.msx.avro.Command;
import io.msx.avro.CommandStatus;
import io.msx.avro.DeleteJob;
import io.msx.avro.EnlistTarget;
import io.msx.avro.Enlist;
import io.msx.avro.ForcePoll;
import io.msx.avro.Instruction;
import io.msx.avro.PollNow;
import io.msx.avro.SetPollInterval;
import io.msx.avro.SetPollingInterval;
import io.msx.avro.StatusEvent;
import org.junit.jupiter.api.BeforeEach;
import io.msx.local.ManualClock;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

class CommandProcessorTest {

    private final ManualClock clock = new ManualClock(Instant.parse("2026-11-25T10:00:00Z"));
    private final TargetRegistry registry = new TargetRegistry(clock);
    private final CommandProcessor processor = new CommandProcessor(registry, new JobRegistry(), clock);

    @BeforeEach
    void enlistTwo() {
        for (String t : List.of("T1", "T2")) {
            registry.apply(StatusEvent.newBuilder().setTarget(t).setSeq(1).setOccurredAt(clock.instant())
                    .setBody(Enlist.newBuilder().setAgentVersion("1").setTimeZone("UTC").setPollingIntervalSeconds(60)
                            .build()).build());
        }
    }

    private static Command command(Object body) {
        return Command.newBuilder().setCommandId(UUID.randomUUID()).setIssuedAt(Instant.EPOCH).setBody(body).build();
    }

    @Test
    void shouldPostOnePollToEachNamedTargetOnly() {
        Command command = command(ForcePoll.newBuilder().setTargets(List.of("T1")).build());
        CommandProcessor.Decision decision = processor.process(command);

        assertThat(decision.result().getStatus()).isEqualTo(CommandStatus.ACCEPTED);
        assertThat(decision.instructions()).singleElement().satisfies(i -> {
            assertThat(i.getTarget()).isEqualTo("T1");
            assertThat(i.getBody()).isInstanceOf(PollNow.class);
            assertThat(i.getCommandId()).isEqualTo(command.getCommandId());
        });
        assertThat(decision.result().getInstructions()).singleElement().satisfies(p -> {
            assertThat(p.getTarget()).isEqualTo("T1");
            assertThat(p.getInstructionId()).isEqualTo(decision.instructions().get(0).getInstructionId());
        });
    }

    @Test
    void shouldPollEveryEnlistedTargetWhenNoneIsNamed() {
        CommandProcessor.Decision decision = processor.process(command(ForcePoll.newBuilder().setTargets(List.of()).build()));
        assertThat(decision.instructions()).extracting(Instruction::getTarget).containsExactly("T1", "T2");
    }

    @Test
    void shouldRejectUnknownTargetsWithoutPostingAnything() {
        CommandProcessor.Decision decision = processor.process(
                command(ForcePoll.newBuilder().setTargets(List.of("T1", "T9")).build()));
        assertThat(decision.result().getStatus()).isEqualTo(CommandStatus.REJECTED);
        assertThat(decision.result().getReason()).isEqualTo("unknown target 'T9' (enlisted: T1, T2)");
        assertThat(decision.instructions()).isEmpty();
    }

    @Test
    void shouldRejectAPollingIntervalOutsideTenSecondsToEightHours() {
        assertThat(processor.process(command(SetPollingInterval.newBuilder().setTargets(List.of())
                .setIntervalSeconds(5).build())).result().getReason()).contains("outside 10 s to 8 h");
        CommandProcessor.Decision ok = processor.process(command(SetPollingInterval.newBuilder()
                .setTargets(List.of("T2")).setIntervalSeconds(30).build()));
        assertThat(ok.instructions()).singleElement().satisfies(i ->
                assertThat(((SetPollInterval) i.getBody()).getIntervalSeconds()).isEqualTo(30));
    }

    @Test
    void shouldPreRegisterAndAskForTheTopicOfAnEnlistedTarget() {
        CommandProcessor.Decision decision = processor.process(command(EnlistTarget.newBuilder().setTarget("T3")
                .setLocation("rack-9").build()));
        assertThat(decision.result().getStatus()).isEqualTo(CommandStatus.ACCEPTED);
        assertThat(decision.newTargets()).containsExactly("T3");
        assertThat(registry.view("T3").orElseThrow().location()).isEqualTo("rack-9");

        assertThat(processor.process(command(EnlistTarget.newBuilder().setTarget("bad name").build()))
                .result().getReason()).contains("invalid target name");
    }

    @Test
    void shouldRefuseUnknownGroupsAndJobs() {
        CommandProcessor.Decision decision = processor.process(command(io.msx.avro.DeleteGroup.newBuilder()
                .setGroup("g").build()));
        assertThat(decision.result().getStatus()).isEqualTo(CommandStatus.REJECTED);
        assertThat(decision.result().getReason()).isEqualTo("unknown group 'g'");
        assertThat(processor.process(command(DeleteJob.newBuilder().setJobId("j").build())).result().getReason())
                .isEqualTo("unknown job 'j'");
    }

    private static io.msx.avro.JobDefinition job(String id, List<String> targets) {
        return io.msx.avro.JobDefinition.newBuilder().setJobId(id).setName(id).setTargets(targets)
                .setSteps(List.of(io.msx.avro.JobStep.newBuilder().setStepId(1).setName("s")
                        .setCommand(List.of("true")).build())).build();
    }

    @Test
    void shouldInsertThenUpdateAndDeleteAJobOnTheRightTargets() {
        CommandProcessor.Decision created = processor.process(command(io.msx.avro.UpsertJob.newBuilder()
                .setJob(job("backup", List.of("T1"))).setMode(io.msx.avro.UpsertMode.CREATE).build()));
        assertThat(created.result().getInstructions()).extracting(p -> p.getTarget() + ":" + p.getOperation())
                .containsExactly("T1:JOB_INSERT");
        assertThat(((io.msx.avro.JobInsert) created.instructions().get(0).getBody()).getJob().getVersion()).isEqualTo(1);

        assertThat(processor.process(command(io.msx.avro.UpsertJob.newBuilder().setJob(job("backup", List.of("T1")))
                .setMode(io.msx.avro.UpsertMode.CREATE).build())).result().getReason())
                .isEqualTo("duplicate job 'backup' (use update)");

        CommandProcessor.Decision moved = processor.process(command(io.msx.avro.UpsertJob.newBuilder()
                .setJob(job("backup", List.of("T2"))).setMode(io.msx.avro.UpsertMode.UPDATE).build()));
        assertThat(moved.result().getInstructions()).extracting(p -> p.getTarget() + ":" + p.getOperation())
                .containsExactly("T2:JOB_INSERT", "T1:JOB_DELETE");

        CommandProcessor.Decision started = processor.process(command(io.msx.avro.StartJob.newBuilder()
                .setJobId("backup").build()));
        assertThat(started.result().getInstructions()).extracting(p -> p.getTarget() + ":" + p.getOperation())
                .containsExactly("T2:JOB_START");
    }

    @Test
    void shouldRejectJobsThatCannotRunOrGoNowhere() {
        io.msx.avro.JobDefinition badCron = io.msx.avro.JobDefinition.newBuilder(job("j", List.of("T1")))
                .setSchedules(List.of(io.msx.avro.JobSchedule.newBuilder().setName("s").setCron("nope").build()))
                .build();
        assertThat(processor.process(command(io.msx.avro.UpsertJob.newBuilder().setJob(badCron).build()))
                .result().getReason()).contains("invalid cron 'nope'");
        assertThat(processor.process(command(io.msx.avro.UpsertJob.newBuilder().setJob(job("j", List.of("T7")))
                .build())).result().getReason()).isEqualTo("unknown target 'T7'");
        assertThat(processor.process(command(io.msx.avro.UpsertJob.newBuilder().setJob(job("j", List.of()))
                .build())).result().getReason()).isEqualTo("job 'j' names no targets or groups");
    }

    @Test
    void shouldMoveAGroupJobWithItsMembers() {
        processor.process(command(io.msx.avro.UpdateGroup.newBuilder().setGroup("web").setAddTargets(List.of("T1"))
                .build()));
        io.msx.avro.JobDefinition site = io.msx.avro.JobDefinition.newBuilder(job("site", List.of()))
                .setGroups(List.of("web")).build();
        assertThat(processor.process(command(io.msx.avro.UpsertJob.newBuilder().setJob(site).build())).result()
                .getInstructions()).extracting(p -> p.getTarget() + ":" + p.getOperation())
                .containsExactly("T1:JOB_INSERT");

        CommandProcessor.Decision joined = processor.process(command(io.msx.avro.UpdateGroup.newBuilder()
                .setGroup("web").setAddTargets(List.of("T2")).setRemoveTargets(List.of("T1")).build()));

        assertThat(joined.result().getInstructions()).extracting(p -> p.getTarget() + ":" + p.getOperation())
                .containsExactly("T2:JOB_INSERT", "T1:JOB_DELETE");
        assertThat(joined.targetsPut()).extracting(io.msx.avro.TargetRegistration::getTarget)
                .containsExactlyInAnyOrder("T1", "T2");
        assertThat(registry.members("web")).containsExactly("T2");
        assertThat(processor.process(command(io.msx.avro.UpsertJob.newBuilder().setJob(
                io.msx.avro.JobDefinition.newBuilder(site).setJobId("other").setGroups(List.of("nobody")).build())
                .build())).result().getReason()).startsWith("unknown group 'nobody'");
    }
}
