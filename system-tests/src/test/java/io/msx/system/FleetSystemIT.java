package io.msx.system;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Volume;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.output.Slf4jLogConsumer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.utility.DockerImageName;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The images as a deployment runs them: a Kafka broker ({@code msx-test-kafka}, SASL SCRAM and ACLs), Apicurio
 * ({@code msx-test-apicurio}), a master and two agents ({@code msx}), each a container on one network, with their own
 * Kafka users made by the CLI. Every operator step is the {@code msx} CLI inside a container. An agent is killed and
 * replaced by a new container on the same volume, and the master is replaced by a new container on its volume.
 */
class FleetSystemIT {

    private static final Logger log = LoggerFactory.getLogger(FleetSystemIT.class);
    private static final String HOW_TO_RUN = "Run `bash .ci/run` (it installs docker.io, starts it in a network "
            + "namespace and builds the images), or with a Docker engine of your own: "
            + "`sudo deploy/images/base/build-base.sh /tmp/msx-base.tar && export MSX_BASE_IMAGE=/tmp/msx-base.tar && "
            + "./mvnw -B -DskipTests install && ./mvnw -B verify -pl system-tests` (README, Deploy).";
    private static final String VERSION = System.getProperty("msx.version", "0.1.0-SNAPSHOT");
    private static final Duration STARTUP = Duration.ofMinutes(3);
    private static final String REGISTRY_URL = "http://registry:8080/apis/ccompat/v7";
    private static final ObjectMapper JSON = new ObjectMapper();

    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final List<GenericContainer<?>> started = new ArrayList<>();
    private static final List<String> volumes = new ArrayList<>();
    private static Network network;
    private static String work;
    private static GenericContainer<?> ops;

    @BeforeAll
    static void engineAndImages() throws IOException {
        String baseImage = System.getenv("MSX_BASE_IMAGE");
        // without MSX_BASE_IMAGE this build made no images: tarballs left from an earlier build would be stale
        require(baseImage != null && !baseImage.isBlank(), "MSX_BASE_IMAGE is not set, so this build made no "
                + "images: the system tests did not run. " + HOW_TO_RUN);
        require(DockerClientFactory.instance().isDockerAvailable(), "No container engine found: the system tests "
                + "did not run. " + HOW_TO_RUN);
        DockerClient docker = DockerClientFactory.lazyClient();
        for (String image : List.of("msx.image.msx", "msx.image.kafka", "msx.image.apicurio")) {
            Path tar = Path.of(System.getProperty(image, "missing"));
            require(Files.isRegularFile(tar), "Image tarball " + tar + " was not built: the system tests did not "
                    + "run. " + HOW_TO_RUN);
            try (InputStream in = Files.newInputStream(tar)) {
                docker.loadImageCmd(in).exec();
            }
            log.info("loaded {}", tar);
        }
        network = Network.newNetwork();
        work = volume("work");
    }

    /**
     * Skips with {@code message} where the system tests are optional (a machine without an engine), fails where
     * {@code MSX_SYSTEM_TESTS_REQUIRED} is set ({@code .ci/run}): there a skip would hide that nothing ran.
     */
    private static void require(boolean condition, String message) {
        if (System.getenv("MSX_SYSTEM_TESTS_REQUIRED") != null) {
            assertThat(condition).as(message).isTrue();
        }
        assumeTrue(condition, message);
    }

    /** Stops what started and removes what was made, each on its own: one failure does not leak the rest. */
    @AfterAll
    static void tearDown() {
        for (int i = started.size() - 1; i >= 0; i--) {
            GenericContainer<?> container = started.get(i);
            quietly("stop a container", container::stop);
        }
        if (network != null) {
            quietly("remove the network", network::close);
        }
        if (!volumes.isEmpty()) {
            DockerClient docker = DockerClientFactory.lazyClient();
            // a volume no container mounted (the test failed early) was never made: nothing to remove
            volumes.forEach(v -> quietly("remove volume " + v, () -> docker.removeVolumeCmd(v).exec()));
        }
    }

    private static void quietly(String what, Runnable action) {
        try {
            action.run();
        } catch (RuntimeException e) {
            log.warn("tear-down: could not {}: {}", what, e.getMessage());
        }
    }

