package io.msx.demo;

import io.msx.MsxException;
import io.msx.MsxVersion;
import io.msx.local.Directories;
import io.msx.http.BearerTokens;
import io.msx.http.HttpSecurityConfig;
import io.msx.http.Role;
import io.msx.local.LocalCa;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackException;
import io.msx.master.KafkaAccess;
import io.msx.schemas.Topics;
import io.msx.security.Ed25519Keys;
import io.msx.security.Signer;
import io.msx.master.MasterConfig;
import io.msx.master.MasterPublisher;
import io.msx.master.TargetView;
import io.msx.agent.TargetAgent;
import io.msx.agent.TargetAgentConfig;
import io.msx.master.cli.AccessCommand;
import io.msx.master.cli.ExitCodes;
import io.msx.master.cli.MsxCli;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * {@code java -jar deploy/local/demo/target/msx-demo.jar}: the embedded default, end to end and secured. Starts a real KRaft broker (SASL SCRAM, ACLs) and a
 * real Apicurio registry on 127.0.0.1, gives the master, an operator and each target its own Kafka user with
 * least-privilege ACLs and its own signing key, serves the master's REST API over TLS with a bearer token, starts a
 * master and two target agents (in this JVM, each with its own Kafka clients), pre-registers the targets with their
 * keys' fingerprints, then runs
 * {@code msx target poll --all --wait}, {@code msx target list}, {@code msx job create},
 * {@code msx job start --wait} and {@code msx job history} exactly as an operator would, and stops.
 *
 * <p>Its own artifact, apart from the production {@code msx} CLI: it carries the embedded broker and registry.
 */
@Command(name = "msx-demo", mixinStandardHelpOptions = true, versionProvider = DemoCommand.Version.class,
        description = "Run the local stack, a master and two targets; force-poll them, show the table, then post a "
                + "job to both and run it.")
public final class DemoCommand implements Callable<Integer> {

