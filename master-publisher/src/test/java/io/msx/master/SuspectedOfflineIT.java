package io.msx.master;

import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import io.msx.local.ManualClock;
import io.msx.master.cli.MsxCli;
import io.msx.agent.TargetAgent;
import io.msx.agent.TargetAgentConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** A target that stops checking in turns Suspected offline (its last check-in's time, as it reported it, against the
 * master's clock); a force poll after it returns turns it Normal again. Master and agent share one manual clock. */
@ExtendWith(LocalStackExtension.class)
class SuspectedOfflineIT {

    @TempDir
    Path data;

    private TargetAgent agent(LocalStack stack, String prefix, Clock clock) {
        TargetAgent agent = new TargetAgent(new TargetAgentConfig(Map.of(
                TargetAgentConfig.TARGET_NAME_CONFIG, "T1",
                TargetAgentConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
                TargetAgentConfig.SCHEMA_REGISTRY_URL_CONFIG, stack.schemaRegistryUrl(),
                TargetAgentConfig.TOPIC_PREFIX_CONFIG, prefix,
                TargetAgentConfig.DATA_DIR_CONFIG, data.toString())), clock);
        agent.start();
        return agent;
    }

    @Test
    void shouldSuspectASilentTargetAndClearItOnForcePoll(LocalStack stack) throws Exception {
        String prefix = LocalStack.uniqueTopicPrefix();
        ManualClock clock = new ManualClock(Instant.now()); // moved by the test
        try (MasterPublisher master = new MasterPublisher(new MasterConfig(Map.of(
                MasterConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
                MasterConfig.SCHEMA_REGISTRY_URL_CONFIG, stack.schemaRegistryUrl(),
                MasterConfig.TOPIC_PREFIX_CONFIG, prefix,
                MasterConfig.MASTER_ID_CONFIG, "offline-it",
                MasterConfig.HTTP_PORT_CONFIG, 0)), clock)) {
            master.start();
            TargetAgent agent = agent(stack, prefix, clock);
            await().atMost(Duration.ofSeconds(60)).alias("T1 enlisted and normal").until(() ->
                    master.target("T1").map(t -> t.status() == TargetStatus.NORMAL).orElse(false));
            agent.close();

            clock.advance(Duration.ofMinutes(4)); // three 60 s polling intervals and more without a check-in
            assertThat(master.target("T1").orElseThrow().status()).isEqualTo(TargetStatus.SUSPECTED_OFFLINE);

            agent = agent(stack, prefix, clock);
            try {
                assertThat(agent.awaitConsuming(Duration.ofSeconds(30))).isTrue();
                StringWriter out = new StringWriter();
                int code = new CommandLine(new MsxCli()).setOut(new PrintWriter(out, true))
                        .setErr(new PrintWriter(new StringWriter(), true)).execute("target", "poll", "T1", "--wait",
                                "--bootstrap-servers", stack.bootstrapServers(),
                                "--schema-registry-url", stack.schemaRegistryUrl(),
                                "--master-url", "http://127.0.0.1:" + master.httpPort(), "--topic-prefix", prefix);
                assertThat(code).isZero();
                assertThat(master.target("T1").orElseThrow().status()).isEqualTo(TargetStatus.NORMAL);
                assertThat(master.target("T1").orElseThrow().lastPollTrigger()).isEqualTo("FORCED");
            } finally {
                agent.close();
            }
        }
    }
}
