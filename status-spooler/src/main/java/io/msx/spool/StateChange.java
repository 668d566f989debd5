package io.msx.spool;

/**
 * A change to the caller's own state in one of the spool's state column families (see
 * {@code spool.state.column.families}), written in the same RocksDB batch as an event, so that the two are durable
 * together or not at all.
 */
public sealed interface StateChange {

    /** The state column family changed. */
    String columnFamily();

    record Put(String columnFamily, byte[] key, byte[] value) implements StateChange {
    }

    record Delete(String columnFamily, byte[] key) implements StateChange {
    }
}
