package io.msx.spool;

import io.msx.MsxException;

/** An outbox refused an event (closed, full, or its storage failed). The event was not appended. */
public class OutboxException extends MsxException {

    public OutboxException(String message) {
        super(message);
    }

    public OutboxException(String message, Throwable cause) {
        super(message, cause);
    }
}
