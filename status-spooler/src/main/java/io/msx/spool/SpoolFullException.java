package io.msx.spool;

/**
 * The spool holds {@code spool.max.bytes} already: the event was NOT appended. The caller must keep it or report the
 * loss; the spool never drops an event silently. Clears as soon as the relay delivers events to Kafka.
 */
public class SpoolFullException extends OutboxException implements io.msx.TransientFailure {

    public SpoolFullException(String message) {
        super(message);
    }
}
