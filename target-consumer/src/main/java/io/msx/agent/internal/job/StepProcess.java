package io.msx.agent.internal.job;

import io.msx.avro.JobStep;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.LongConsumer;
import java.util.stream.Stream;

/**
 * One attempt of one step: an OS process with the step's argv, environment and working directory as
 * {@link JobIsolation} makes them (a clean environment, a run-as user, an allow-list), stdout and stderr
 * merged and captured up to a byte limit (the rest is counted, dropped and marked). The process starts in its own
 * session and process group through {@code setsid} (util-linux): started by the JVM, it is no group leader, so
 * {@code setsid} calls setsid() and execs the command in place, and the process's pid is its process group id. When
 * the attempt times out or the run is cancelled, {@link Orphans#kill} kills that group and every process carrying
 * the attempt's (timeout) or the run's (cancel) environment markers, forked later or escaped with setsid included.
 */
final class StepProcess {

    private static final Logger log = LoggerFactory.getLogger(StepProcess.class);
    private static final long POLL_MILLIS = 50;
    /** How long a kill keeps at processes that fork meanwhile. */
    static final Duration KILL_TIMEOUT = Duration.ofSeconds(10);
    /** {@code setsid}, or null where util-linux is missing (steps then share the agent's process group). */
    static final String SETSID = Stream.of("/usr/bin/setsid", "/bin/setsid")
            .filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElse(null);

    static {
        if (SETSID == null) {
            log.warn("setsid (util-linux) not found: step processes run in the agent's process group and are found "
                    + "by their environment only");
        }
    }

    /**
     * How one attempt ended.
     *
     * @param retriable false when the step was refused by policy (not started, and another attempt would be
     *                  refused alike)
     */
    record Result(Integer exitCode, boolean timedOut, boolean canceled, String output, boolean truncated,
                  String error, boolean retriable) {
    }

    /**
     * What identifies one attempt's processes.
     *
     * @param runMarker     environment entry every process of the run carries
     * @param attemptMarker environment entry every process of this attempt carries
     */
    record Markers(String runMarker, String attemptMarker) {
    }

    private StepProcess() {
    }

    /**
     * Runs the attempt to its end, its timeout or the run's cancellation; blocks. What {@code isolation} refuses
     * does not start: the result says why (see {@link Result#retriable}).
     *
     * @param markerEnv  the run's marker variables, added last to the step's environment
     * @param outputCap  bytes of output kept at most
     * @param started    told the process group id as soon as the process started (may throw: logged)
     */
    static Result run(JobStep step, JobIsolation isolation, Map<String, String> markerEnv, Markers markers,
                      int outputCap, BooleanSupplier canceled, LongConsumer started, String threadName) {
        JobIsolation.Launch launch = isolation.launch(step, markerEnv);
        if (launch instanceof JobIsolation.Refused refused) {
            return new Result(null, false, false, "", false, refused.reason(), refused.retriable());
        }
        JobIsolation.Start start = (JobIsolation.Start) launch;
        List<String> command = new ArrayList<>();
        if (SETSID != null) {
            command.add(SETSID);
        }
        command.addAll(start.command());
        ProcessBuilder builder = new ProcessBuilder(command).directory(start.directory().toFile())
                .redirectErrorStream(true);
        // exactly the isolation's environment: nothing of the agent's own
        builder.environment().clear();
        builder.environment().putAll(start.env());
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            return new Result(null, false, false, "", false, "cannot start " + step.getCommand() + ": "
                    + e.getMessage(), true);
        }
        long group = SETSID != null ? process.pid() : -1;
        Capture capture = new Capture(process.getInputStream(), outputCap);
        Thread reader = new Thread(capture, threadName + "-output");
        reader.setDaemon(true);
        reader.start();
        Duration timeout = step.getTimeoutSeconds() == null ? null : Duration.ofSeconds(step.getTimeoutSeconds());
        long deadline = timeout == null ? Long.MAX_VALUE : System.nanoTime() + timeout.toNanos();
        boolean timedOut = false;
        boolean wasCanceled = false;
        String killNote = "";
        try {
            if (group > 0) {
                started.accept(group);
            }
        } catch (RuntimeException e) {
            log.warn("Process group {} of step {} could not be recorded ({}); a restart finds its processes by their "
                    + "environment", group, step.getStepId(), e.toString());
        }
        try {
            while (!process.waitFor(POLL_MILLIS, TimeUnit.MILLISECONDS)) {
                if (canceled.getAsBoolean()) {
                    wasCanceled = true;
                    break;
                }
                if (System.nanoTime() - deadline > 0) {
                    timedOut = true;
                    break;
                }
            }
            if (wasCanceled || timedOut) {
                killNote = kill(process, group, wasCanceled ? List.of(markers.runMarker())
                        : List.of(markers.runMarker(), markers.attemptMarker()));
            }
            process.waitFor();
            reader.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            killNote = kill(process, group, List.of(markers.runMarker()));
            Thread.currentThread().interrupt();
            wasCanceled = true;
        }
        Integer exit = timedOut || wasCanceled ? null : process.exitValue();
        String error = timedOut ? "timed out after " + timeout.toSeconds() + " s; process tree killed" + killNote
                : wasCanceled ? "canceled; process tree killed" + killNote : null;
        return new Result(exit, timedOut, wasCanceled, capture.text(), capture.truncated(), error, true);
    }

    /** Kills the attempt's process group and every process with the markers; says when some survived. */
    private static String kill(Process process, long group, List<String> markers) {
        process.destroyForcibly();
        Orphans.Result result = Orphans.kill(markers, group > 0 ? List.of(group) : List.of(), true, KILL_TIMEOUT);
        if (result.clean()) {
            return "";
        }
        log.warn("{} process(es) with {} still alive {} after SIGKILL", result.survivors(), markers, KILL_TIMEOUT);
        return " (" + result.survivors() + " process(es) still alive after " + KILL_TIMEOUT.toSeconds() + " s)";
    }

    /** Reads a stream to its end, keeping at most {@code limit} bytes. */
    private static final class Capture implements Runnable {
        private final InputStream in;
        private final int limit;
        private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
        private long dropped;

        Capture(InputStream in, int limit) {
            this.in = in;
            this.limit = Math.max(0, limit);
        }

        @Override
        public void run() {
            byte[] buffer = new byte[8192];
            try (in) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    synchronized (this) {
                        int room = limit - kept.size();
                        int keep = Math.max(0, Math.min(room, n));
                        kept.write(buffer, 0, keep);
                        dropped += n - keep;
                    }
                }
            } catch (IOException e) {
                // the process was killed: what was read is kept
            }
        }

        synchronized boolean truncated() {
            return dropped > 0;
        }

        synchronized String text() {
            String text = kept.toString(StandardCharsets.UTF_8);
            return dropped > 0 ? text + "\n[msx: output truncated, " + dropped + " more bytes dropped]" : text;
        }
    }
}
