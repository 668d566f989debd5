package io.msx.security;

import io.msx.MsxException;

/** A key file that cannot be read, or holds no key of the expected kind. */
public class KeyFileException extends MsxException {

    public KeyFileException(String message) {
        super(message);
    }

    public KeyFileException(String message, Throwable cause) {
        super(message, cause);
    }
}
