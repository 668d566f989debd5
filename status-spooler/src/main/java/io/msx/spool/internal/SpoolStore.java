package io.msx.spool.internal;

import io.msx.spool.SpoolStorageException;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * The spool's RocksDB store: column family {@code events} (sequence number to event), {@code dead} (sequence number
 * to a dead letter: an event Kafka refused for good), the owner's state column families, and the default column
 * family for metadata (a format marker, the last sequence number written, updated in the same batch as the events,
 * and the number of events ever dead-lettered). Appends and dead-lettering are written synced (WAL on); deletions of
 * delivered events are not synced, because a deletion lost in a crash only makes the relay send an event again,
 * which the receiver ignores by its sequence number.
 *
 * <p>Thread-safe for one writer and one relay thread. Every operation checks the store is open.
 */
public final class SpoolStore implements AutoCloseable {

    static final byte[] FORMAT_KEY = "format".getBytes(StandardCharsets.UTF_8);
    static final byte[] FORMAT = "msx-spool/1".getBytes(StandardCharsets.UTF_8);
    static final byte[] LAST_SEQ_KEY = "last.seq".getBytes(StandardCharsets.UTF_8);
    static final byte[] DEAD_COUNT_KEY = "dead.lettered".getBytes(StandardCharsets.UTF_8);
    /** Column families of the spool itself; state column families may not use these names. */
    static final List<String> RESERVED_FAMILIES = List.of("default", "events", "dead");

    static {
        RocksDB.loadLibrary();
    }

    private final Path dir;
    private final DBOptions dbOptions;
    private final ColumnFamilyOptions cfOptions;
    private final WriteOptions syncWrite;
    private final WriteOptions asyncWrite;
    private final List<ColumnFamilyHandle> handles;
    private final RocksDB db;
    private final ColumnFamilyHandle meta;
    private final ColumnFamilyHandle events;
    private final ColumnFamilyHandle dead;
    private final java.util.Map<String, ColumnFamilyHandle> state;
    private final AtomicBoolean closed = new AtomicBoolean();
    // written by the relay thread only (the one caller of deadLetter), read by any
    private final java.util.concurrent.atomic.AtomicLong deadLettered = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong deadBytes = new java.util.concurrent.atomic.AtomicLong();

    private SpoolStore(Path dir, DBOptions dbOptions, ColumnFamilyOptions cfOptions, List<ColumnFamilyHandle> handles,
                       List<String> names, RocksDB db) {
        this.dir = dir;
        this.dbOptions = dbOptions;
        this.cfOptions = cfOptions;
        this.handles = handles;
        this.db = db;
        this.meta = handles.get(0);
        this.events = handles.get(1);
        this.dead = handles.get(2);
        this.state = new java.util.HashMap<>();
        for (int i = RESERVED_FAMILIES.size(); i < handles.size(); i++) {
            state.put(names.get(i), handles.get(i));
        }
        this.syncWrite = new WriteOptions().setSync(true);
        this.asyncWrite = new WriteOptions().setSync(false);
    }

