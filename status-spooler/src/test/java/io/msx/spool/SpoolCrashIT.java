package io.msx.spool;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A child JVM appending in a loop is killed with SIGKILL at random moments, 10 times, on the same spool directory:
 * every append that returned before a kill is delivered, nothing is delivered that was not appended, and the
 * deduplicated stream is in order.
 */
@ExtendWith(LocalStackExtension.class)
class SpoolCrashIT {

    private static final int KILLS = 10;

    @TempDir
    Path dir;

    /** The child JVMs' Kafka client settings, kept out of the spool directory. */
    @TempDir
    Path settings;

    @Test
    void shouldDeliverEveryReturnedAppendAcrossTenKills(LocalStack stack) throws Exception {
        String topic = LocalStack.uniqueTopicPrefix() + "status";
        SpoolTopic.create(stack.adminClientProperties(), topic);
        Path clientConfig = SpoolTopic.writeClientConfig(stack.adminClientProperties(),
                settings.resolve("kafka.properties"));
        long randomSeed = System.nanoTime();
        Random random = new Random(randomSeed);
        Set<String> attempted = ConcurrentHashMap.newKeySet();
        Set<String> returned = ConcurrentHashMap.newKeySet();

        for (int run = 0; run < KILLS; run++) {
            Path protocol = dir.resolveSibling(dir.getFileName() + "-run" + run + ".txt");
            Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx128m", "-cp", System.getProperty("java.class.path"), SpoolCrashChild.class.getName(),
                    dir.toString(), clientConfig.toString(), topic, "r" + run, protocol.toString())
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            int killAfter = 1 + random.nextInt(400);
            await().atMost(Duration.ofSeconds(60)).alias("child " + run + " appended " + killAfter)
                    .until(() -> read(protocol, attempted, returned) >= killAfter || !child.isAlive());
            assertThat(child.isAlive()).as("child %s still running (seed %s)", run, randomSeed).isTrue();
            child.destroyForcibly(); // SIGKILL on Linux: no shutdown hooks, no close
            child.waitFor();
            read(protocol, attempted, returned);
            java.nio.file.Files.delete(protocol);
        }

        // A last open of the same directory delivers whatever the killed children left behind.
        StatusSpool spool = StatusSpool.open("drain", new StatusSpoolConfig(Map.of(
                StatusSpoolConfig.SPOOL_DIR_CONFIG, dir.toString())), stack.adminClientProperties(), topic,
                Clock.systemUTC(), new SimpleMeterRegistry());
        try {
            assertThat(spool.flush(Duration.ofSeconds(60))).as("leftovers drained").isTrue();
        } finally {
            spool.close(Duration.ofSeconds(10));
        }

        List<SpoolTopic.Delivered> view = SpoolTopic.deduplicated(
                SpoolTopic.readAll(stack.adminClientProperties(), topic, returned.size()));
        Set<String> delivered = new HashSet<>();
        view.forEach(d -> delivered.add(d.id()));
        assertThat(delivered).as("every append that returned is delivered (seed %s)", randomSeed)
                .containsAll(returned);
        assertThat(attempted).as("nothing delivered that was not appended (seed %s)", randomSeed)
                .containsAll(delivered);
        assertThat(view).extracting(SpoolTopic.Delivered::seq).isSorted().doesNotHaveDuplicates();
        List<Integer> runs = new ArrayList<>();
        view.forEach(d -> runs.add(Integer.parseInt(d.id().substring(1, d.id().indexOf('-')))));
        assertThat(runs).as("runs delivered in the order they appended").isSorted();
        assertThat(returned).hasSizeGreaterThanOrEqualTo(KILLS);
    }

    /** Adds what the child's protocol file says so far; returns how many appends returned. */
    private static int read(Path protocol, Set<String> attempted, Set<String> returned) throws IOException {
        if (!java.nio.file.Files.exists(protocol)) {
            return 0;
        }
        int done = 0;
        for (String line : java.nio.file.Files.readAllLines(protocol, StandardCharsets.UTF_8)) {
            String[] parts = line.split(" ");
            if (parts[0].equals("attempt") && parts.length == 2) {
                attempted.add(parts[1]);
            } else if (parts[0].equals("done") && parts.length == 3) {
                returned.add(parts[1]);
                done++;
            }
        }
        return done;
    }
}
