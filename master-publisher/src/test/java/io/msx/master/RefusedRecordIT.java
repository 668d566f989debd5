package io.msx.master;

import io.msx.avro.CommandResult;
import io.msx.avro.CommandStatus;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import io.msx.avro.command.EnlistTarget;
import io.msx.avro.command.ForcePoll;
import io.msx.avro.command.UpsertJob;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import io.msx.master.client.CommandClient;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.schemas.SchemaRegistryConfig;
import io.msx.schemas.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A target topic created behind the master's back with a 2 KiB max.message.bytes: a command whose instruction would
 * be larger is rejected naming the topic's limit before anything is written (a refused record would fail the whole
 * transaction, on every retry), and the master goes on; after the topic's limit is lowered behind its back again, the
 * refused write fails the task once, is counted, and the command read again is rejected the same way.
 */
@ExtendWith(LocalStackExtension.class)
class RefusedRecordIT {

    @TempDir
    Path state;

    @Test
    void shouldSkipARecordKafkaRefusesAndKeepAnswering(LocalStack stack) throws Exception {
        Topics topics = new Topics(LocalStack.uniqueTopicPrefix());
        try (Admin admin = Admin.create(Configs.kafka(stack))) {
            admin.createTopics(List.of(new NewTopic(topics.target("small"), 1, (short) 1)
                    .configs(Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, "2048")))).all().get();
        }
        SchemaRegistryClient registry = new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl()));
        Map<String, Object> config = Configs.master(stack, topics.prefix(), "refused");
        config.put(MasterConfig.STATE_DIR_CONFIG, state.toString());
        try (MasterPublisher master = new MasterPublisher(new MasterConfig(config), Clock.systemUTC());
             CommandClient client = new CommandClient(Configs.kafka(stack), registry, topics)) {
            master.start();
            for (String target : List.of("small", "fine")) {
                assertThat(status(client.submit(EnlistTarget.newBuilder().setHeader(FanOutLedger.header())
                        .setTarget(target).build(), Duration.ofSeconds(60)))).isEqualTo(CommandStatus.ACCEPTED);
            }
            // about 8 KiB of instruction: under the master's record limit, over the topic's 2 KiB
            UpsertJob big = UpsertJob.newBuilder().setHeader(FanOutLedger.header()).setJob(JobDefinition.newBuilder()
                    .setJobId("big").setName("big").setTargets(List.of("small")).setSteps(List.of(JobStep.newBuilder()
                            .setStepId(1).setName("s").setCommand(List.of("echo", "x".repeat(8000))).build()))
                    .build()).build();
            CommandResult rejected = client.submit(big, Duration.ofSeconds(60)).orElseThrow();
            assertThat(rejected.getStatus()).isEqualTo(CommandStatus.REJECTED);
            assertThat(rejected.getReason()).contains("record limit of " + topics.target("small"));

            // now a topic the master already checked is made smaller behind its back
            UpsertJob medium = UpsertJob.newBuilder().setHeader(FanOutLedger.header()).setJob(JobDefinition
                    .newBuilder().setJobId("medium").setName("medium").setTargets(List.of("fine"))
                    .setSteps(List.of(JobStep.newBuilder().setStepId(1).setName("s")
                            .setCommand(List.of("echo", "x".repeat(8000))).build())).build()).build();
            assertThat(status(client.submit(ForcePoll.newBuilder().setHeader(FanOutLedger.header())
                    .setTargets(List.of("fine")).build(), Duration.ofSeconds(60)))).isEqualTo(CommandStatus.ACCEPTED);
            try (Admin admin = Admin.create(Configs.kafka(stack))) {
                admin.incrementalAlterConfigs(Map.of(new org.apache.kafka.common.config.ConfigResource(
                        org.apache.kafka.common.config.ConfigResource.Type.TOPIC, topics.target("fine")), List.of(
                        new org.apache.kafka.clients.admin.AlterConfigOp(new org.apache.kafka.clients.admin
                                .ConfigEntry(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, "2048"),
                                org.apache.kafka.clients.admin.AlterConfigOp.OpType.SET)))).all().get();
            }
            CommandResult second = client.submit(medium, Duration.ofSeconds(90)).orElseThrow();
            assertThat(second.getStatus()).isEqualTo(CommandStatus.REJECTED);
            assertThat(second.getReason()).contains("record limit of " + topics.target("fine"));
            assertThat(metrics(master)).contains("msx_master_records_refused_total 1.0");
            assertThat(status(client.submit(ForcePoll.newBuilder().setHeader(FanOutLedger.header())
                    .setTargets(List.of("fine")).build(), Duration.ofSeconds(60))))
                    .as("a later command is still answered").isEqualTo(CommandStatus.ACCEPTED);
            assertThat(master.state()).isEqualTo(MasterPublisher.State.RUNNING);
        }
    }

    private static CommandStatus status(Optional<CommandResult> result) {
        return result.map(CommandResult::getStatus).orElse(null);
    }

    private static String metrics(MasterPublisher master) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + master.httpPort() + "/metrics")).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
    }
}
