package io.msx.schemas;

import org.apache.avro.specific.SpecificRecord;

/**
 * What {@link MsxCodec#decode} made of one record's value. Bad input is a value, not an exception, so a consumer loop
 * handles every case in one switch and never dies on a record.
 */
public sealed interface Decoded {

    /** A record of a type this build knows, resolved from the writer's schema to this build's class. */
    record Message(SpecificRecord value, int schemaId) implements Decoded {
    }

    /** A null value: a tombstone. */
    record Tombstone() implements Decoded {
    }

    /**
     * A well-formed record of a type this build does not know (a newer msx wrote it). Its header, read through the
     * family's header schema, is there when the writer's type has one; otherwise null.
     */
    record UnknownType(String recordName, int schemaId, SpecificRecord header) implements Decoded {
        public String reason() {
            return "unknown message type " + recordName + ", schema id " + schemaId;
        }
    }

    /**
     * Bytes that cannot be read as a message of the expected family: not the wire format, too large, an unknown
     * schema id, a corrupt body, or a known type that does not belong on this topic. {@code header} is there when it
     * could still be read.
     */
    record Malformed(String reason, SpecificRecord header) implements Decoded {
    }
}