    /** Expected failures (the local stack cannot start, a command failed) get one line; anything else too. */
    static final CommandLine.IExecutionExceptionHandler EXCEPTION_HANDLER = (e, cmd, parseResult) -> {
        boolean expected = e instanceof LocalStackException || e instanceof MsxException
                || e instanceof IllegalStateException;
        cmd.getErr().println("msx demo: " + (expected ? e.getMessage() : "unexpected error: " + e));
        cmd.getErr().flush();
        return ExitCodes.FAILED;
    };

    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);

    @Spec
    CommandSpec spec;

    @Option(names = "--targets", split = ",", defaultValue = "T1,T2", description = "Targets to run (default ${DEFAULT-VALUE}).")
    List<String> targets;

    @Option(names = "--keep-running", description = "Leave the stack, the master and the targets running after the "
            + "demo (open the web console it prints) until Ctrl-C.")
    boolean keepRunning;

    /**
     * Blocks until Ctrl-C (SIGINT/SIGTERM): the shutdown hook first deletes the demo's keys and tokens (so that they
     * are gone even if the JVM halts before the cleanup ends), then releases this thread and waits a bounded time for
     * the caller's cleanup (agents, master, stack, data directory) to finish.
     */
    private static void keepRunning(PrintWriter out, String masterUrl, Path tokenFile) throws InterruptedException {
        java.util.concurrent.CountDownLatch stop = new java.util.concurrent.CountDownLatch(1);
        Thread main = Thread.currentThread();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                Directories.deleteRecursively(tokenFile.getParent());
            } catch (java.io.UncheckedIOException e) {
                // the data directory's cleanup below tries again
            }
            stop.countDown();
            try {
                main.join(Duration.ofSeconds(30).toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "msx-demo-shutdown"));
        out.println();
        out.println("== Still running (--keep-running): open " + masterUrl + "/console/ and log in with the token in "
                + tokenFile + "; Ctrl-C stops everything");
        out.flush();
        stop.await();
        shuttingDown = true;
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String[] zones = {"Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"};
        Path data = Files.createTempDirectory("msx-demo-");
        out.println("== Starting the local stack: Kafka (KRaft) broker + Apicurio schema registry");
        out.flush();
        try (LocalStack stack = LocalStack.start()) {
            out.println("   Kafka " + stack.bootstrapServers() + " (SASL SCRAM-SHA-512, ACLs), schema registry "
                    + stack.schemaRegistryUrl());
            Path keys = Files.createDirectories(data.resolve("keys"));
            Topics topics = Topics.defaults();
            Map<String, String> masterKafka;
            Map<String, String> operatorKafka;
            Map<String, Map<String, String>> targetKafka = new java.util.HashMap<>();
            try (KafkaAccess access = new KafkaAccess(stack.adminClientProperties(), topics)) {
                masterKafka = access.provisionMaster("msx-master").clientSettings("SASL_PLAINTEXT");
                operatorKafka = access.provisionOperator("ops").clientSettings("SASL_PLAINTEXT");
                for (String target : targets) {
                    targetKafka.put(target, access.provisionTarget(target).clientSettings("SASL_PLAINTEXT"));
                }
            }
            Path masterKey = keys.resolve("master.key");
            Ed25519Keys.readOrCreate(masterKey);
            Path operatorKey = keys.resolve("operator.key");
            Ed25519Keys.readOrCreate(operatorKey);
            LocalCa.ServerFiles tls = LocalCa.writeLocalhost(Files.createDirectories(data.resolve("tls")));
            BearerTokens.NewToken token = BearerTokens.create("ops", Role.OPERATOR, new java.security.SecureRandom());
            Path tokens = keys.resolve("tokens");
            Files.writeString(tokens, token.line() + "\n");
            Path tokenFile = keys.resolve("ops.token");
            AccessCommand.writeOwnerOnly(tokenFile, token.token() + "\n");
            Path operatorConfig = keys.resolve("ops.properties");
            AccessCommand.writeOwnerOnly(operatorConfig, properties(operatorKafka));
            out.println("   Kafka users: msx-master, ops (operator), " + targets.stream().map(KafkaAccess::targetUser)
                    .collect(Collectors.joining(", ")) + "; each with its own LITERAL ACLs");

            Map<String, Object> masterConfig = new java.util.HashMap<>(Map.of(
                    MasterConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
                    MasterConfig.SCHEMA_REGISTRY_URL_CONFIG, stack.schemaRegistryUrl(),
                    MasterConfig.HTTP_PORT_CONFIG, 0,
                    MasterConfig.STATE_DIR_CONFIG, data.resolve("master").toString(),
                    MasterConfig.SIGNING_KEY_FILE_CONFIG, masterKey.toString(),
                    MasterConfig.TRUSTED_KEYS_FILE_CONFIG, operatorKey + ".pub",
                    MasterConfig.COMMANDS_REQUIRE_IDENTITY_CONFIG, "true",
                    HttpSecurityConfig.TLS_KEYSTORE_PATH_CONFIG, tls.keystore().toString(),
                    HttpSecurityConfig.TLS_KEYSTORE_PASSWORD_CONFIG, tls.password(),
                    HttpSecurityConfig.AUTH_TOKENS_FILE_CONFIG, tokens.toString()));
            masterConfig.putAll(masterKafka);
            MasterPublisher master = new MasterPublisher(new MasterConfig(masterConfig), Clock.systemUTC());
            List<TargetAgent> agents = new ArrayList<>();
            try {
                master.start();
                String masterUrl = "https://127.0.0.1:" + master.httpPort();
                out.println("== Master running as Kafka user msx-master, REST API " + masterUrl + " (TLS, bearer "
                        + "tokens); instructions signed with " + Signer.fromFile(masterKey).keyId());
                out.println("   Web console " + masterUrl + "/console/ : log in with the operator token in "
                        + tokenFile + " (the certificate is from the demo's throw-away CA " + tls.caPem()
                        + ": let the browser proceed, or import that CA)");
                String[] connection = {"--bootstrap-servers", stack.bootstrapServers(),
                    "--schema-registry-url", stack.schemaRegistryUrl(), "--master-url", masterUrl,
                    "--command-config", operatorConfig.toString(), "--signing-key-file", operatorKey.toString(),
                    "--token-file", tokenFile.toString(), "--ca-file", tls.caPem().toString()};
                for (int i = 0; i < targets.size(); i++) {
                    String target = targets.get(i);
                    Path targetKey = keys.resolve(target + ".key");
                    String fingerprint = new Signer(Ed25519Keys.readOrCreate(targetKey)).keyId();
                    int rc = run(out, err, "$ msx target enlist " + target + " --key-fingerprint " + fingerprint,
                            concat(new String[] {"target", "enlist", target, "--location", "rack-" + (i + 1),
                                "--key-fingerprint", fingerprint}, connection));
                    if (rc != ExitCodes.OK) {
                        return rc;
                    }
                    Map<String, Object> agentConfig = new java.util.HashMap<>(Map.of(
                            TargetAgentConfig.TARGET_NAME_CONFIG, target,
                            TargetAgentConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers(),
                            TargetAgentConfig.SCHEMA_REGISTRY_URL_CONFIG, stack.schemaRegistryUrl(),
                            TargetAgentConfig.DATA_DIR_CONFIG, data.resolve(target).toString(),
                            TargetAgentConfig.LOCATION_CONFIG, "rack-" + (i + 1),
                            TargetAgentConfig.TIME_ZONE_CONFIG, zones[i % zones.length],
                            TargetAgentConfig.SIGNING_KEY_FILE_CONFIG, targetKey.toString(),
                            TargetAgentConfig.TRUSTED_KEYS_FILE_CONFIG, masterKey + ".pub"));
                    agentConfig.putAll(targetKafka.get(target));
                    TargetAgent agent = new TargetAgent(new TargetAgentConfig(agentConfig), Clock.systemUTC());
                    agents.add(agent);
                    agent.start();
                }
                if (!awaitEnlisted(master, agents)) {
                    err.println("msx demo: targets did not enlist within " + READY_TIMEOUT.toSeconds() + " s");
                    return ExitCodes.FAILED;
                }
                out.println();
                out.println("== Targets enlisted with their own Kafka users and accepted signing keys: "
                        + String.join(", ", targets));
                int rc = run(out, err, "$ msx target poll --all --wait", concat(
                        new String[] {"target", "poll", "--all", "--wait", "--timeout", "60s"}, connection));
                if (rc != ExitCodes.OK) {
                    return rc;
                }
                rc = run(out, err, "$ msx target list", concat(new String[] {"target", "list"}, connection));
                if (rc != ExitCodes.OK) {
                    return rc;
                }
                Path jobFile = data.resolve("hello.yaml");
                try (var in = DemoCommand.class.getResourceAsStream("demo-job.yaml")) {
                    Files.copy(in, jobFile);
                }
                rc = run(out, err, "$ msx job create -f hello.yaml", concat(
                        new String[] {"job", "create", "-f", jobFile.toString()}, connection));
                if (rc != ExitCodes.OK) {
                    return rc;
                }
                rc = run(out, err, "$ msx job start hello --wait", concat(
                        new String[] {"job", "start", "hello", "--wait", "--timeout", "60s"}, connection));
                if (rc != ExitCodes.OK) {
                    return rc;
                }
                rc = run(out, err, "$ msx job history hello", concat(
                        new String[] {"job", "history", "hello"}, connection));
                if (rc == ExitCodes.OK && keepRunning) {
                    keepRunning(out, masterUrl, tokenFile);
                }
                return rc;
            } finally {
                for (TargetAgent agent : agents) {
                    agent.close(Duration.ofSeconds(10));
                }
                master.close(Duration.ofSeconds(10));
            }
        } finally {
            try {
                Directories.deleteRecursively(data);
            } catch (java.io.UncheckedIOException e) {
                // a temp directory left behind is harmless
            }
        }
    }

    /** Set once Ctrl-C ended a {@code --keep-running} demo: the JVM is already shutting down, so no exit call. */
    private static volatile boolean shuttingDown;

    public static void main(String[] args) {
        int code = new CommandLine(new DemoCommand()).setExecutionExceptionHandler(EXCEPTION_HANDLER).execute(args);
        if (!shuttingDown) { // System.exit during shutdown would block until the hook gives up
            System.exit(code);
        }
    }

    private boolean awaitEnlisted(MasterPublisher master, List<TargetAgent> agents) throws InterruptedException {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        for (TargetAgent agent : agents) {
            if (!agent.awaitConsuming(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())))) {
                return false;
            }
        }
        Set<String> wanted = Set.copyOf(targets);
        while (System.nanoTime() < deadline) {
            if (agents.stream().anyMatch(TargetAgent::awaitingResync)) {
                Thread.sleep(100); // new installations: the master resyncs them first
                continue;
            }
            // a new installation is enlisted, then resynced by the master (it asks for that), then NORMAL
            Set<String> enlisted = master.targets().stream()
                    .filter(t -> t.status() == io.msx.master.TargetStatus.NORMAL).map(TargetView::name)
                    .collect(Collectors.toSet());
            if (enlisted.containsAll(wanted)) {
                return true;
            }
            Thread.sleep(100); // the master's views fill from the status topic; nothing to wait on but them
        }
        return false;
    }

    private static int run(PrintWriter out, PrintWriter err, String title, String[] args) {
        out.println();
        out.println(title);
        out.flush();
        return MsxCli.commandLine().setOut(out).setErr(err).execute(args);
    }

    private static String properties(Map<String, String> settings) {
        StringBuilder text = new StringBuilder();
        new java.util.TreeMap<>(settings).forEach((k, v) -> text.append(k).append('=').append(v.replace("\\",
                "\\\\")).append('\n'));
        return text.toString();
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = new String[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"msx-demo " + MsxVersion.current()};
        }
    }
}