    @Test
    void aFleetOfContainersRunsJobsSurvivesAKilledAgentAndARestartedMaster() throws Exception {
        String adminPassword = UUID.randomUUID().toString();
        start(new GenericContainer<>(image("msx-test-kafka"))
                .withNetworkAliases("kafka")
                .withEnv("MSX_KAFKA_ADMIN_PASSWORD", adminPassword)
                .withEnv("MSX_KAFKA_ADVERTISED_HOST", "kafka")
                .waitingFor(Wait.forLogMessage(".*msx-test-kafka started.*", 1).withStartupTimeout(STARTUP)), "kafka");
        start(new GenericContainer<>(image("msx-test-apicurio"))
                .withNetworkAliases("registry")
                .withExposedPorts(8080)
                .waitingFor(Wait.forHttp("/apis/ccompat/v7/subjects").forPort(8080).withStartupTimeout(STARTUP)),
                "registry");

        // The operator's workstation: the msx image with a shell, every step below is the msx CLI in it.
        ops = start(msx(volume("ops")).withCreateContainerCmdModifier(c -> c.withEntrypoint("sleep", "infinity")),
                "ops");
        // /work is a volume every msx container mounts: the credentials and keys the CLI writes there (as uid 10001)
        assertThat(ops.execInContainerWithUser("0", "chown", "10001:10001", "/work").getExitCode()).isZero();
        write("/work/admin.properties", "security.protocol=SASL_PLAINTEXT\n"
                + "sasl.mechanism=SCRAM-SHA-512\n"
                + "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                + "username=\"admin\" password=\"" + adminPassword + "\";\n");
        String admin = "--command-config=/work/admin.properties";
        cli(admin, "access", "master", "msx-master", "--security-protocol", "SASL_PLAINTEXT",
                "--out", "/work/master.properties");
        cli(admin, "access", "operator", "ops", "--security-protocol", "SASL_PLAINTEXT",
                "--out", "/work/ops.properties");
        for (String target : List.of("T1", "T2")) {
            cli(admin, "target", "credentials", target, "--security-protocol", "SASL_PLAINTEXT",
                    "--out", "/work/" + target + ".properties");
        }
        cli(null, "keys", "generate", "--out", "/work/master.key");

        String masterVolume = volume("master");
        GenericContainer<?> master = start(master(masterVolume), "master-1");
        String t1Volume = volume("T1");
        GenericContainer<?> t1 = start(agent("T1", t1Volume), "agent-T1");
        start(agent("T2", volume("T2")), "agent-T2");
        String opsConfig = "--command-config=/work/ops.properties";

        // Force poll: both targets check in (the seed's sp_post_msx_operation 'INSERT', 'SERVER', 'POLL').
        await().atMost(Duration.ofMinutes(2)).untilAsserted(() -> assertThat(
                cliResult(opsConfig, "target", "poll", "T1", "T2", "--wait", "--timeout", "20s").getExitCode())
                .isZero());
        assertThat(targetNames(cli(opsConfig, "target", "list", "-o", "json"))).containsExactly("T1", "T2");

        // A job on both targets; each run appends its run id to a file on the agent's volume.
        write("/work/job.yaml", """
                id: systest
                name: System test job
                targets: [T1, T2]
                steps:
                  - id: 1
                    name: record
                    command: [sh, -c, 'echo "$MSX_RUN_ID" >> /var/lib/msx/runs.log; echo "ran on $(uname -n)"']
                """);
        cli(opsConfig, "job", "create", "-f", "/work/job.yaml");
        cli(opsConfig, "job", "start", "systest", "--wait");
        assertThat(runs(opsConfig, "systest", "T1")).hasSize(1);
        assertThat(runs(opsConfig, "systest", "T2")).hasSize(1);

        // docker kill the agent in the middle of a run; a job is started while it is gone; a new container on the
        // same volume reports the interrupted run (FAILED, not started again) and runs the new start exactly once.
        write("/work/slow.yaml", """
                id: slow
                name: Interrupted by docker kill
                targets: [T1]
                steps:
                  - id: 1
                    name: sleep
                    command: [sh, -c, 'echo "$MSX_RUN_ID" >> /var/lib/msx/slow.log; sleep 120']
                """);
        cli(opsConfig, "job", "create", "-f", "/work/slow.yaml");
        cli(opsConfig, "job", "start", "slow");
        await().atMost(Duration.ofMinutes(1)).until(() -> t1.execInContainer("test", "-s", "/var/lib/msx/slow.log")
                .getExitCode() == 0);
        DockerClientFactory.lazyClient().killContainerCmd(t1.getContainerId()).exec();
        t1.stop();
        started.remove(t1);
        cli(opsConfig, "job", "start", "systest", "--target", "T1");
        GenericContainer<?> t1Again = start(agent("T1", t1Volume), "agent-T1-again");
        await().atMost(Duration.ofMinutes(2)).untilAsserted(() -> {
            assertThat(runs(opsConfig, "systest", "T1")).hasSize(2)
                    .allSatisfy(r -> assertThat(r.get("status").asText()).isEqualTo("SUCCEEDED"));
            assertThat(runs(opsConfig, "slow", "T1")).singleElement().satisfies(r -> {
                assertThat(r.get("status").asText()).isEqualTo("FAILED");
                assertThat(r.get("message").asText()).contains("in progress").contains("not started again");
            });
        });
        List<String> recorded = lines(t1Again, "/var/lib/msx/runs.log");
        List<String> reported = runs(opsConfig, "systest", "T1").stream().map(r -> r.get("runId").asText()).sorted()
                .toList();
        assertThat(recorded).as("each start ran exactly once on T1").hasSize(2).doesNotHaveDuplicates();
        assertThat(recorded.stream().sorted().toList()).as("every run that ran was reported").isEqualTo(reported);
        assertThat(lines(t1Again, "/var/lib/msx/slow.log")).as("the interrupted run was not started again")
                .hasSize(1);
        assertThat(runs(opsConfig, "systest", "T2")).as("T2 was not asked to run again").hasSize(1);

        // A new master container on the same state volume serves the same views.
        String targetsBefore = normalizedTargets(cli(opsConfig, "target", "list", "-o", "json"));
        String historyBefore = cli(opsConfig, "job", "history", "systest", "-o", "json");
        // docker stop: SIGTERM through tini to the JVM, which closes Kafka Streams (the agent above was SIGKILLed)
        DockerClientFactory.lazyClient().stopContainerCmd(master.getContainerId()).withTimeout(60).exec();
        assertThat(DockerClientFactory.lazyClient().inspectContainerCmd(master.getContainerId()).exec().getState()
                .getExitCodeLong()).as("the master stopped on SIGTERM (0 or 143), not killed after the timeout (137)")
                .isIn(0L, 143L);
        master.stop();
        started.remove(master);
        start(master(masterVolume), "master-2");
        await().atMost(Duration.ofMinutes(1)).untilAsserted(() -> {
            assertThat(normalizedTargets(cli(opsConfig, "target", "list", "-o", "json"))).isEqualTo(targetsBefore);
            assertThat(JSON.readTree(cli(opsConfig, "job", "history", "systest", "-o", "json")))
                    .isEqualTo(JSON.readTree(historyBefore));
        });
    }

