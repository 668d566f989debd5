package io.msx.master;

import io.msx.avro.instruction.JobInsert;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import io.msx.master.cli.MsxCli;
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
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
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
        MasterPublisher master = new MasterPublisher(new MasterConfig(Map.of(
                MasterConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
                MasterConfig.SCHEMA_REGISTRY_URL_CONFIG, stack.schemaRegistryUrl(),
                MasterConfig.TOPIC_PREFIX_CONFIG, topics.prefix(),
                MasterConfig.MASTER_ID_CONFIG, "group-it",
                MasterConfig.HTTP_PORT_CONFIG, 0)), Clock.systemUTC());
        running.add(master);
        try {
            master.start();
            for (String name : members) {
                TargetAgent agent = new TargetAgent(new TargetAgentConfig(Map.of(
                        TargetAgentConfig.TARGET_NAME_CONFIG, name,
                        TargetAgentConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
                        TargetAgentConfig.SCHEMA_REGISTRY_URL_CONFIG, stack.schemaRegistryUrl(),
                        TargetAgentConfig.TOPIC_PREFIX_CONFIG, topics.prefix(),
                        TargetAgentConfig.DATA_DIR_CONFIG, data.resolve(name).toString())), Clock.systemUTC());
                running.add(0, agent);
                agent.start();
            }
            List<TargetAgent> agents = running.stream().filter(TargetAgent.class::isInstance)
                    .map(TargetAgent.class::cast).toList();
            await().atMost(Duration.ofSeconds(60)).alias("5 targets enlisted and resynced").until(() ->
                    agents.stream().noneMatch(TargetAgent::awaitingResync)
                            && master.targets().stream().filter(t -> t.status() == TargetStatus.NORMAL)
                            .map(TargetView::name).toList().containsAll(members));
            String[] connection = {"--bootstrap-servers", stack.bootstrapServers(), "--schema-registry-url",
                stack.schemaRegistryUrl(), "--master-url", "http://127.0.0.1:" + master.httpPort(),
                "--topic-prefix", topics.prefix()};

            List<String> add = new ArrayList<>(List.of("group", "add", "web"));
            add.addAll(members);
            assertThat(msx(add, connection)[0]).isEqualTo("0");
            assertThat(master.groups()).containsEntry("web", members);
            Path file = data.resolve("site.yaml");
            Files.writeString(file, "id: site\ngroups: [web]\nsteps:\n  - command: [sh, -c, \"echo up on $MSX_JOB_ID\"]\n");
            String[] created = msx(List.of("job", "create", "-f", file.toString()), connection);
            assertThat(created[0]).as("stderr: %s", created[2]).isEqualTo("0");

            await().atMost(Duration.ofSeconds(60)).alias("5 inserts applied (download list)").until(() ->
                    master.instructions(null, "site").stream().filter(i -> i.status().equals("APPLIED")).count() == 5);
            assertThat(insertsPerTopic(stack, topics, members)).as("JobInserts per target topic")
                    .containsOnlyKeys(members.stream().map(topics::target).toArray(String[]::new))
                    .allSatisfy((topic, count) -> assertThat(count).isEqualTo(1));

            String[] started = msx(List.of("job", "start", "site", "--wait"), connection);
            assertThat(started[0]).as("stderr: %s", started[2]).isEqualTo("0");
            assertThat(master.history("site").orElseThrow()).hasSize(5)
                    .allSatisfy(run -> assertThat(run.status()).isEqualTo("SUCCEEDED"))
                    .extracting(JobRunView::target).containsExactlyInAnyOrderElementsOf(members);
            assertThat(msx(List.of("group", "delete", "web"), connection)[2]).contains("used by job 'site'");
        } finally {
            for (AutoCloseable c : running) {
                c.close();
            }
        }
    }

    private static String[] msx(List<String> args, String[] connection) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of(connection));
        int code = new CommandLine(new MsxCli()).setOut(new PrintWriter(out, true))
                .setErr(new PrintWriter(err, true)).execute(all.toArray(String[]::new));
        return new String[] {Integer.toString(code), out.toString(), err.toString()};
    }

    private static Map<String, Integer> insertsPerTopic(LocalStack stack, Topics topics, List<String> members) {
        MsxCodec codec = MsxCodec.of(new SchemaRegistryClient(SchemaRegistryConfig.of(stack.schemaRegistryUrl())),
                false);
        Map<String, Integer> counts = new HashMap<>();
        List<TopicPartition> partitions = members.stream().map(m -> new TopicPartition(topics.target(m), 0)).toList();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
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
