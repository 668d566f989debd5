package io.msx.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * The master's RocksDB memory as its stores report it, read from the master's Prometheus {@code GET /metrics} (Kafka
 * Streams' RocksDB property metrics): the block cache in use (one cache shared by every store, so every store reports
 * the same figure: the largest is taken; memtables are charged to it), and, summed over the stores, the memtables and
 * the table readers (index and filter blocks not in the cache).
 *
 * @param blockCache   bytes in use in the shared block cache, -1 when not reported
 * @param memTables    bytes of all memtables, -1 when not reported
 * @param tableReaders bytes of table readers outside the cache, -1 when not reported
 */
record RocksDbUsage(long blockCache, long memTables, long tableReaders) {

    /**
     * Scrapes until the figures are there: the master's Micrometer binder adds metrics of stores created after its
     * start once a minute.
     */
    static RocksDbUsage await(int httpPort, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        RocksDbUsage usage = scrape(httpPort);
        while (usage.blockCache() < 0 && System.nanoTime() < deadline) {
            Thread.sleep(2000);
            usage = scrape(httpPort);
        }
        return usage;
    }

    static RocksDbUsage scrape(int httpPort) {
        String body;
        try {
            HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + httpPort + "/metrics")).timeout(Duration.ofSeconds(30))
                    .build(), HttpResponse.BodyHandlers.ofString());
            body = response.body();
        } catch (Exception e) {
            return new RocksDbUsage(-1, -1, -1);
        }
        long cache = -1;
        long memTables = -1;
        long readers = -1;
        for (String line : body.split("\n")) {
            if (line.startsWith("#") || line.isBlank()) {
                continue;
            }
            int space = line.lastIndexOf(' ');
            String name = line.substring(0, Math.max(0, line.indexOf('{') > 0 ? line.indexOf('{') : space));
            long value;
            try {
                value = (long) Double.parseDouble(line.substring(space + 1));
            } catch (NumberFormatException e) {
                continue;
            }
            if (name.endsWith("block_cache_usage")) {
                cache = Math.max(cache, value);
            } else if (name.endsWith("size_all_mem_tables")) {
                memTables = Math.max(0, memTables) + value;
            } else if (name.endsWith("estimate_table_readers_mem")) {
                readers = Math.max(0, readers) + value;
            }
        }
        return new RocksDbUsage(cache, memTables, readers);
    }

    String describe() {
        if (blockCache < 0) {
            return "not reported by the master's /metrics in time";
        }
        return String.format("block cache in use %,d KiB (memtables %,d KiB charged to it), table readers outside it "
                + "%,d KiB", blockCache / 1024, memTables / 1024, tableReaders / 1024);
    }
}
