package io.msx.master;

import io.msx.agent.TargetAgent;
import io.msx.agent.TargetAgentConfig;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import io.msx.schemas.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A target whose data directory is wiped comes back as a new installation (new epoch, seq from 1 again) under the same
 * name: the master takes it as T1 at once, answers its resync request with its job, and drops nothing it sends.
 * Needs an agent that sends its epoch and asks for a resync while it holds no jobs.
 */
@ExtendWith(LocalStackExtension.class)
class ReinstallIT {

    private static final Duration POLL_INTERVAL = Duration.ofMillis(TargetAgentConfig.MIN_POLL_INTERVAL_MS);
    private static final Duration RETENTION = Duration.ofHours(1);

    @TempDir
    Path data;

    @Test
    void shouldTakeAReinstalledTargetAtOnceAndResyncItsJobs(LocalStack stack) throws Exception {
        try (Fleet fleet = Fleet.start(stack, data, Map.of(
                MasterConfig.TARGET_TOPIC_RETENTION_MS_CONFIG, RETENTION.toMillis()))) {
            List<AutoCloseable> running = new ArrayList<>(); // closed before the fleet's master
            try {
                reinstall(stack, fleet, running);
            } finally {
                for (AutoCloseable c : running) {
                    c.close();
                }
            }
        }
    }

    private void reinstall(LocalStack stack, Fleet fleet, List<AutoCloseable> running) throws Exception {
        MasterPublisher master = fleet.master;
        Path dir = data.resolve("T1");
        TargetAgent first = agent(stack, fleet.topics, dir);
        running.add(first);
        await().atMost(Duration.ofSeconds(60)).alias("T1 enlisted and consuming").until(() ->
                master.target("T1").isPresent() && first.awaitConsuming(Duration.ZERO));
        assertThat(retention(stack, fleet.topics.target("T1"))).isEqualTo(Long.toString(RETENTION.toMillis()));
        assertThat(retention(stack, Topics.deadLetter(fleet.topics.target("T1"))))
                .isEqualTo(Long.toString(RETENTION.toMillis()));

        Path job = data.resolve("hello.yaml");
        Files.writeString(job, "id: hello\ntargets: [T1]\nsteps:\n  - command: [sh, -c, \"echo hello\"]\n");
        MsxRun created = MsxRun.of(stack, fleet.topics, master, "job", "create", "-f", job.toString());
        assertThat(created.exitCode()).as("stderr: %s", created.err()).isZero();
        await().atMost(Duration.ofSeconds(60)).alias("the first installation holds the job")
                .until(() -> first.jobIds().contains("hello"));
        String oldEpoch = master.target("T1").orElseThrow().epoch();
        assertThat(oldEpoch).as("the agent sends its installation id").isNotBlank();

        first.close();
        running.remove(first);
        wipe(dir);
        Instant reinstalledAt = Instant.now();
        TargetAgent second = agent(stack, fleet.topics, dir);
        running.add(second);

        await().atMost(POLL_INTERVAL.plusSeconds(10)).alias("the new installation is T1 and holds its job again "
                + "within a polling interval").until(() -> {
                    TargetView view = master.target("T1").orElseThrow();
                    return view.epoch() != null && !view.epoch().equals(oldEpoch)
                            && second.jobIds().contains("hello");
                });
        MsxRun started = MsxRun.of(stack, fleet.topics, master, "job", "start", "hello", "--wait");
        assertThat(started.exitCode()).as("stderr: %s", started.err()).isZero();
        assertThat(master.history("hello").orElseThrow()).singleElement().satisfies(run -> {
            assertThat(run.target()).isEqualTo("T1");
            assertThat(run.status()).isEqualTo("SUCCEEDED");
        });

        await().atMost(POLL_INTERVAL.multipliedBy(2)).alias("T1 checked in as normal after its resync")
                .until(() -> {
                    TargetView view = master.target("T1").orElseThrow();
                    return view.status() == TargetStatus.NORMAL && view.lastPollReceivedAt() != null
                            && view.lastPollReceivedAt().isAfter(reinstalledAt);
                });
        TargetView view = master.target("T1").orElseThrow();
        assertThat(view.staleEvents()).as("events of T1 ignored").isZero();
        assertThat(view.resyncReason()).isNull();
        assertThat(master.instructions("T1", null)).as("the resync, acknowledged by the new installation")
                .anySatisfy(i -> {
                    assertThat(i.operation()).isEqualTo("RESYNC");
                    assertThat(i.status()).isEqualTo("APPLIED");
                });
        assertThat(master.instructions("T1", "hello"))
                .filteredOn(i -> i.operation().equals("JOB_INSERT"))
                .as("the first insert and the resync's, both acknowledged").hasSizeGreaterThanOrEqualTo(2)
                .allSatisfy(i -> assertThat(i.status()).isEqualTo("APPLIED"));
    }

    private static TargetAgent agent(LocalStack stack, Topics topics, Path dir) {
        Map<String, Object> config = Configs.agent(stack, topics.prefix(), "T1", dir);
        config.put(TargetAgentConfig.POLL_INTERVAL_MS_CONFIG, POLL_INTERVAL.toMillis());
        TargetAgent agent = new TargetAgent(new TargetAgentConfig(config), Clock.systemUTC());
        agent.start();
        return agent;
    }

    private static void wipe(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static String retention(LocalStack stack, String topic) throws Exception {
        try (Admin admin = Admin.create(Configs.kafka(stack))) {
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);
            return config.get(TopicConfig.RETENTION_MS_CONFIG).value();
        }
    }
}
