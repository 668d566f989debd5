package io.msx.agent.internal.job;

import io.msx.avro.state.StoredRun;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Kills the processes of a job run, thoroughly: every process whose environment carries the run's marker (each step
 * process gets {@code MSX_RUN_ID=<runId>}, and descendants keep it even after {@code setsid} or a double fork), and
 * every process of the step process groups, with {@code kill -KILL -- -<pgid>} (Java has no killpg). Processes may
 * fork while they are being killed, so this repeats, scanning {@code /proc} each round, until none is left or the
 * timeout passes.
 *
 * <p>A process group recorded before a crash is only trusted while one of its members still carries the run's
 * marker: after a restart its id may have been reused by an unrelated group. A process that cleared its environment
 * ({@code env -i}) and left the step's process group is not found. Linux only ({@code /proc}); elsewhere nothing is
 * found.
 *
 * <p>Stateless and thread-safe; {@link #killSurvivors} blocks until done (an interrupt ends it early, the processes
 * not yet seen gone counted as survivors, the interrupt flag set).
 */
public final class Orphans {

    private static final Logger log = LoggerFactory.getLogger(Orphans.class);
    private static final Path PROC = Path.of("/proc");
    private static final long ROUND_PAUSE_MILLIS = 20;

    /**
     * What a kill found.
     *
     * @param killed    processes signalled (each counted once)
     * @param survivors processes of the run still alive when the timeout passed (0 when all are gone)
     */
    public record Result(int killed, int survivors) {
        /** True when no process of the run is left. */
        public boolean clean() {
            return survivors == 0;
        }
    }

    private Orphans() {
    }

    /**
     * Kills whatever is left of a run recorded by an agent that stopped (crashed) while it was in progress: to be
     * called at agent start, for every stored run that was STARTED, before the run is reported FAILED, so that a new
     * START never runs beside a survivor.
     *
     * @param timeout how long to keep killing processes that fork meanwhile
     */
    public static Result killSurvivors(StoredRun run, Duration timeout) {
        Result result = kill(List.of(runMarker(run.getRunId().toString())), run.getProcessGroups(), false, timeout);
        if (result.killed() > 0 || !result.clean()) {
            log.warn("Run {} of job {}: killed {} process(es) left from before the agent restarted{}", run.getRunId(),
                    run.getJobId(), result.killed(), result.clean() ? "" : ", " + result.survivors()
                            + " still alive after " + timeout);
        }
        return result;
    }

    /**
     * Kills what a finished run's steps left running (background children, {@code setsid} daemons), before its slot
     * is released: a job's next run never runs beside the previous one, as systemd stops a service's whole control
     * group. Start long-lived daemons through the machine's service manager instead.
     */
    public static Result killLeftovers(UUID runId, String jobId, Duration timeout) {
        Result result = kill(List.of(runMarker(runId.toString())), List.of(), false, timeout);
        if (result.killed() > 0 || !result.clean()) {
            log.warn("Run {} of job {} ended with {} process(es) of its steps still running: killed{}", runId, jobId,
                    result.killed(), result.clean() ? "" : ", " + result.survivors() + " still alive after " + timeout);
        }
        return result;
    }

    /** The environment entry every process of run {@code runId} carries. */
    static String runMarker(String runId) {
        return "MSX_RUN_ID=" + runId;
    }

    /** Pids of the live processes (zombies excluded) that carry run {@code runId}'s {@code MSX_RUN_ID}. */
    public static List<Long> processesOf(UUID runId) {
        return processesWith(List.of(runMarker(runId.toString())));
    }

    /** Pids of the live processes (not zombies) carrying every one of {@code markers}, this JVM excluded. */
    static List<Long> processesWith(List<String> markers) {
        return scan().stream().filter(p -> p.env().containsAll(markers)).map(Proc::pid).toList();
    }

