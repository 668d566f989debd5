package io.msx.schemas;

import org.apache.avro.Schema;

import java.util.OptionalInt;

/**
 * What the codecs need of a schema registry: register, look up, fetch by id. {@link SchemaRegistryClient} is the
 * implementation talking to a Confluent-API registry; tests where the registry is not the point (fuzzing) use an
 * in-memory one.
 */
public interface SchemaRegistry {

    /**
     * Registers {@code schema} under {@code subject} (a no-op returning the existing id when it is already there).
     *
     * @throws SchemaRegistryException when the registry refuses it, e.g. as incompatible (HTTP 409)
     */
    int register(String subject, Schema schema);

    /** The id of {@code schema} under {@code subject}, or empty when it is not registered there. */
    OptionalInt lookupId(String subject, Schema schema);

    /**
     * The schema registered with {@code id}.
     *
     * @throws SchemaRegistryException with status 404 when the registry does not know the id
     */
    Schema schemaById(int id);

    /** Where the registry is, for messages. */
    String location();

    /** How many schemas and ids a client may keep in memory, per cache. */
    int cacheCapacity();
}
