package io.msx.master;

import io.msx.avro.instruction.JobInsert;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import io.msx.schemas.Decoded;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.MsxCodec;
import io.msx.schemas.SchemaRegistryClient;
import io.msx.schemas.SchemaRegistryConfig;
import io.msx.schemas.Topics;
import io.msx.agent.TargetAgent;
import io.msx.agent.TargetAgentConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** One job posted to a group of 5 targets through the CLI: one INSERT per topic, applied everywhere, run everywhere. */
@ExtendWith(LocalStackExtension.class)
class GroupJobIT {

    @TempDir
    Path data;

    @Test
    void shouldPostAGroupJobOncePerMemberAndRunItEverywhere(LocalStack stack) throws Exception {
        Topics topics = new Topics(LocalStack.uniqueTopicPrefix());
        List<String> members = IntStream.rangeClosed(1, 5).mapToObj(i -> "web-" + i).toList();
        List<AutoCloseable> running = new ArrayList<>();
        MasterPublisher master = new MasterPublisher(new MasterConfig(Configs.master(stack, topics.prefix(),
                "group-it")), Clock.systemUTC());
        running.add(master);
        try {
            master.start();
            for (String name : members) {
                TargetAgent agent = new TargetAgent(new TargetAgentConfig(Configs.agent(stack, topics.prefix(), name,
                        data.resolve(name))), Clock.systemUTC());
                running.add(0, agent);
                agent.start();
            }
            List<TargetAgent> agents = running.stream().filter(TargetAgent.class::isInstance)
                    .map(TargetAgent.class::cast).toList();
            await().atMost(Duration.ofSeconds(60)).alias("5 targets enlisted and resynced").until(() ->
                    agents.stream().noneMatch(TargetAgent::awaitingResync)
                            && master.targets().stream().filter(t -> t.status() == TargetStatus.NORMAL)
                            .map(TargetView::name).toList().containsAll(members));
            List<String> add = new ArrayList<>(List.of("group", "add", "web"));
            add.addAll(members);
            assertThat(MsxRun.of(stack, topics, master, add.toArray(String[]::new)).exitCode()).isZero();
            assertThat(master.groups()).containsEntry("web", members);
            Path file = data.resolve("site.yaml");
            Files.writeString(file, "id: site\ngroups: [web]\nsteps:\n  - command: [sh, -c, \"echo up on $MSX_JOB_ID\"]\n");
            MsxRun created = MsxRun.of(stack, topics, master, "job", "create", "-f", file.toString());
            assertThat(created.exitCode()).as("stderr: %s", created.err()).isZero();

            await().atMost(Duration.ofSeconds(60)).alias("5 inserts applied (download list)").until(() ->
                    master.instructions(null, "site").stream().filter(i -> i.status().equals("APPLIED")).count() == 5);
            assertThat(insertsPerTopic(stack, topics, members)).as("JobInserts per target topic")
                    .containsOnlyKeys(members.stream().map(topics::target).toArray(String[]::new))
                    .allSatisfy((topic, count) -> assertThat(count).isEqualTo(1));

            MsxRun started = MsxRun.of(stack, topics, master, "job", "start", "site", "--wait");
            assertThat(started.exitCode()).as("stderr: %s", started.err()).isZero();
            assertThat(master.history("site").orElseThrow()).hasSize(5)
                    .allSatisfy(run -> assertThat(run.status()).isEqualTo("SUCCEEDED"))
                    .extracting(JobRunView::target).containsExactlyInAnyOrderElementsOf(members);
            assertThat(MsxRun.of(stack, topics, master, "group", "delete", "web").err())
                    .contains("used by job 'site'");
        } finally {
            for (AutoCloseable c : running) {
                c.close();
            }
        }
    }

    private static Map<String, Integer> insertsPerTopic(LocalStack stack, Topics topics, List<String> members) {
        MsxCodec codec = MsxCodec.of(new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl())),
                false);
        Map<String, Integer> counts = new HashMap<>();
        List<TopicPartition> partitions = members.stream().map(m -> new TopicPartition(topics.target(m), 0)).toList();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Configs.kafka(stack,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                consumer.poll(Duration.ofMillis(100)).forEach(r -> {
                    Decoded decoded = codec.decode(MessageFamily.INSTRUCTION, r.topic(), r.partition(), r.offset(),
                            r.value());
                    if (decoded instanceof Decoded.Message m && m.value() instanceof JobInsert) {
                        counts.merge(r.topic(), 1, Integer::sum);
                    }
                });
                return partitions.stream().allMatch(tp -> consumer.position(tp) >= ends.get(tp));
            });
        }
        return counts;
    }
}