    private static DockerImageName image(String name) {
        return DockerImageName.parse(name + ":" + VERSION);
    }

    /** The msx image on the network, with the shared work directory and the addresses of Kafka and the registry. */
    private static GenericContainer<?> msx() {
        return new GenericContainer<>(image("msx"))
                .withEnv("MSX_BOOTSTRAP_SERVERS", "kafka:9092")
                .withEnv("MSX_SCHEMA_REGISTRY_URL", REGISTRY_URL)
                .withEnv("MSX_MASTER_URL", "http://master:8780");
    }

    /** The msx image with the shared /work volume and its own volume at /var/lib/msx (its state). */
    private static GenericContainer<?> msx(String volume) {
        return msx().withCreateContainerCmdModifier(c -> c.getHostConfig().withBinds(
                new Bind(work, new Volume("/work")), new Bind(volume, new Volume("/var/lib/msx"))));
    }

    private static GenericContainer<?> master(String volume) {
        return msx(volume)
                .withNetworkAliases("master")
                .withCommand("master", "run", "--config", "/work/master.properties")
                .withEnv("MSX_SIGNING_KEY_FILE", "/work/master.key")
                .withEnv("MSX_STATE_DIR", "/var/lib/msx/state")
                .withEnv("MSX_HTTP_HOST", "0.0.0.0")
                .withEnv("MSX_ADVERTISED_HOST", "master")
                .withEnv("MSX_TARGETS_KEY_ACCEPTANCE", "first-use")
                .withExposedPorts(8780)
                .waitingFor(Wait.forHttp("/health/ready").forPort(8780).withStartupTimeout(STARTUP));
    }

