package io.msx.master;

import io.msx.avro.command.StopJob;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two master instances (child JVMs, one standby replica): the one running the command task is killed with SIGKILL
 * during fan-outs to 50 targets, twice; the other takes over with no restart by hand. Every command is answered once
 * and each instruction is on each target topic once (read_committed). The fail-over time (kill until a command sent
 * right after it is answered) is printed.
 */
@ExtendWith(LocalStackExtension.class)
class MasterFailoverIT {

    /**
     * The standby takes the command task over once the dead instance's open transaction is aborted (its command task
     * reads the control topic read_committed): bounded by transaction.timeout.ms. 10 s suits these 50-target
     * fan-outs; the 60 s default is for fan-outs to thousands of targets.
     */
    private static final Map<String, Object> FAST_ABORT = Map.of(MasterConfig.TRANSACTION_TIMEOUT_MS_CONFIG, 10_000);

    private static final int TARGETS = 50;
    private static final int KILLS = 2;
    private static final int STARTS_PER_ROUND = 20;

    @TempDir
    Path state;

    private static int count(com.fasterxml.jackson.databind.JsonNode array) {
        return array == null ? -1 : array.size();
    }

    @Test
    void shouldFailOverToTheStandbyWithEveryCommandAnsweredOnce(LocalStack stack) throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        List<Duration> failovers = new ArrayList<>();
        try (FanOutLedger ledger = new FanOutLedger(stack, TARGETS);
             ChildMaster a = new ChildMaster(stack, ledger.topics, "a", state.resolve("a"), FAST_ABORT).start();
             ChildMaster b = new ChildMaster(stack, ledger.topics, "b", state.resolve("b"), FAST_ABORT).start()) {
            ledger.awaitAnswering();
            ledger.enlistAndAssign();
            await().atMost(Duration.ofSeconds(90)).alias("both instances ready").until(() -> a.ready() && b.ready());
            for (ChildMaster m : List.of(a, b)) {
                // each answers for the whole fleet, whichever instance runs which task
                await().atMost(Duration.ofSeconds(30)).alias(m.id + " lists every target and the job")
                        .until(() -> count(m.get("/targets")) == TARGETS && count(m.get("/jobs")) == 1);
                assertThat(m.get("/jobs").get(0).path("jobId").asText()).isEqualTo("fan");
            }
            for (int kill = 0; kill < KILLS; kill++) {
                await().atMost(Duration.ofSeconds(90)).alias("both instances ready")
                        .until(() -> a.ready() && b.ready());
                ChildMaster active = await().atMost(Duration.ofSeconds(60)).alias("one instance runs the commands")
                        .until(() -> a.runsCommands() ? a : b.runsCommands() ? b : null, m -> m != null);
                ledger.startFanOuts(STARTS_PER_ROUND);
                Thread.sleep(random.nextInt(300)); // the random moment of the kill is the point of this test
                active.kill();
                long killedAt = System.nanoTime();
                // answered (REJECTED, posting nothing) only once an instance runs the commands again
                UUID probe = ledger.send(h -> StopJob.newBuilder().setHeader(h).setJobId("no-such-job").build());
                ledger.awaitAnswered(List.of(probe), Duration.ofSeconds(120));
                failovers.add(Duration.ofNanos(System.nanoTime() - killedAt));
                active.start(); // back as the standby
            }
            ledger.assertExactlyOnce("seed " + seed);
        }
        System.out.println("Master fail-over times (SIGKILL of the active instance until a command sent right after "
                + "is answered by the standby): " + failovers.stream().map(d -> d.toMillis() + " ms").toList());
        assertThat(failovers).allSatisfy(d -> assertThat(d).isLessThan(Duration.ofSeconds(60)));
    }
}
