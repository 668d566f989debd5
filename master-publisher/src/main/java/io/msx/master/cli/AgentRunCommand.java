package io.msx.master.cli;

import io.msx.agent.TargetAgent;
import io.msx.agent.TargetAgentConfig;
import io.msx.agent.TargetAgentDefectedException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code msx agent run --name T1}: runs a target agent until SIGTERM, then stops taking instructions and schedule
 * firings, lets running steps finish for up to {@code shutdown.grace.ms}, flushes what it can and closes. Exits 1
 * when the agent FAILED (a loop could not go on: a supervisor should restart it), 0 when it was defected (also at a
 * later start, until its data directory is reset), 0 on SIGTERM.
 */
@Command(name = "run", description = "Run a target agent until stopped (SIGTERM or Ctrl-C).")
public final class AgentRunCommand implements Callable<Integer> {

    @Option(names = "--name", description = "Target name (or MSX_TARGET_NAME / target.name in --config).")
    String name;

    @Option(names = "--config", paramLabel = "FILE", description = "Properties file with agent settings.")
    Path config;

    @Option(names = "--bootstrap-servers", description = "Kafka bootstrap servers.")
    String bootstrapServers;

    @Option(names = "--schema-registry-url", description = "Schema registry API URL.")
    String schemaRegistryUrl;

    @Option(names = "--data-dir", description = "Directory of the agent's local state.")
    String dataDir;

    @Option(names = "--topic-prefix", description = "Prefix of every msx topic.")
    String topicPrefix;

    @Option(names = "--http-port", description = "Port of /health and /metrics (-1 off, 0 any free port).")
    Integer httpPort;

    @Override
    public Integer call() throws Exception {
        Map<String, Object> explicit = new HashMap<>();
        explicit.put(TargetAgentConfig.TARGET_NAME_CONFIG, name);
        explicit.put(TargetAgentConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        explicit.put(TargetAgentConfig.SCHEMA_REGISTRY_URL_CONFIG, schemaRegistryUrl);
        explicit.put(TargetAgentConfig.DATA_DIR_CONFIG, dataDir);
        explicit.put(TargetAgentConfig.TOPIC_PREFIX_CONFIG, topicPrefix);
        explicit.put(TargetAgentConfig.HTTP_PORT_CONFIG, httpPort);
        TargetAgent agent = new TargetAgent(TargetAgentConfig.load(explicit, config, System.getenv()),
                Clock.systemUTC());
        try {
            agent.start();
        } catch (TargetAgentDefectedException e) {
            // not an error: a defected target must not come back by itself, and a supervisor must not loop on it
            System.err.println("msx: " + e.getMessage());
            return ExitCodes.OK;
        }
        Thread hook = new Thread(() -> agent.close(Duration.ofSeconds(30)), "msx-agent-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        TargetAgent.State ended;
        do {
            ended = agent.awaitTermination(Duration.ofHours(1));
        } while (ended == TargetAgent.State.RUNNING);
        if (ended == TargetAgent.State.FAILED) {
            // exit non-zero so a supervisor (systemd, Kubernetes) restarts the agent
            System.err.println("msx: agent " + agent.name() + " failed: " + agent.failure());
            closeQuietly(agent, hook);
            return ExitCodes.FAILED;
        }
        if (ended == TargetAgent.State.DEFECTED) {
            System.err.println("msx: agent " + agent.name() + " was defected from the master; it stops and will not "
                    + "start again until its data directory is reset");
            closeQuietly(agent, hook);
            return ExitCodes.OK;
        }
        // closed by the shutdown hook (SIGTERM, Ctrl-C): the JVM is exiting already
        hook.join();
        return ExitCodes.OK;
    }

    private static void closeQuietly(TargetAgent agent, Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            return; // the JVM is shutting down: the hook closes the agent
        }
        try {
            agent.close(Duration.ofSeconds(30));
        } catch (RuntimeException e) {
            System.err.println("msx: agent did not close cleanly: " + e);
        }
    }
}
