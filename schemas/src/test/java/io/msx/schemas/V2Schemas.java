package io.msx.schemas;

import org.apache.avro.Schema;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The "v2" schema set in {@code src/test/resources/v2}: what a later msx release might ship. New types
 * ({@code RotateLogs} instruction, {@code DiskReport} status event, {@code Drain} command) and current types with an
 * added optional field ({@code PollNow}, {@code CheckIn}, {@code ForcePoll}). Parsed against this build's shared
 * header schemas, as a later release's build would.
 */
public final class V2Schemas {

    public static final String ROTATE_LOGS = "io.msx.avro.instruction.RotateLogs";
    public static final String DISK_REPORT = "io.msx.avro.status.DiskReport";
    public static final String DRAIN = "io.msx.avro.command.Drain";
    public static final String POLL_NOW = "io.msx.avro.instruction.PollNow";
    public static final String CHECK_IN = "io.msx.avro.status.CheckIn";
    public static final String FORCE_POLL = "io.msx.avro.command.ForcePoll";

    private static final List<String> FILES = List.of("instruction/RotateLogs.avsc", "instruction/PollNow.avsc",
            "status/DiskReport.avsc", "status/CheckIn.avsc", "command/Drain.avsc", "command/ForcePoll.avsc");

    private V2Schemas() {
    }

    /** Every v2 schema by full name. */
    public static Map<String, Schema> load() {
        Map<String, Schema> schemas = new LinkedHashMap<>();
        for (String file : FILES) {
            Schema.Parser parser = new Schema.Parser();
            for (MessageFamily family : MessageFamily.values()) {
                parser.addTypes(List.of(family.headerSchema()));
            }
            Schema schema = parser.parse(read("/v2/" + file));
            schemas.put(schema.getFullName(), schema);
        }
        return schemas;
    }

    private static String read(String resource) {
        try (InputStream in = V2Schemas.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + resource);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
