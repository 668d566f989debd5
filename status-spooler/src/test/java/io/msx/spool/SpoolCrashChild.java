package io.msx.spool;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/**
 * Child-process helper for {@link SpoolCrashIT}: opens the spool and appends forever, printing {@code attempt <id>}
 * before each append and {@code done <id> <seq>} once it returned, until it is killed.
 * Arguments: spool dir, Kafka client settings file ({@link SpoolTopic#writeClientConfig}), topic, run id, protocol
 * file.
 */
public final class SpoolCrashChild {

    private SpoolCrashChild() {
    }

    public static void main(String[] args) throws IOException {
        // The protocol goes to a file: what was written before a SIGKILL is in the page cache and survives it,
        // where a pipe's unread bytes may be dropped when the JDK notices the process died.
        PrintStream out = new PrintStream(new FileOutputStream(args[4], true), true, StandardCharsets.UTF_8);
        StatusSpool spool = StatusSpool.open("crash", new StatusSpoolConfig(Map.of(
                StatusSpoolConfig.SPOOL_DIR_CONFIG, args[0])), SpoolTopic.readClientConfig(Path.of(args[1])), args[2],
                Clock.systemUTC(), new SimpleMeterRegistry());
        out.println("open");
        for (long i = 0; ; i++) {
            String id = args[3] + "-" + i;
            out.println("attempt " + id);
            long seq = spool.append("T1", s -> SpoolTopic.value(id, s));
            out.println("done " + id + " " + seq);
        }
    }
}
