package io.msx.master.cli;

import io.msx.master.MasterConfig;
import io.msx.master.MasterPublisher;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code msx master run}: runs the master until SIGTERM. Settings: options over MSX_* variables over --config. */
@Command(name = "run", description = "Run the master until stopped (SIGTERM or Ctrl-C).")
public final class MasterRunCommand implements Callable<Integer> {

    @Option(names = "--config", paramLabel = "FILE", description = "Properties file with master settings.")
    Path config;

    @Option(names = "--bootstrap-servers", description = "Kafka bootstrap servers.")
    String bootstrapServers;

    @Option(names = "--schema-registry-url", description = "Schema registry API URL.")
    String schemaRegistryUrl;

    @Option(names = "--http-port", description = "REST API port (0 = any free port).")
    Integer httpPort;

    @Option(names = "--topic-prefix", description = "Prefix of every msx topic.")
    String topicPrefix;

    @Override
    public Integer call() throws Exception {
        Map<String, Object> explicit = new HashMap<>();
        explicit.put(MasterConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        explicit.put(MasterConfig.SCHEMA_REGISTRY_URL_CONFIG, schemaRegistryUrl);
        explicit.put(MasterConfig.HTTP_PORT_CONFIG, httpPort);
        explicit.put(MasterConfig.TOPIC_PREFIX_CONFIG, topicPrefix);
        MasterPublisher master = new MasterPublisher(MasterConfig.load(explicit, config, System.getenv()),
                Clock.systemUTC());
        master.start();
        Thread hook = new Thread(() -> master.close(Duration.ofSeconds(30)), "msx-master-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        MasterPublisher.State ended;
        do {
            ended = master.awaitTermination(Duration.ofHours(1));
        } while (ended == MasterPublisher.State.RUNNING);
        if (ended == MasterPublisher.State.FAILED) {
            // exit non-zero so a supervisor (systemd, Kubernetes) restarts the master
            System.err.println("msx: master failed: " + master.lastError());
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
                master.close(Duration.ofSeconds(30));
            } catch (IllegalStateException e) {
                // the JVM is shutting down: the hook closes the master
            }
            return ExitCodes.FAILED;
        }
        hook.join(); // closed by the shutdown hook (SIGTERM, Ctrl-C): the JVM is exiting already
        return ExitCodes.OK;
    }
}
