package io.msx;

/**
 * Root of every msx exception. Subclasses of {@link MsxRetriableException} may succeed when tried again; every other
 * msx exception will fail the same way again.
 */
public class MsxException extends RuntimeException {

    public MsxException(String message) {
        super(message);
    }

    public MsxException(String message, Throwable cause) {
        super(message, cause);
    }
}
