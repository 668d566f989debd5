package io.msx.agent.internal.job;

import io.msx.agent.TargetAgentConfig;
import io.msx.agent.TargetAgentException;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What keeps job steps apart from the agent: a clean environment, a working directory outside the agent's data
 * directory, optionally another user, and optionally an allow-list of executables.
 *
 * <p><b>Environment.</b> A step process gets only {@code PATH} ({@code jobs.env.path}), {@code HOME} (the run-as
 * user's home, else the work directory), {@code LANG} and {@code TZ} when configured, the agent's own variables named
 * in {@code jobs.env.passthrough}, then its step's {@code env}, then the run's markers ({@link #MARKER_VARIABLES}),
 * which {@link Orphans} finds a run's processes by: a job cannot set those (they are refused when the job is stored,
 * and overridden in jobs stored before). Nothing else of the agent's environment (its {@code MSX_*} settings, SASL
 * and registry credentials) reaches a step. (A step running as the agent's own user can still read the agent's
 * files and {@code /proc/<pid>/environ}: only a run-as user keeps secrets from a hostile step.)
 *
 * <p><b>Working directory.</b> {@code jobs.work.dir} is refused at start when it is the data directory, inside it, or
 * holds it. A step's own {@code workingDirectory} (relative ones are taken from the work directory) that resolves
 * into the data directory (lexically, or after symlinks where it exists) fails without starting.
 *
 * <p><b>Run-as user.</b> Steps start through util-linux {@code setpriv --reuid --regid --init-groups} after
 * {@code setsid}: setpriv execs the program in place (no PAM session, no extra parent process, the environment
 * untouched), so the step's pid is still its process group's and its markers are still in its environment; runuser
 * would fork under PAM and rewrite the environment. Switching needs root: checked at start, with one trial switch.
 *
 * <p><b>Allow-list.</b> When {@code jobs.allowed.commands} is set, a step's program is found as execvp would (a path
 * with a slash from the working directory, else on the step's PATH), its real path (symlinks resolved) must match
 * one entry (glob patterns; a plain path matches only itself), and the process is started with that found
 * absolute path as its program, so PATH is not searched twice. A step refused does not start and is not retried.
 *
 * <p>Immutable and thread-safe; {@link #prepare} does I/O (creates the work directory, looks the user up, tries the
 * switch) and {@link #launch} reads the file system.
 */
public final class JobIsolation {

    private static final Logger log = LoggerFactory.getLogger(JobIsolation.class);

    /** Environment variables the agent sets on every step process: a job may not set them. */
    public static final List<String> MARKER_VARIABLES = List.of("MSX_JOB_ID", "MSX_RUN_ID", "MSX_STEP_ID",
            "MSX_ATTEMPT_SEQ");
    /** PATH of step processes unless configured. */
    public static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    /** Prefix of the agent's own settings in its environment: never passed through. */
    public static final String RESERVED_PREFIX = "MSX_";
    /** The configuration key that names the allow-list, for messages. */
    public static final String ALLOWED_COMMANDS_KEY = TargetAgentConfig.JOBS_ALLOWED_COMMANDS_CONFIG;
    /** util-linux {@code setpriv}, or null when missing. */
    static final String SETPRIV = Stream.of("/usr/bin/setpriv", "/bin/setpriv")
            .filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElse(null);
    private static final long LOOKUP_TIMEOUT_SECONDS = 10;
    private static final String NOT_STARTED = ": step not started";

    /**
     * What the configuration asks for.
     *
     * @param workDir         default working directory of steps (created when missing)
     * @param dataDir         the agent's data directory, which steps are kept out of; null: none to protect
     * @param path            PATH of step processes
     * @param lang            LANG of step processes, or empty/null for none
     * @param tz              TZ of step processes, or empty/null for none
     * @param passthrough     names of agent environment variables passed to steps (none may start with MSX_)
     * @param runAsUser       user steps run as, or empty/null for the agent's own
     * @param allowedCommands absolute paths or glob patterns a step's program must match; empty: any
     */
    public record Settings(Path workDir, Path dataDir, String path, String lang, String tz, List<String> passthrough,
                           String runAsUser, List<String> allowedCommands) {

        public Settings {
            passthrough = List.copyOf(passthrough);
            allowedCommands = List.copyOf(allowedCommands);
        }
    }

    /** The user steps run as, from the passwd database. */
    record RunAs(String name, long uid, long gid, Path home) {
    }

    /** How a step is started, or why not. */
    sealed interface Launch permits Start, Refused {
    }

    /**
     * Start {@code command} (behind {@code setpriv} when a user is set; {@link StepProcess} adds {@code setsid}) in
     * {@code directory} with exactly {@code env}.
     */
    record Start(List<String> command, Path directory, Map<String, String> env) implements Launch {
    }

    /**
     * The step does not start.
     *
     * @param retriable whether another attempt could start (a program not there yet), unlike a refusal by policy
     */
    record Refused(String reason, boolean retriable) implements Launch {
    }

    private final Path workDir;
    private final Path dataDir;
    private final Map<String, String> baseEnv;
    private final RunAs runAs;
    private final List<String> allowed;
    private final List<PathMatcher> matchers;

    private JobIsolation(Path workDir, Path dataDir, Map<String, String> baseEnv, RunAs runAs, List<String> allowed) {
        this.workDir = workDir;
        this.dataDir = dataDir;
        this.baseEnv = Map.copyOf(baseEnv);
        this.runAs = runAs;
        this.allowed = List.copyOf(allowed);
        this.matchers = allowed.stream().map(JobIsolation::matcher).toList();
    }

    /**
     * Isolation without a data directory to protect, a run-as user or an allow-list: a clean environment with the
     * default PATH and HOME at {@code workDir}. Does no I/O.
     */
    public static JobIsolation defaults(Path workDir) {
        Path work = workDir.toAbsolutePath().normalize();
        return new JobIsolation(work, null, Map.of("PATH", DEFAULT_PATH, "HOME", work.toString()), null, List.of());
    }

    /**
     * Checks the settings against this machine and makes the work directory ready: created (owner-only) when
     * missing, given to the run-as user when one is set.
     *
     * @param agentEnv the agent's own environment, where passed-through variables are read
     * @throws TargetAgentException when the work directory and the data directory overlap, the work directory cannot
     *                              be made, or the run-as user cannot be switched to (no such user, no setpriv, not
     *                              root, the trial switch failed), naming what and why
     */
    public static JobIsolation prepare(Settings settings, Map<String, String> agentEnv) {
        for (String name : settings.passthrough()) {
            if (name.toUpperCase(Locale.ROOT).startsWith(RESERVED_PREFIX)) {
                throw new TargetAgentException("jobs.env.passthrough names " + name + ": the agent's own "
                        + RESERVED_PREFIX + "* variables are never passed to job steps");
            }
        }
        Path work = settings.workDir().toAbsolutePath().normalize();
        Path data = settings.dataDir() == null ? null : settings.dataDir().toAbsolutePath().normalize();
        if (data != null) {
            requireApart(work, data);
        }
        RunAs runAs = blank(settings.runAsUser()) ? null : switchable(settings.runAsUser().trim());
        makeWorkDir(work, runAs);
        if (data != null) {
            requireApart(work, data); // again, now that it exists: symlinks resolved
        }
        Map<String, String> env = new TreeMap<>();
        env.put("PATH", settings.path());
        env.put("HOME", runAs != null ? runAs.home().toString() : work.toString());
        if (!blank(settings.lang())) {
            env.put("LANG", settings.lang());
        }
        if (!blank(settings.tz())) {
            env.put("TZ", settings.tz());
        }
        for (String name : settings.passthrough()) {
            String value = agentEnv.get(name);
            if (value != null) {
                env.put(name, value);
            }
        }
        for (String entry : settings.allowedCommands()) {
            warnIfNeverMatching(entry);
        }
        return new JobIsolation(work, data, env, runAs, settings.allowedCommands());
    }

    /** The default working directory of steps. */
    public Path workDir() {
        return workDir;
    }

    /** The user steps run as, or null for the agent's own. */
    public String runAsUser() {
        return runAs == null ? null : runAs.name();
    }

    /** The allow-list; empty when any executable may run. */
    public List<String> allowedCommands() {
        return allowed;
    }

    /**
     * @throws TargetAgentException naming both paths when {@code work} is {@code data}, lies inside it or holds it,
     *                              lexically or after symlinks
     */
    public static void requireApart(Path work, Path data) {
        if (overlap(work, data)) {
            throw new TargetAgentException("the job work directory " + work + " (jobs.work.dir) overlaps the agent's "
                    + "data directory " + data + " (data.dir): job steps must not reach the agent's state; use a "
                    + "directory outside it" + (data.getParent() == null ? "" : " (the default is "
                    + defaultWorkDir(data) + ")"));
        }
    }

    /** Whether one of the directories is the other or lies inside it (lexically, or with symlinks resolved). */
    public static boolean overlap(Path a, Path b) {
        return within(a, b) || within(b, a);
    }

    /** {@code jobs.work.dir} when not configured: a sibling of the data directory named after it. */
    public static Path defaultWorkDir(Path dataDir) {
        Path data = dataDir.toAbsolutePath().normalize();
        if (data.getParent() == null || data.getFileName() == null) {
            throw new IllegalArgumentException("data directory " + data + " has no parent to put the job work "
                    + "directory beside it");
        }
        return data.resolveSibling(data.getFileName() + "-jobs");
    }

    /**
     * The environment of one step process: the base (PATH, HOME, LANG, TZ, passed-through variables), the step's own
     * variables, then {@code markers}, which nothing overrides.
     */
    Map<String, String> environment(JobStep step, Map<String, String> markers) {
        Map<String, String> env = new TreeMap<>(baseEnv);
        step.getEnv().forEach((name, value) -> {
            if (!MARKER_VARIABLES.contains(name) && !isLoaderVariable(name)) {
                env.put(name, value);
            }
        });
        env.putAll(markers);
        return env;
    }

    /**
     * Variables the dynamic loader (glibc) or the C library reads to load other code: a step may not set them, as
     * {@code setsid} and {@code setpriv} start with the step's environment while still root.
     */
    static boolean isLoaderVariable(String name) {
        return name.startsWith("LD_") || name.equals("GCONV_PATH") || name.equals("GLIBC_TUNABLES")
                || name.equals("MALLOC_TRACE") || name.equals("LOCPATH") || name.equals("NLSPATH")
                || name.equals("HOSTALIASES") || name.equals("RES_OPTIONS");
    }

    /** How to start {@code step} with its run's {@code markers}, or why it must not start; starts nothing. */
    Launch launch(JobStep step, Map<String, String> markers) {
        Path directory = directory(step);
        String refusal = dataDirRefusal(directory);
        if (refusal != null) {
            return new Refused(refusal + NOT_STARTED, false);
        }
        Map<String, String> env = environment(step, markers);
        List<String> argv = step.getCommand();
        String program = argv.get(0);
        Path found = find(program, directory, env.get("PATH"));
        if (found == null) {
            return new Refused("cannot start " + argv + ": " + program + " is not an executable file (nor found on "
                    + "PATH)", true);
        }
        List<String> command = new ArrayList<>();
        if (runAs != null) {
            command.addAll(List.of(SETPRIV, "--reuid=" + runAs.uid(), "--regid=" + runAs.gid(), "--init-groups",
                    "--"));
        }
        if (matchers.isEmpty()) {
            command.addAll(argv);
        } else {
            refusal = allowListRefusal(program, found);
            if (refusal != null) {
                return new Refused(refusal + NOT_STARTED, false);
            }
            // the real path that was checked, not a link that could be switched before exec
            try {
                command.add(found.toRealPath().toString());
            } catch (IOException e) {
                return new Refused(program + " cannot be resolved to a real path (" + e + ")" + NOT_STARTED, false);
            }
            command.addAll(argv.subList(1, argv.size()));
        }
        return new Start(command, directory, env);
    }

    /**
     * Checks a job definition before it is stored: a step setting a marker variable, a working directory in the data
     * directory, or a program that resolves now to an executable the allow-list does not hold (one not found now is
     * decided when the step runs).
     *
     * @throws IllegalArgumentException naming the job, the step and the reason
     */
    public void check(JobDefinition job) {
        for (JobStep step : job.getSteps()) {
            String where = "job '" + job.getJobId() + "' step " + step.getStepId() + ": ";
            for (String name : step.getEnv().keySet()) {
                if (MARKER_VARIABLES.contains(name)) {
                    throw new IllegalArgumentException(where + "env sets " + name + ", which the agent sets on every "
                            + "step process (it finds a run's processes by it): " + MARKER_VARIABLES + " are reserved");
                }
                if (isLoaderVariable(name)) {
                    throw new IllegalArgumentException(where + "env sets " + name + ", which the dynamic loader "
                            + "obeys: setsid and setpriv run as root before the user switch, and an allowed program "
                            + "would load other code (LD_*, GCONV_PATH, ... are refused)");
                }
            }
            Path directory = directory(step);
            String refusal = dataDirRefusal(directory);
            if (refusal == null && !matchers.isEmpty()) {
                Path found = find(step.getCommand().get(0), directory,
                        environment(step, Map.of()).get("PATH"));
                refusal = found == null ? null : allowListRefusal(step.getCommand().get(0), found);
            }
            if (refusal != null) {
                throw new IllegalArgumentException(where + refusal);
            }
        }
    }

    private Path directory(JobStep step) {
        String own = step.getWorkingDirectory();
        return own == null ? workDir : workDir.resolve(own);
    }

    private String dataDirRefusal(Path directory) {
        if (dataDir != null && within(directory, dataDir)) {
            return "working directory " + directory + " is inside the agent's data directory " + dataDir;
        }
        return null;
    }

    /** Null when the real path of {@code found} matches an entry, else the reason. */
    private String allowListRefusal(String program, Path found) {
        Path real;
        try {
            real = found.toRealPath();
        } catch (IOException e) {
            return program + " cannot be resolved to a real path (" + e + ")";
        }
        for (PathMatcher matcher : matchers) {
            if (matcher.matches(real)) {
                return null;
            }
        }
        return real + " is not in " + ALLOWED_COMMANDS_KEY + (program.equals(real.toString()) ? ""
                : " (the step's program " + program + " resolves to it)");
    }

    /**
     * The file execvp would run: {@code program} itself when it holds a slash (from {@code dir}), else the first
     * executable regular file named so on {@code path} (empty entries meaning {@code dir}); null when none.
     */
    static Path find(String program, Path dir, String path) {
        if (program.contains("/")) {
            Path file = dir.resolve(program);
            return runnable(file) ? file : null;
        }
        for (String entry : (path == null ? "/bin:/usr/bin" : path).split(":", -1)) {
            Path file = dir.resolve(entry.isEmpty() ? "." : entry).resolve(program);
            if (runnable(file)) {
                return file;
            }
        }
        return null;
    }

    private static boolean runnable(Path file) {
        return Files.isRegularFile(file) && Files.isExecutable(file);
    }

    /**
     * Whether {@code path} is {@code dir} or inside it: lexically (both absolute and normalised), or with symlinks
     * resolved as far as the paths exist.
     */
    static boolean within(Path path, Path dir) {
        Path lexical = path.toAbsolutePath().normalize();
        Path lexicalDir = dir.toAbsolutePath().normalize();
        return lexical.startsWith(lexicalDir) || resolved(path).startsWith(resolved(dir));
    }

    /** The real path of the longest existing part of {@code path}, the rest appended. */
    static Path resolved(Path path) {
        Path absolute = path.toAbsolutePath();
        try {
            if (Files.exists(absolute)) {
                return absolute.toRealPath();
            }
            Deque<Path> rest = new ArrayDeque<>();
            Path existing = absolute.normalize();
            while (existing.getParent() != null && !Files.exists(existing)) {
                rest.push(existing.getFileName());
                existing = existing.getParent();
            }
            Path real = existing.toRealPath();
            while (!rest.isEmpty()) {
                real = real.resolve(rest.pop());
            }
            return real;
        } catch (IOException e) {
            return absolute.normalize();
        }
    }

    private static PathMatcher matcher(String entry) {
        return FileSystems.getDefault().getPathMatcher("glob:" + entry);
    }

    /** An entry naming a symlink or nothing would never match a real path: say so once, at start. */
    private static void warnIfNeverMatching(String entry) {
        if (entry.chars().anyMatch(c -> "*?[{".indexOf(c) >= 0)) {
            return;
        }
        Path path = Path.of(entry);
        try {
            Path real = path.toRealPath();
            if (!real.equals(path)) {
                log.warn("{} entry {} resolves to {}: only real paths match, so it allows nothing; list {} instead",
                        ALLOWED_COMMANDS_KEY, entry, real, real);
            }
        } catch (IOException e) {
            log.warn("{} entry {} does not exist (yet): it allows nothing until it does", ALLOWED_COMMANDS_KEY, entry);
        }
    }

    /** Looks the user up and checks that the agent can switch to it. */
    private static RunAs switchable(String user) {
        if (SETPRIV == null) {
            throw new TargetAgentException("jobs.run.as.user is " + user + " but util-linux setpriv is not installed "
                    + "(looked for /usr/bin/setpriv and /bin/setpriv): steps cannot be started as another user");
        }
        RunAs runAs = lookUp(user);
        long self = effectiveUid();
        if (self != 0) {
            throw new TargetAgentException("jobs.run.as.user is " + user + " but the agent runs as uid " + self
                    + ", not root: it cannot switch users; run the agent as root or leave jobs.run.as.user empty");
        }
        String answer = run(List.of(SETPRIV, "--reuid=" + runAs.uid(), "--regid=" + runAs.gid(), "--init-groups",
                "--", "id", "-u"));
        if (!answer.strip().equals(Long.toString(runAs.uid()))) {
            throw new TargetAgentException("jobs.run.as.user is " + user + " but a trial switch to it failed ("
                    + SETPRIV + " ... id -u answered: " + answer.strip() + ")");
        }
        log.info("Job steps run as user {} (uid {}, gid {}) through {}", runAs.name(), runAs.uid(), runAs.gid(),
                SETPRIV);
        return runAs;
    }

    /** The user's passwd entry through {@code getent} (so NSS sources count), by name or uid. */
    static RunAs lookUp(String user) {
        if (user.contains(":") || user.contains("\n")) {
            throw new TargetAgentException("jobs.run.as.user '" + user + "' is not a user name");
        }
        String entry = run(List.of("getent", "passwd", user)).strip();
        if (entry.startsWith("exit 2:")) { // getent: key not found
            throw new TargetAgentException("jobs.run.as.user: no such user '" + user + "' (getent passwd " + user
                    + " found none)");
        }
        String[] fields = entry.split(":", -1);
        if (fields.length < 7) {
            throw new TargetAgentException("jobs.run.as.user: cannot look user '" + user + "' up (getent passwd "
                    + user + ": " + entry + ")");
        }
        try {
            return new RunAs(fields[0], Long.parseLong(fields[2]), Long.parseLong(fields[3]), Path.of(fields[5]));
        } catch (RuntimeException e) {
            throw new TargetAgentException("jobs.run.as.user: unreadable passwd entry for '" + user + "': " + entry);
        }
    }

    /** The effective uid of this process, from /proc; -1 when unknown. */
    private static long effectiveUid() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
                if (line.startsWith("Uid:")) {
                    return Long.parseLong(line.substring(4).trim().split("\\s+")[1]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: unknown
        }
        return -1;
    }

    /**
     * Runs a short command with a clean environment: its output, or what went wrong ("exit N: ...", "cannot run
     * ...", "timed out ...").
     */
    private static String run(List<String> command) {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().clear();
        builder.environment().put("PATH", DEFAULT_PATH);
        try {
            Process process = builder.start();
            // one line of output at most: it fits the pipe, so waiting before reading cannot block the command
            if (!process.waitFor(LOOKUP_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return "timed out after " + LOOKUP_TIMEOUT_SECONDS + " s";
            }
            String text = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return process.exitValue() == 0 ? text : "exit " + process.exitValue() + ": " + text.strip();
        } catch (IOException e) {
            return "cannot run " + command.get(0) + ": " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TargetAgentException("interrupted while running " + command, e);
        }
    }

    /** Creates the work directory (owner-only) when missing and gives it to the run-as user. */
    private static void makeWorkDir(Path work, RunAs runAs) {
        try {
            if (!Files.isDirectory(work)) {
                Files.createDirectories(work.getParent());
                try {
                    Files.createDirectory(work, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rwx------")));
                } catch (UnsupportedOperationException e) {
                    Files.createDirectory(work);
                }
            }
            if (runAs != null) {
                if (((Number) Files.getAttribute(work, "unix:uid")).longValue() != runAs.uid()
                        || ((Number) Files.getAttribute(work, "unix:gid")).longValue() != runAs.gid()) {
                    Files.setAttribute(work, "unix:uid", (int) runAs.uid());
                    Files.setAttribute(work, "unix:gid", (int) runAs.gid());
                    log.info("Job work directory {} given to {} (uid {}, gid {})", work, runAs.name(), runAs.uid(),
                            runAs.gid());
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new TargetAgentException("cannot make the job work directory " + work + " (jobs.work.dir)"
                    + (runAs == null ? "" : " for user " + runAs.name()) + ": " + e, e);
        }
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