    private static GenericContainer<?> agent(String target, String volume) {
        return msx(volume)
                .withCommand("agent", "run", "--name", target, "--config", "/work/" + target + ".properties")
                .withEnv("MSX_TRUSTED_KEYS_FILE", "/work/master.key.pub")
                .withEnv("MSX_DATA_DIR", "/var/lib/msx/data")
                .withEnv("MSX_HTTP_HOST", "0.0.0.0")
                .withEnv("MSX_HTTP_PORT", "9780")
                .withExposedPorts(9780)
                .waitingFor(Wait.forHttp("/health/ready").forPort(9780).withStartupTimeout(STARTUP));
    }

    private static GenericContainer<?> start(GenericContainer<?> container, String name) {
        container.withNetwork(network)
                .withCreateContainerCmdModifier(c -> c.withName("msx-" + RUN + "-" + name))
                .withLogConsumer(new Slf4jLogConsumer(LoggerFactory.getLogger("container." + name)));
        started.add(container);
        container.start();
        log.info("{} started", name);
        return container;
    }

    private static void write(String path, String content) {
        ops.copyFileToContainer(Transferable.of(content.getBytes(java.nio.charset.StandardCharsets.UTF_8), 0644), path);
    }

    /** A named volume the test removes at the end; it outlives the containers that mount it. */
    private static String volume(String name) {
        String volume = "msx-" + RUN + "-" + name;
        volumes.add(volume);
        return volume;
    }

    /** Runs the msx CLI in the operator's container; fails the test with its output unless it exits 0. */
    private static String cli(String config, String... args) throws Exception {
        Container.ExecResult result = cliResult(config, args);
        assertThat(result.getExitCode()).as("msx %s\nstdout: %s\nstderr: %s", String.join(" ", args),
                result.getStdout(), result.getStderr()).isZero();
        return result.getStdout();
    }

    private static Container.ExecResult cliResult(String config, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("msx"));
        command.addAll(List.of(args));
        if (config != null) {
            command.add(config);
        }
        Container.ExecResult result = ops.execInContainer(command.toArray(String[]::new));
        log.info("msx {} -> exit {}", String.join(" ", args), result.getExitCode());
        return result;
    }

    private static List<String> lines(GenericContainer<?> container, String file) throws Exception {
        Container.ExecResult result = container.execInContainer("cat", file);
        assertThat(result.getExitCode()).as("cat %s: %s", file, result.getStderr()).isZero();
        return result.getStdout().lines().toList();
    }

    private static List<JsonNode> runs(String config, String job, String target) throws Exception {
        List<JsonNode> runs = new ArrayList<>();
        JSON.readTree(cli(config, "job", "history", job, "-o", "json")).forEach(run -> {
            if (run.get("target").asText().equals(target)) {
                runs.add(run);
            }
        });
        return runs;
    }

    private static List<String> targetNames(String json) throws IOException {
        List<String> names = new ArrayList<>();
        JSON.readTree(json).forEach(t -> names.add(t.get("name").asText()));
        return names.stream().sorted().toList();
    }

    /** Each target's name and status: what a restarted master must still know (not its last-seen times). */
    private static String normalizedTargets(String json) throws IOException {
        Map<String, String> byName = new TreeMap<>();
        JSON.readTree(json).forEach(t -> byName.put(t.get("name").asText(), t.get("status").asText()));
        return byName.toString();
    }
}
