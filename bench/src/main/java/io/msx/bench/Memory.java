package io.msx.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;

/** This JVM's memory as the kernel and the heap see it, read after a full GC. */
final class Memory {

    /**
     * @param rss           resident set size (VmRSS of /proc/self/status), bytes: heap, native (RocksDB), stacks, ...
     * @param rssAnon       its anonymous part (RssAnon), bytes, -1 when the kernel does not tell
     * @param heapUsed      heap in use after the GC, bytes
     * @param heapCommitted heap the JVM holds, bytes
     */
    record Point(long rss, long rssAnon, long heapUsed, long heapCommitted) {

        String describe() {
            return String.format("RSS %,d KiB (anon %,d KiB), heap used %,d KiB of %,d KiB committed", rss / 1024,
                    rssAnon / 1024, heapUsed / 1024, heapCommitted / 1024);
        }
    }

    private Memory() {
    }

    /** Runs full GCs, lets the JVM give back what it frees, then reads RSS and heap. */
    static Point afterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        try {
            Thread.sleep(500);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        return new Point(status("VmRSS:"), status("RssAnon:"), heap.getUsed(), heap.getCommitted());
    }

    /** A {@code kB} field of /proc/self/status, in bytes; -1 when absent. */
    private static long status(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.substring(field.length()).replace("kB", "").trim()) * 1024;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read /proc/self/status (Linux only)", e);
        }
        return -1;
    }
}