    /**
     * Opens the store in {@code dir} (which the caller has locked), creating it when the directory holds nothing but
     * the lock file.
     *
     * @throws SpoolStorageException when the directory holds something else, or a store that is corrupt or not a spool
     */
    public static SpoolStore open(Path dir, List<String> stateColumnFamilies) {
        boolean fresh = isFresh(dir);
        DBOptions dbOptions = new DBOptions().setCreateIfMissing(fresh).setCreateMissingColumnFamilies(true)
                .setParanoidChecks(true);
        ColumnFamilyOptions cfOptions = new ColumnFamilyOptions();
        List<ColumnFamilyHandle> handles = new ArrayList<>();
        // a spool created before the dead-letter store gets its column family added at open
        List<String> names = new ArrayList<>(RESERVED_FAMILIES);
        for (String cf : stateColumnFamilies) {
            if (names.contains(cf)) {
                throw new SpoolStorageException("state column family name '" + cf + "' is reserved by the spool");
            }
            names.add(cf);
        }
        if (!fresh) {
            // RocksDB opens only with every column family it has: keep ones this version does not name.
            try (org.rocksdb.Options listOptions = new org.rocksdb.Options()) {
                List<String> existing = new ArrayList<>();
                for (byte[] cf : RocksDB.listColumnFamilies(listOptions, dir.toString())) {
                    existing.add(new String(cf, StandardCharsets.UTF_8));
                }
                if (existing.isEmpty()) {
                    throw new SpoolStorageException("spool directory " + dir + " holds no readable msx spool (its "
                            + "column families cannot be listed: CURRENT or MANIFEST damaged); move it away or point "
                            + "spool.dir elsewhere");
                }
                if (!existing.contains("events")) {
                    // refuse before opening: opening would add our column families to someone else's store
                    throw new SpoolStorageException("spool directory " + dir + " holds a RocksDB store that is not "
                            + "an msx spool (no events column family); move it away or point spool.dir elsewhere");
                }
                existing.stream().filter(name -> !names.contains(name)).forEach(names::add);
            } catch (RocksDBException e) {
                throw new SpoolStorageException("spool directory " + dir + " holds no readable msx spool ("
                        + e.getMessage() + "); move it away or point spool.dir elsewhere", e);
            }
        }
        List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
        for (String name : names) {
            descriptors.add(new ColumnFamilyDescriptor(name.equals("default") ? RocksDB.DEFAULT_COLUMN_FAMILY
                    : name.getBytes(StandardCharsets.UTF_8), cfOptions));
        }
        RocksDB db;
        try {
            db = RocksDB.open(dbOptions, dir.toString(), descriptors, handles);
        } catch (RocksDBException e) {
            handles.forEach(ColumnFamilyHandle::close);
            cfOptions.close();
            dbOptions.close();
            throw new SpoolStorageException("spool directory " + dir + " holds no readable msx spool ("
                    + e.getMessage() + "); move it away or point spool.dir elsewhere", e);
        }
        SpoolStore store = new SpoolStore(dir, dbOptions, cfOptions, handles, names, db);
        try {
            if (fresh) {
                db.put(store.meta, store.syncWrite, FORMAT_KEY, FORMAT);
            } else {
                byte[] count = db.get(store.meta, DEAD_COUNT_KEY);
                store.deadLettered.set(count == null ? 0 : ByteBuffer.wrap(count).getLong());
                try (RocksIterator it = db.newIterator(store.dead)) {
                    for (it.seekToFirst(); it.isValid(); it.next()) {
                        store.deadBytes.addAndGet(it.key().length + it.value().length);
                    }
                }
                byte[] format = db.get(store.meta, FORMAT_KEY);
                if (format == null || !java.util.Arrays.equals(format, FORMAT)) {
                    throw new SpoolStorageException("spool directory " + dir + " holds a RocksDB store that is not an "
                            + "msx spool (format marker " + (format == null ? "missing"
                            : "'" + new String(format, StandardCharsets.UTF_8) + "'") + ")");
                }
            }
        } catch (RocksDBException e) {
            store.close();
            throw new SpoolStorageException("cannot read spool metadata in " + dir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
        return store;
    }

    /** True when the directory holds nothing but our lock file. */
    private static boolean isFresh(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            Set<String> names = new java.util.HashSet<>(files.map(p -> p.getFileName().toString()).toList());
            names.remove(DirectoryLock.FILE_NAME);
            if (names.isEmpty()) {
                return true;
            }
            if (!names.contains("CURRENT")) {
                throw new SpoolStorageException("spool directory " + dir + " is not empty and holds no spool (found "
                        + names.stream().sorted().limit(5).toList() + "); move it away or point spool.dir elsewhere");
            }
            return false;
        } catch (IOException e) {
            throw new SpoolStorageException("cannot list spool directory " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The last sequence number ever written, or 0. */
    public long lastSeq() {
        checkOpen();
        try {
            byte[] value = db.get(meta, LAST_SEQ_KEY);
            return value == null ? 0 : ByteBuffer.wrap(value).getLong();
        } catch (RocksDBException e) {
            throw new SpoolStorageException("cannot read the last sequence number in " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes events (in sequence order, null for a state-only write), their state changes, and the new last
     * sequence number in one synced batch.
     */
    public void append(List<SpooledEvent> batch, List<List<io.msx.spool.StateChange>> changes) {
        checkOpen();
        try (WriteBatch write = new WriteBatch()) {
            long last = -1;
            for (int i = 0; i < batch.size(); i++) {
                SpooledEvent event = batch.get(i);
                if (event != null) {
                    write.put(events, SpooledEvent.seqKey(event.seq()), event.encodeValue());
                    last = event.seq();
                }
                for (io.msx.spool.StateChange change : changes.get(i)) {
                    ColumnFamilyHandle cf = stateFamily(change.columnFamily());
                    if (change instanceof io.msx.spool.StateChange.Put put) {
                        write.put(cf, put.key(), put.value());
                    } else if (change instanceof io.msx.spool.StateChange.Delete delete) {
                        write.delete(cf, delete.key());
                    }
                }
            }
            if (last >= 0) {
                write.put(meta, LAST_SEQ_KEY, SpooledEvent.seqKey(last));
            }
            db.write(syncWrite, write);
        } catch (RocksDBException e) {
            throw new SpoolStorageException("cannot write to spool " + dir + ": " + e.getMessage(), e);
        }
    }

    private ColumnFamilyHandle stateFamily(String name) {
        ColumnFamilyHandle cf = state.get(name);
        if (cf == null) {
            throw new SpoolStorageException("no state column family '" + name + "' (declare it in "
                    + "spool.state.column.families)");
        }
        return cf;
    }

    /** True when {@code name} is one of the owner's state column families. */
    public boolean hasStateFamily(String name) {
        return state.containsKey(name);
    }

    /** One value of the owner's state, or null. */
    public byte[] stateGet(String columnFamily, byte[] key) {
        checkOpen();
        try {
            return db.get(stateFamily(columnFamily), key);
        } catch (RocksDBException e) {
            throw new SpoolStorageException("cannot read state " + columnFamily + " in " + dir + ": "
                    + e.getMessage(), e);
        }
    }

    /** Every entry of a state column family, in key order. */
    public void stateForEach(String columnFamily, java.util.function.BiConsumer<byte[], byte[]> action) {
        checkOpen();
        try (RocksIterator it = db.newIterator(stateFamily(columnFamily))) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
                action.accept(it.key(), it.value());
            }
        }
    }

    /** Up to {@code max} of the oldest events, in sequence order. */
    public List<SpooledEvent> oldest(int max) {
        checkOpen();
        List<SpooledEvent> out = new ArrayList<>(Math.min(max, 1024));
        try (RocksIterator it = db.newIterator(events)) {
            for (it.seekToFirst(); it.isValid() && out.size() < max; it.next()) {
                out.add(SpooledEvent.decode(it.key(), it.value()));
            }
        }
        return out;
    }

    /** Deletes events with sequence numbers in [from, toExclusive). */
    public void deleteRange(long from, long toExclusive) {
        checkOpen();
        try {
            db.deleteRange(events, asyncWrite, SpooledEvent.seqKey(from), SpooledEvent.seqKey(toExclusive));
        } catch (RocksDBException e) {
            throw new SpoolStorageException("cannot delete sent events from spool " + dir + ": " + e.getMessage(), e);
        }
    }

    /** What {@link #deadLetter} did: the dead letter's stored size and what was evicted to make room for it. */
    public record DeadLettering(long storedBytes, int evicted, long evictedBytes, long totalDeadLettered) {
    }

    /**
     * Moves one event from {@code events} to {@code dead} in one synced batch, with its reason, and counts it in the
     * persisted dead-letter counter. When the dead-letter store would exceed {@code maxBytes}, its oldest entries are
     * deleted in the same batch until the new one fits (the newest is always kept, even alone above the bound).
     */
    public DeadLettering deadLetter(SpooledEvent event, String reason, long deadLetteredAtMillis, int valueMaxBytes,
                                    long maxBytes) {
        checkOpen();
        byte[] key = SpooledEvent.seqKey(event.seq());
        byte[] value = DeadLetterFormat.encode(event, reason, deadLetteredAtMillis, valueMaxBytes);
        long size = key.length + value.length;
        long held = deadBytes.get();
        int evicted = 0;
        long evictedBytes = 0;
        try (WriteBatch write = new WriteBatch(); RocksIterator it = db.newIterator(dead)) {
            for (it.seekToFirst(); it.isValid() && held - evictedBytes + size > maxBytes; it.next()) {
                write.delete(dead, it.key());
                evicted++;
                evictedBytes += it.key().length + it.value().length;
            }
            long total = deadLettered.get() + 1;
            write.delete(events, key);
            write.put(dead, key, value);
            write.put(meta, DEAD_COUNT_KEY, SpooledEvent.seqKey(total));
            db.write(syncWrite, write);
            deadLettered.set(total);
            deadBytes.addAndGet(size - evictedBytes);
            return new DeadLettering(size, evicted, evictedBytes, total);
        } catch (RocksDBException e) {
            throw new SpoolStorageException("cannot dead-letter event " + event.seq() + " in spool " + dir + ": "
                    + e.getMessage(), e);
        }
    }

    /** Up to {@code max} of the oldest dead letters, in sequence order. */
    public List<io.msx.spool.DeadLetter> deadLetters(int max) {
        checkOpen();
        List<io.msx.spool.DeadLetter> out = new ArrayList<>();
        try (RocksIterator it = db.newIterator(dead)) {
            for (it.seekToFirst(); it.isValid() && out.size() < max; it.next()) {
                out.add(DeadLetterFormat.decode(it.key(), it.value()));
            }
        }
        return out;
    }

    /** Events dead-lettered since the store was created (evicted ones included). */
    public long deadLetteredCount() {
        return deadLettered.get();
    }

    /** Bytes held by the dead-letter store, counted against {@code spool.dead.letter.max.bytes}. */
    public long deadLetterBytes() {
        return deadBytes.get();
    }

    /** Reads every event once (validating each) and returns their count and bytes. */
    public long[] scan() {
        checkOpen();
        long count = 0;
        long bytes = 0;
        try (RocksIterator it = db.newIterator(events)) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
                SpooledEvent event = SpooledEvent.decode(it.key(), it.value());
                count++;
                bytes += event.size();
            }
        }
        return new long[] {count, bytes};
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new SpoolStorageException("spool store " + dir + " is closed");
        }
    }

    /** Closes in dependency order: write options, column families, the database, then its options. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        syncWrite.close();
        asyncWrite.close();
        handles.forEach(ColumnFamilyHandle::close);
        db.close();
        cfOptions.close();
        dbOptions.close();
    }
}
