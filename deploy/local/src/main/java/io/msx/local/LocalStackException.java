package io.msx.local;

/**
 * Thrown when the embedded broker or registry cannot be started or used: a port taken, a wrong Java version,
 * a missing Apicurio build, a registry that never became ready. The message says which and what to do.
 */
public class LocalStackException extends RuntimeException {

    public LocalStackException(String message) {
        super(message);
    }

    public LocalStackException(String message, Throwable cause) {
        super(message, cause);
    }
}
