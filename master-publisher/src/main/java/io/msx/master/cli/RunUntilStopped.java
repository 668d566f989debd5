package io.msx.master.cli;

import java.util.concurrent.CountDownLatch;

/** Blocks the calling thread until the JVM is asked to stop (SIGTERM, Ctrl-C), then runs {@code onStop} once. */
final class RunUntilStopped {

    private RunUntilStopped() {
    }

    static void await(String name, Runnable onStop) throws InterruptedException {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                onStop.run();
            } finally {
                stopped.countDown();
            }
        }, name + "-shutdown"));
        stopped.await();
    }
}
