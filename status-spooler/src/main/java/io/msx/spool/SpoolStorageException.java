package io.msx.spool;

/**
 * The spool directory cannot be used: held by another process, corrupt, or not a spool at all. Raised when the spool
 * opens, never later, and names the directory and what to do.
 */
public class SpoolStorageException extends OutboxException {

    public SpoolStorageException(String message) {
        super(message);
    }

    public SpoolStorageException(String message, Throwable cause) {
        super(message, cause);
    }
}
