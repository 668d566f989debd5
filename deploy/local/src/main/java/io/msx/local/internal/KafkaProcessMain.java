package io.msx.local.internal;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.common.utils.Time;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * Main class of the child JVM behind {@link io.msx.local.KafkaProcess}: formats the log directory unless it already
 * is, starts a KRaft broker and runs it until the process is killed. Arguments: the broker's properties file and the
 * cluster id to format with.
 *
 * <p>The parent holds this process's stdin open; when it closes (the parent exited, even by SIGKILL) the broker halts,
 * so a dying test run never leaves a broker behind. A fatal broker error exits this JVM, which is the point of it.
 */
public final class KafkaProcessMain {

    /** Environment variable with the SCRAM credential to format with (kept off the command line). */
    public static final String SCRAM_ENV = "MSX_KAFKA_PROCESS_SCRAM";

    /** Printed on stdout once {@code startup()} has returned. */
    public static final String STARTED_LINE = "msx-kafka-process started";

    private KafkaProcessMain() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: KafkaProcessMain <server.properties> <cluster id>");
            System.exit(2);
        }
        watchParent();
        Path configFile = Path.of(args[0]);
        java.util.List<String> format = new java.util.ArrayList<>(java.util.List.of(
                "format", "--ignore-formatted", "--cluster-id", args[1], "--config", configFile.toString()));
        String scram = System.getenv(SCRAM_ENV);
        if (scram != null && !scram.isEmpty()) {
            format.addAll(java.util.List.of("--add-scram", scram)); // the super-user of a secured broker
        }
        int rc = StorageTool.execute(format.toArray(String[]::new), System.out);
        if (rc != 0) {
            System.err.println("formatting the broker's storage failed (exit " + rc + ")");
            System.exit(1);
        }
        Properties props = new Properties();
        try (InputStream in = Files.newInputStream(configFile)) {
            props.load(in);
        }
        KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
        server.startup();
        System.out.println(STARTED_LINE);
        System.out.flush();
        server.awaitShutdown();
    }

    private static void watchParent() {
        Thread watcher = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // the parent never writes; only the end of the stream matters
                }
            } catch (IOException e) {
                // a broken pipe means the same as end of stream
            }
            Runtime.getRuntime().halt(3);
        }, "msx-kafka-process-parent-watch");
        watcher.setDaemon(true);
        watcher.start();
    }
}
