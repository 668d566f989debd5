package io.msx.spool.internal;

import io.msx.RetryPolicy;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.errors.InvalidTimestampException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;

/**
 * The relay's one decision on a failed send: a failure that concerns the record itself and will recur on every
 * attempt (too large for max.request.size or the topic's max.message.bytes, unserializable, an invalid record or
 * timestamp) dead-letters it; anything else (the broker away, timeouts, authorization, a closed producer) leaves the
 * events spooled and is retried with back-off, because it concerns the connection, not this record.
 */
final class SendFailures {

    /** What the relay does with the oldest failed event. */
    enum Decision {
        /** Move it to the dead-letter store and go on with the next event. */
        DEAD_LETTER,
        /** Keep it spooled and send it again after a back-off; nothing an operator needs to do. */
        RETRY,
        /** Keep it spooled and send it again after a back-off; a person must fix something (e.g. ACLs). */
        RETRY_ALERT
    }

    private SendFailures() {
    }

    static Decision decide(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof RecordTooLargeException || t instanceof SerializationException
                    || t instanceof InvalidRecordException || t instanceof InvalidTimestampException) {
                return Decision.DEAD_LETTER;
            }
        }
        return RetryPolicy.isTransient(failure) ? Decision.RETRY : Decision.RETRY_ALERT;
    }
}
