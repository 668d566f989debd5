package io.msx.master;

import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Child-process helper for {@link MasterCrashIT} and {@link MasterFailoverIT}: a master until killed. Arguments:
 * bootstrap, registry, prefix, and optionally master id, state dir, HTTP port, and the properties file of its other
 * settings (Kafka security, signing key).
 */
public final class MasterChild {

    private MasterChild() {
    }

    public static void main(String[] args) throws InterruptedException {
        Map<String, Object> config = new HashMap<>(Map.of(
                MasterConfig.BOOTSTRAP_SERVERS_CONFIG, args[0],
                MasterConfig.SCHEMA_REGISTRY_URL_CONFIG, args[1],
                MasterConfig.TOPIC_PREFIX_CONFIG, args[2],
                MasterConfig.MASTER_ID_CONFIG, args.length > 3 ? args[3] : "crash",
                MasterConfig.HTTP_PORT_CONFIG, args.length > 5 ? Integer.parseInt(args[5]) : 0));
        if (args.length > 4) {
            config.put(MasterConfig.STATE_DIR_CONFIG, args[4]);
        }
        Path settings = args.length > 6 ? Path.of(args[6]) : null;
        MasterPublisher master = new MasterPublisher(MasterConfig.load(config, settings, Map.of()),
                Clock.systemUTC());
        master.start();
        new CountDownLatch(1).await(); // until SIGKILL
    }
}
