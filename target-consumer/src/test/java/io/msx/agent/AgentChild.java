package io.msx.agent;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Child-process helper for {@link AgentCrashIT} and {@link AgentOrphanIT}: runs a target agent until killed.
 * Arguments: target name, bootstrap servers, registry URL, topic prefix, data dir, and the properties file of its other
 * settings (Kafka security, trusted keys: {@link AgentFixtures#childSettings}).
 */
public final class AgentChild {

    private AgentChild() {
    }

    public static void main(String[] args) throws InterruptedException {
        TargetAgent agent = new TargetAgent(TargetAgentConfig.load(Map.of(
                TargetAgentConfig.TARGET_NAME_CONFIG, args[0],
                TargetAgentConfig.BOOTSTRAP_SERVERS_CONFIG, args[1],
                TargetAgentConfig.SCHEMA_REGISTRY_URL_CONFIG, args[2],
                TargetAgentConfig.TOPIC_PREFIX_CONFIG, args[3],
                TargetAgentConfig.DATA_DIR_CONFIG, args[4]), Path.of(args[5]), Map.of()), Clock.systemUTC());
        agent.start();
        new CountDownLatch(1).await(); // until SIGKILL
    }
}