    /**
     * Kills, round after round until none is left or {@code timeout} passes, the processes carrying all of
     * {@code markers} in their environment and the members of {@code groups}: all of them when {@code trustGroups}
     * (groups this agent started and still owns), else only groups with a member that carries the markers.
     */
    static Result kill(List<String> markers, Collection<Long> groups, boolean trustGroups, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Set<Long> signalled = new HashSet<>();
        Set<Long> known = Set.copyOf(groups);
        while (true) {
            List<Proc> processes = scan();
            Set<Long> ours = new HashSet<>();
            for (Proc p : processes) {
                if (p.env().containsAll(markers)) {
                    ours.add(p.pgid());
                }
            }
            Set<Long> targetGroups = new HashSet<>();
            List<Long> victims = new ArrayList<>();
            for (Proc p : processes) {
                boolean inGroup = known.contains(p.pgid()) && (trustGroups || ours.contains(p.pgid()));
                if (inGroup) {
                    targetGroups.add(p.pgid());
                }
                if (inGroup || p.env().containsAll(markers)) {
                    victims.add(p.pid());
                }
            }
            if (victims.isEmpty()) {
                return new Result(signalled.size(), 0);
            }
            if (System.nanoTime() - deadline > 0) {
                return new Result(signalled.size(), victims.size());
            }
            killGroups(targetGroups);
            for (long pid : victims) {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                signalled.add(pid);
            }
            try {
                Thread.sleep(ROUND_PAUSE_MILLIS);
            } catch (InterruptedException e) {
                // signalled, not yet seen gone: counted as survivors
                Thread.currentThread().interrupt();
                return new Result(signalled.size(), victims.size());
            }
        }
    }

    /** SIGKILL to whole process groups at once, which also catches members forked since the scan. */
    private static void killGroups(Set<Long> groups) {
        // pgid 0 and 1 would mean this process's own group and init's: never ours
        List<String> command = new ArrayList<>(List.of("kill", "-KILL", "--"));
        groups.stream().filter(g -> g > 1).forEach(g -> command.add("-" + g));
        if (command.size() == 3) {
            return;
        }
        try {
            Process kill = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!kill.waitFor(5, TimeUnit.SECONDS)) {
                kill.destroyForcibly();
            }
        } catch (IOException e) {
            log.warn("Cannot run {}: {}; killing the processes one by one", command, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One live process: its pid, process group and environment entries. */
    private record Proc(long pid, long pgid, Set<String> env) {
    }

    private static List<Proc> scan() {
        List<Proc> processes = new ArrayList<>();
        long self = ProcessHandle.current().pid();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(PROC, "[0-9]*")) {
            for (Path dir : dirs) {
                long pid = Long.parseLong(dir.getFileName().toString());
                if (pid == self) {
                    continue;
                }
                Proc p = read(pid, dir);
                if (p != null) {
                    processes.add(p);
                }
            }
        } catch (IOException e) {
            // no /proc (not Linux): nothing to find
        }
        return processes;
    }

    /** The process, or null when it is gone, a zombie, or not readable (another user's). */
    private static Proc read(long pid, Path dir) {
        try {
            String stat = Files.readString(dir.resolve("stat"), StandardCharsets.UTF_8);
            // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so parse after the last ')'
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            if (fields[0].equals("Z") || fields[0].equals("X")) {
                return null;
            }
            long pgid = Long.parseLong(fields[2]);
            Set<String> env = new HashSet<>();
            byte[] environ;
            try {
                environ = Files.readAllBytes(dir.resolve("environ"));
            } catch (IOException e) {
                environ = new byte[0]; // another user's: still a member of its process group
            }
            int start = 0;
            for (int i = 0; i < environ.length; i++) {
                if (environ[i] == 0) {
                    if (i > start && environ[start] == 'M') { // markers are MSX_* entries
                        env.add(new String(environ, start, i - start, StandardCharsets.UTF_8));
                    }
                    start = i + 1;
                }
            }
            return new Proc(pid, pgid, env);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
