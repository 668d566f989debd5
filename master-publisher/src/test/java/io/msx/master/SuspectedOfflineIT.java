package io.msx.master;

import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import io.msx.local.ManualClock;
import io.msx.schemas.Topics;
import io.msx.agent.TargetAgent;
import io.msx.agent.TargetAgentConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** A target that stops checking in turns Suspected offline (its last check-in's time, as it reported it, against the
 * master's clock); a force poll after it returns turns it Normal again. Master and agent share one manual clock. */
@ExtendWith(LocalStackExtension.class)
class SuspectedOfflineIT {

    @TempDir
    Path data;

    private TargetAgent agent(LocalStack stack, String prefix, Clock clock) {
        TargetAgent agent = new TargetAgent(new TargetAgentConfig(Configs.agent(stack, prefix, "T1", data)), clock);
        agent.start();
        return agent;
    }

    @Test
    void shouldSuspectASilentTargetAndClearItOnForcePoll(LocalStack stack) throws Exception {
        String prefix = LocalStack.uniqueTopicPrefix();
        ManualClock clock = new ManualClock(Instant.now()); // moved by the test
        try (MasterPublisher master = new MasterPublisher(new MasterConfig(Configs.master(stack, prefix, "offline-it")),
                clock)) {
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
                MsxRun poll = MsxRun.of(stack, new Topics(prefix), master, "target", "poll", "T1", "--wait");
                assertThat(poll.exitCode()).as("stderr: %s", poll.err()).isZero();
                assertThat(master.target("T1").orElseThrow().status()).isEqualTo(TargetStatus.NORMAL);
                assertThat(master.target("T1").orElseThrow().lastPollTrigger()).isEqualTo("FORCED");
            } finally {
                agent.close();
            }
        }
    }
}
