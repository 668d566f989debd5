package io.msx;

/** Thread helpers every msx component's {@code close(Duration)} uses. */
public final class Threads {

    private Threads() {
    }

    /**
     * Joins {@code thread} until {@code deadlineNanos} (a {@link System#nanoTime()} value), waiting at least 1 ms.
     * Restores the interrupt flag if interrupted.
     *
     * @return true when the thread has ended
     */
    public static boolean joinUntil(Thread thread, long deadlineNanos) {
        try {
            thread.join(Math.max(1, (deadlineNanos - System.nanoTime()) / 1_000_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !thread.isAlive();
    }
}
