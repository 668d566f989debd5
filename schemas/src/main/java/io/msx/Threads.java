package io.msx;

/** Thread helpers every msx component's {@code close(Duration)} uses. */
public final class Threads {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Threads.class);

    private Threads() {
    }

    /**
     * A named, non-daemon thread whose death by an uncaught exception is never silent: it is logged and handed to
     * {@code onDeath} (which moves the owning component to FAILED). Not started.
     */
    public static Thread supervised(String name, Runnable body, java.util.function.Consumer<Throwable> onDeath) {
        Thread thread = new Thread(body, name);
        thread.setUncaughtExceptionHandler((t, e) -> {
            log.error("Thread {} died", t.getName(), e);
            try {
                onDeath.accept(e);
            } catch (RuntimeException | Error handlerError) {
                log.error("Failure handler of thread {} failed", t.getName(), handlerError);
            }
        });
        return thread;
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
