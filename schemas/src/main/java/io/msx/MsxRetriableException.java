package io.msx;

/** A failure that may pass: a registry or broker that is down, a timeout. The caller decides how long to retry. */
public class MsxRetriableException extends MsxException implements TransientFailure {

    public MsxRetriableException(String message) {
        super(message);
    }

    public MsxRetriableException(String message, Throwable cause) {
        super(message, cause);
    }
}
