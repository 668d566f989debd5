package io.msx.agent.internal.job;

import io.msx.avro.JobStep;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * One attempt of one step: an OS process with the step's argv, environment and working directory, stdout and stderr
 * merged and captured up to the step's byte limit (the rest is counted, dropped and marked), killed with its whole
 * process tree when it times out or the run is cancelled.
 */
final class StepProcess {

    private static final long POLL_MILLIS = 50;

    /** How one attempt ended. */
    record Result(Integer exitCode, boolean timedOut, boolean canceled, String output, boolean truncated,
                  String error) {
    }

    private StepProcess() {
    }

    static Result run(JobStep step, Path defaultWorkDir, java.util.Map<String, String> runEnv,
                      BooleanSupplier canceled, String threadName) {
        ProcessBuilder builder = new ProcessBuilder(step.getCommand())
                .directory((step.getWorkingDirectory() == null ? defaultWorkDir : Path.of(step.getWorkingDirectory()))
                        .toFile())
                .redirectErrorStream(true);
        builder.environment().putAll(step.getEnv());
        builder.environment().putAll(runEnv);
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            return new Result(null, false, false, "", false, "cannot start " + step.getCommand() + ": "
                    + e.getMessage());
        }
        Capture capture = new Capture(process.getInputStream(), step.getMaxOutputBytes());
        Thread reader = new Thread(capture, threadName + "-output");
        reader.setDaemon(true);
        reader.start();
        Duration timeout = step.getTimeoutSeconds() == null ? null : Duration.ofSeconds(step.getTimeoutSeconds());
        long deadline = timeout == null ? Long.MAX_VALUE : System.nanoTime() + timeout.toNanos();
        boolean timedOut = false;
        boolean wasCanceled = false;
        try {
            while (!process.waitFor(POLL_MILLIS, TimeUnit.MILLISECONDS)) {
                if (canceled.getAsBoolean()) {
                    wasCanceled = true;
                    killTree(process);
                    break;
                }
                if (System.nanoTime() > deadline) {
                    timedOut = true;
                    killTree(process);
                    break;
                }
            }
            process.waitFor();
            reader.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            killTree(process);
            Thread.currentThread().interrupt();
            wasCanceled = true;
        }
        Integer exit = timedOut || wasCanceled ? null : process.exitValue();
        String error = timedOut ? "timed out after " + timeout.toSeconds() + " s; process tree killed"
                : wasCanceled ? "canceled; process tree killed" : null;
        return new Result(exit, timedOut, wasCanceled, capture.text(), capture.truncated(), error);
    }

    /** Kills the process and every descendant (children re-parent once their parent dies, so list them first). */
    static void killTree(Process process) {
        List<ProcessHandle> descendants = process.descendants().toList();
        process.destroyForcibly();
        descendants.forEach(ProcessHandle::destroyForcibly);
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
