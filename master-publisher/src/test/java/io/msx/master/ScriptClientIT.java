package io.msx.master;

import io.msx.config.ConfigSources;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An ops script in another language keeps working: the Node example (deploy/examples/node/force-poll.js, with
 * kafkajs and @kafkajs/confluent-schema-registry from npm) knows only the subject io.msx.avro.command.ForcePoll,
 * looks up its latest schema, publishes a command, and the master accepts it and polls the target. Needs Node.js and
 * npm on the PATH; installs the example's pinned packages with npm ci when they are missing.
 */
@ExtendWith(LocalStackExtension.class)
class ScriptClientIT {

    private static final Path EXAMPLE = Path.of("..", "deploy", "examples", "node").toAbsolutePath().normalize();

    @TempDir
    Path data;

    private Fleet fleet;

    @BeforeEach
    void start(LocalStack stack) throws Exception {
        if (!Files.isDirectory(EXAMPLE.resolve("node_modules"))) {
            Result install = run(List.of("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"), Duration.ofMinutes(5));
            assertThat(install.exitCode()).as("npm ci in %s: %s", EXAMPLE, install.output()).isZero();
        }
        fleet = Fleet.start(stack, data, "T1");
    }

    @AfterEach
    void stop() {
        if (fleet != null) {
            fleet.close();
        }
    }

    @Test
    void shouldAcceptAForcePollPublishedByANodeScriptThatKnowsOnlyTheSubject() throws Exception {
        String answeredBefore = fleet.master.target("T1").orElseThrow().lastAnsweredInstructionId();

        Result result = run(List.of("node", "force-poll.js", "T1"), Duration.ofSeconds(90));

        assertThat(result.exitCode()).as("node force-poll.js T1: %s", result.output()).isZero();
        assertThat(result.output()).contains("\"status\":\"ACCEPTED\"").contains("\"target\":\"T1\"")
                .contains("\"operation\":\"POLL\"");
        await().atMost(Duration.ofSeconds(60)).alias("T1 checked in for the script's force poll")
                .until(() -> {
                    TargetView t1 = fleet.master.target("T1").orElseThrow();
                    return "FORCED".equals(t1.lastPollTrigger())
                            && !java.util.Objects.equals(answeredBefore, t1.lastAnsweredInstructionId());
                });
    }

    private record Result(int exitCode, String output) {
    }

    private Result run(List<String> command, Duration timeout) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).directory(EXAMPLE.toFile()).redirectErrorStream(true);
        if (fleet != null) {
            builder.environment().put("MSX_BOOTSTRAP_SERVERS", fleet.stack.bootstrapServers());
            builder.environment().put("MSX_SCHEMA_REGISTRY_URL", fleet.stack.schemaRegistryUrl());
            builder.environment().put("MSX_TOPIC_PREFIX", fleet.topics.prefix());
            // the super-user's credentials, as MSX_SECURITY_PROTOCOL, MSX_SASL_MECHANISM and MSX_SASL_JAAS_CONFIG
            fleet.stack.adminSecuritySettings().forEach((key, value) -> builder.environment()
                    .put(ConfigSources.envName(key), value));
        }
        Path log = data.resolve("process-" + System.nanoTime() + ".log");
        Process process = builder.redirectOutput(log.toFile()).start();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            return new Result(-1, "timed out after " + timeout + ": " + Files.readString(log, StandardCharsets.UTF_8));
        }
        return new Result(process.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }
}
