package io.msx.master;

import java.time.Clock;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/** Child-process helper for {@link MasterCrashIT}: a master until killed. Arguments: bootstrap, registry, prefix. */
public final class MasterChild {

    private MasterChild() {
    }

    public static void main(String[] args) throws InterruptedException {
        MasterPublisher master = new MasterPublisher(new MasterConfig(Map.of(
                MasterConfig.BOOTSTRAP_SERVERS_CONFIG, args[0],
                MasterConfig.SCHEMA_REGISTRY_URL_CONFIG, args[1],
                MasterConfig.TOPIC_PREFIX_CONFIG, args[2],
                MasterConfig.MASTER_ID_CONFIG, "crash",
                MasterConfig.HTTP_PORT_CONFIG, 0)), Clock.systemUTC());
        master.start();
        new CountDownLatch(1).await(); // until SIGKILL
    }
}
