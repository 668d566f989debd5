package io.msx.schemas;

import org.apache.avro.Schema;

import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A registry in memory, for tests where the registry is not the point (fuzzing the codec). Ids start at 1 and are
 * given per distinct schema, as Confluent's do; it checks no compatibility.
 */
public final class InMemorySchemaRegistry implements SchemaRegistry {

    private final Map<Schema, Integer> ids = new HashMap<>();
    private final Map<Integer, Schema> schemas = new HashMap<>();

    /** A registry holding every msx schema of this build. */
    public static InMemorySchemaRegistry withMsxSchemas() {
        InMemorySchemaRegistry registry = new InMemorySchemaRegistry();
        MsxSchemas.ALL.forEach(s -> registry.register(MsxCodec.subjectOf(s), s));
        return registry;
    }

    @Override
    public synchronized int register(String subject, Schema schema) {
        return ids.computeIfAbsent(schema, s -> {
            int id = ids.size() + 1;
            schemas.put(id, s);
            return id;
        });
    }

    @Override
    public synchronized OptionalInt lookupId(String subject, Schema schema) {
        Integer id = ids.get(schema);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    @Override
    public synchronized Schema schemaById(int id) {
        Schema schema = schemas.get(id);
        if (schema == null) {
            throw new SchemaRegistryException("schema id " + id + " not found", 404, 40403);
        }
        return schema;
    }

    /** Highest id given so far. */
    public synchronized int maxId() {
        return schemas.size();
    }

    @Override
    public String location() {
        return "memory";
    }

    @Override
    public int cacheCapacity() {
        return 1000;
    }
}
