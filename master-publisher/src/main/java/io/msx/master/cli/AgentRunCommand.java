package io.msx.master.cli;

import io.msx.agent.TargetAgent;
import io.msx.agent.TargetAgentConfig;
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
 * firings, lets running steps finish for up to {@code shutdown.grace.ms}, flushes what it can and closes.
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
        agent.start();
        RunUntilStopped.await("msx-agent", () -> agent.close(Duration.ofSeconds(30)));
        return ExitCodes.OK;
    }
}
