package io.msx.agent.internal;

import io.msx.avro.status.CheckInTrigger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Sends a scheduled check-in every polling interval on its own named thread; a new interval takes effect at once.
 */
public final class CheckInScheduler implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CheckInScheduler.class);

    private final ScheduledExecutorService executor;
    private final Runnable checkIn;
    private final AgentState state;
    private ScheduledFuture<?> next;

    public CheckInScheduler(String threadName, AgentState state, CheckInSender sender) {
        this.state = state;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, threadName);
            thread.setDaemon(true);
            return thread;
        });
        this.checkIn = () -> {
            try {
                sender.send(CheckInTrigger.SCHEDULED);
            } catch (RuntimeException e) {
                log.warn("Scheduled check-in failed; next one in {}: {}", state.pollInterval(), e.toString());
            }
        };
    }

    public synchronized void start() {
        schedule(state.pollInterval());
    }

    /** Uses {@code interval} from now on. */
    public synchronized void reschedule(Duration interval) {
        state.pollInterval(interval);
        if (next != null) {
            next.cancel(false);
        }
        schedule(interval);
    }

    private void schedule(Duration interval) {
        long millis = interval.toMillis();
        next = executor.scheduleAtFixedRate(checkIn, millis, millis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        executor.shutdownNow();
        try {
            executor.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Sends one check-in. */
    @FunctionalInterface
    public interface CheckInSender {
        void send(CheckInTrigger trigger);
    }
}
