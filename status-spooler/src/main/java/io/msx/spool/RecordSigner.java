package io.msx.spool;

import org.apache.kafka.common.header.Headers;

/**
 * Adds a signature of an event, as the relay sends it, to the record's headers (the value stays as spooled). Called
 * on the relay's thread for every send, retries included; must be thread-safe and fast.
 */
@FunctionalInterface
public interface RecordSigner {

    /** Signs nothing: events go out as spooled. */
    RecordSigner NONE = (key, value, headers) -> { };

    void sign(byte[] key, byte[] value, Headers headers);
}
