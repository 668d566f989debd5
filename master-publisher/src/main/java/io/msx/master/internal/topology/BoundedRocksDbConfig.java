package io.msx.master.internal.topology;

import org.apache.kafka.streams.state.RocksDBConfigSetter;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.Cache;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.WriteBufferManager;

import java.util.Map;

/**
 * Bounds the memory of all the master's RocksDB stores together (Kafka Streams' "bounded memory" recipe): one LRU
 * block cache of {@value #TOTAL_OFF_HEAP_BYTES} bytes shared by every store, with memtables counted against it (at
 * most {@value #TOTAL_MEMTABLE_BYTES}) and index and filter blocks inside it, so the off-heap use does not grow with
 * the number of stores or targets.
 */
public final class BoundedRocksDbConfig implements RocksDBConfigSetter {

    static final long TOTAL_OFF_HEAP_BYTES = 64L * 1024 * 1024;
    static final long TOTAL_MEMTABLE_BYTES = 16L * 1024 * 1024;
    static final long MEMTABLE_BYTES = 4L * 1024 * 1024;

    private static final Cache CACHE = new LRUCache(TOTAL_OFF_HEAP_BYTES, -1, false, 0.1);
    private static final WriteBufferManager WRITE_BUFFERS = new WriteBufferManager(TOTAL_MEMTABLE_BYTES, CACHE);

    @Override
    public void setConfig(String storeName, Options options, Map<String, Object> configs) {
        BlockBasedTableConfig table = (BlockBasedTableConfig) options.tableFormatConfig();
        table.setBlockCache(CACHE);
        table.setCacheIndexAndFilterBlocks(true);
        table.setCacheIndexAndFilterBlocksWithHighPriority(true);
        table.setPinTopLevelIndexAndFilter(true);
        options.setWriteBufferManager(WRITE_BUFFERS);
        options.setWriteBufferSize(MEMTABLE_BYTES);
        options.setMaxWriteBufferNumber(2);
        options.setTableFormatConfig(table);
    }

    @Override
    public void close(String storeName, Options options) {
        // the cache and the write buffer manager are shared by every store: never closed here
    }
}
