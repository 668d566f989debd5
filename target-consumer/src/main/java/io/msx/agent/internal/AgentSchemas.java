package io.msx.agent.internal;

import io.msx.avro.JobDefinition;
import io.msx.avro.state.StoredRun;
import io.msx.agent.TargetAgentException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.SchemaParseException;
import org.apache.avro.message.SchemaStore;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongFunction;

/**
 * The schemas the agent's local state may have been written with, by their CRC-64-AVRO fingerprint (the 8 bytes
 * after {@code C3 01} in Avro's single-object encoding), so a record stored by an older agent resolves against this
 * build's schema after an upgrade. They come from:
 * <ol>
 *   <li>this build's own schemas of stored types;</li>
 *   <li>historical schemas shipped with the agent: every {@code .avsc} named in
 *       {@value #BUNDLED_INDEX} (stores written by a release that had no {@code schemas} column family);</li>
 *   <li>the {@code schemas} column family of the agent's store, which holds every schema a record there was written
 *       with (looked up on a miss, then remembered).</li>
 * </ol>
 * Thread-safe.
 */
public final class AgentSchemas implements SchemaStore {

    /** Folder of the bundled historical schemas on the class path. */
    public static final String BUNDLED_DIR = "io/msx/agent/schemas/";
    /** Lists the bundled schema files, one name a line ({@code #} starts a comment). */
    public static final String BUNDLED_INDEX = BUNDLED_DIR + "index.txt";
    /** Types the agent keeps in its store. */
    public static final List<Schema> STORED_TYPES = List.of(JobDefinition.getClassSchema(),
            StoredRun.getClassSchema());

    private final Map<Long, Schema> known = new ConcurrentHashMap<>();
    private final LongFunction<byte[]> stored;

    /**
     * @param stored the schema JSON stored under a fingerprint in the agent's store, or null when it holds none;
     *               null for no store at all
     */
    public AgentSchemas(LongFunction<byte[]> stored) {
        this.stored = stored;
        bundled().forEach(this::add);
        STORED_TYPES.forEach(this::add);
    }

    /** This build's schemas and the bundled history only, as an agent sees a store of the previous release. */
    public static AgentSchemas withoutStore() {
        return new AgentSchemas(null);
    }

    public static long fingerprint(Schema schema) {
        return SchemaNormalization.parsingFingerprint64(schema);
    }

    private void add(Schema schema) {
        known.putIfAbsent(fingerprint(schema), schema);
    }

    @Override
    public Schema findByFingerprint(long fingerprint) {
        Schema schema = known.get(fingerprint);
        if (schema != null || stored == null) {
            return schema;
        }
        byte[] json = stored.apply(fingerprint);
        if (json == null) {
            return null;
        }
        try {
            schema = new Schema.Parser().parse(new String(json, StandardCharsets.UTF_8));
        } catch (SchemaParseException e) {
            throw new TargetAgentException("schema " + Long.toHexString(fingerprint) + " in the agent's schemas "
                    + "column family cannot be parsed: " + e.getMessage(), e);
        }
        if (fingerprint(schema) != fingerprint) {
            throw new TargetAgentException("schema stored under fingerprint " + Long.toHexString(fingerprint)
                    + " has fingerprint " + Long.toHexString(fingerprint(schema)) + ": the schemas column family is "
                    + "damaged");
        }
        known.putIfAbsent(fingerprint, schema);
        return schema;
    }

    /** Every schema named in {@value #BUNDLED_INDEX}, each parsed on its own (they may share names). */
    static List<Schema> bundled() {
        ClassLoader loader = AgentSchemas.class.getClassLoader();
        List<Schema> schemas = new ArrayList<>();
        for (String name : bundledNames()) {
            try (InputStream in = loader.getResourceAsStream(BUNDLED_DIR + name)) {
                if (in == null) {
                    throw new TargetAgentException(BUNDLED_INDEX + " names " + name + ", which is not on the class "
                            + "path");
                }
                schemas.add(new Schema.Parser().parse(in));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read bundled schema " + BUNDLED_DIR + name, e);
            }
        }
        return schemas;
    }

    static List<String> bundledNames() {
        try (InputStream in = AgentSchemas.class.getClassLoader().getResourceAsStream(BUNDLED_INDEX)) {
            if (in == null) {
                throw new TargetAgentException(BUNDLED_INDEX + " is missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().map(String::strip)
                    .filter(line -> !line.isEmpty() && !line.startsWith("#")).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + BUNDLED_INDEX, e);
        }
    }
}
