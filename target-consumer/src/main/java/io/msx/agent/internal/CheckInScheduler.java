package io.msx.agent.internal;

import io.msx.Threads;
import io.msx.avro.status.CheckInTrigger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Sends a scheduled check-in every polling interval on its own named thread, with time from the injected
 * {@link Clock} (like {@link JobScheduler}): every tick (at most a second) it asks {@link #due(Instant)}, which is the
 * whole decision, so tests move a fake clock and call it. A new interval takes effect at once (the next check-in is
 * one new interval from then). A failed check-in is logged; the next one comes an interval later.
 */
public final class CheckInScheduler implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CheckInScheduler.class);
    private static final Duration MAX_TICK = Duration.ofSeconds(1);

    private final String threadName;
    private final AgentState state;
    private final CheckInSender sender;
    private final Clock clock;
    private final CountDownLatch stopping = new CountDownLatch(1);
    private Instant nextAt;
    private Thread thread;

    public CheckInScheduler(String threadName, AgentState state, Clock clock, CheckInSender sender) {
        this.threadName = threadName;
        this.state = state;
        this.clock = clock;
        this.sender = sender;
        this.nextAt = clock.instant().plus(state.pollInterval());
    }

    /** Starts the thread; {@code onDeath} is told if it dies of an unexpected error. */
    public synchronized void start(Consumer<Throwable> onDeath) {
        nextAt = clock.instant().plus(state.pollInterval());
        thread = Threads.supervised(threadName, this::run, onDeath);
        thread.setDaemon(true);
        thread.start();
    }

    /** True when a check-in is due at {@code now}; the next one is then due an interval later. */
    public synchronized boolean due(Instant now) {
        if (now.isBefore(nextAt)) {
            return false;
        }
        nextAt = now.plus(state.pollInterval());
        return true;
    }

    /** When the next scheduled check-in is due. */
    public synchronized Instant nextAt() {
        return nextAt;
    }

    /** Uses {@code interval} from now on: the next check-in is one interval from now. */
    public synchronized void reschedule(Duration interval) {
        state.pollInterval(interval);
        nextAt = clock.instant().plus(interval);
    }

    private void run() {
        while (stopping.getCount() > 0) {
            if (due(clock.instant())) {
                try {
                    sender.send(CheckInTrigger.SCHEDULED);
                } catch (RuntimeException e) {
                    log.warn("Scheduled check-in failed; next one in {}: {}", state.pollInterval(), e.toString());
                }
            }
            try {
                stopping.await(MAX_TICK.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    @Override
    public void close() {
        stopping.countDown();
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (t != null && !Threads.joinUntil(t, System.nanoTime() + TimeUnit.SECONDS.toNanos(10))) {
            log.warn("{} did not stop in time", t.getName());
        }
    }

    /** Sends one check-in. */
    @FunctionalInterface
    public interface CheckInSender {
        void send(CheckInTrigger trigger);
    }
}
