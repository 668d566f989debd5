package io.msx.spool.internal;

import io.msx.spool.OutboxException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Sequence numbers that stay strictly increasing across restarts. Numbers are reserved in blocks: the file holds the
 * highest reserved number, written and synced before any number of the block is used, so a restart continues after
 * the block (leaving a gap, never a repeat). Not thread-safe: callers serialize.
 */
public final class SequenceFile {

    private static final String FILE_NAME = "outbox.seq";

    private final Path file;
    private final int blockSize;
    private long next;
    private long reservedUpTo;

    public SequenceFile(Path dir, int blockSize) {
        if (blockSize < 1) {
            throw new IllegalArgumentException("blockSize must be positive: " + blockSize);
        }
        this.file = dir.resolve(FILE_NAME);
        this.blockSize = blockSize;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new OutboxException("cannot create outbox directory " + dir + ": " + e.getMessage(), e);
        }
        this.reservedUpTo = read();
        this.next = reservedUpTo + 1;
    }

    private long read() {
        if (!Files.exists(file)) {
            return 0;
        }
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8).strip();
            long value = Long.parseLong(text);
            if (value < 0) {
                throw new NumberFormatException("negative");
            }
            return value;
        } catch (IOException | NumberFormatException e) {
            throw new OutboxException("corrupt sequence file " + file + " (expected one non-negative number): "
                    + e.getMessage(), e);
        }
    }

    /** The next sequence number, reserving and syncing a new block when the current one is used up. */
    public long next() {
        if (next > reservedUpTo) {
            reserve(next + blockSize - 1);
        }
        return next++;
    }

    /** The highest number handed out so far, or 0. */
    public long last() {
        return next - 1;
    }

    private void reserve(long upTo) {
        Path tmp = file.resolveSibling(FILE_NAME + ".tmp");
        try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            channel.write(ByteBuffer.wrap(Long.toString(upTo).getBytes(StandardCharsets.UTF_8)));
            channel.force(true);
        } catch (IOException e) {
            throw new OutboxException("cannot write sequence file " + tmp + ": " + e.getMessage(), e);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new OutboxException("cannot replace sequence file " + file + ": " + e.getMessage(), e);
        }
        reservedUpTo = upTo;
    }
}
