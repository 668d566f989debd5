package io.msx.master;

import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Random;

/**
 * The master (a child JVM) is killed with SIGKILL while it fans commands out to 50 targets, three times: after a
 * restart every command is answered once, and every target topic holds each command's instruction exactly once
 * (read_committed), because instructions, results, store changes and offsets commit in one transaction.
 */
@ExtendWith(LocalStackExtension.class)
class MasterCrashIT {

    private static final int TARGETS = 50;
    private static final int KILLS = 3;
    // 20 starts x 50 targets = 1,000 instructions per round: a kill within 300 ms lands while they are being written
    // (measured: records of aborted transactions are left in the target topics, invisible to read_committed).
    private static final int STARTS_PER_ROUND = 20;

    @TempDir
    Path state;

    @Test
    void shouldPostEveryInstructionExactlyOnceAcrossMasterKills(LocalStack stack) throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        try (FanOutLedger ledger = new FanOutLedger(stack, TARGETS);
             ChildMaster master = new ChildMaster(stack, ledger.topics, "crash", state).start()) {
            ledger.awaitAnswering();
            ledger.enlistAndAssign();
            for (int kill = 0; kill < KILLS; kill++) {
                ledger.awaitAnswering(); // this master processes commands now
                ledger.startFanOuts(STARTS_PER_ROUND);
                Thread.sleep(random.nextInt(300)); // the random moment of the kill is the point of this test
                master.kill(); // SIGKILL, most likely mid fan-out
                master.start();
            }
            ledger.assertExactlyOnce("seed " + seed);
        }
    }
}
