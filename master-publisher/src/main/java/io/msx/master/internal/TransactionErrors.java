package io.msx.master.internal;

import io.msx.MsxRetriableException;
import io.msx.schemas.SchemaRegistryException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TransactionAbortableException;
import org.apache.kafka.common.errors.TransactionAbortedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * How the command loop treats an exception from one Kafka transaction. The transactional producer reports a failed
 * send at the next send or at commit as a {@link KafkaException} ("... in an error state") whose cause is the real
 * error, so the whole cause chain is looked at.
 */
final class TransactionErrors {

    /** What to do after an exception. */
    enum Kind {
        /** This master cannot go on: fenced by another, or refused by the broker's security. Stop the loop. */
        FATAL,
        /**
         * May pass, and not a command's fault (a broker or registry that cannot be reached, or a registry refusing
         * the master): abort, reload, back off and run the same commands again.
         */
        RETRIABLE,
        /** The broker refused a record for good (too large, invalid): the command that wrote it must be rejected. */
        REFUSED,
        /** Not a Kafka or retriable msx error (a bug), or an interrupt: abort and stop the loop. */
        UNEXPECTED
    }

    private TransactionErrors() {
    }

    static Kind classify(Throwable error) {
        boolean kafka = false;
        boolean retriable = false;
        for (Throwable t : chain(error)) {
            if (t instanceof ProducerFencedException || t instanceof FencedInstanceIdException
                    || t instanceof AuthorizationException || t instanceof AuthenticationException
                    || t instanceof UnsupportedVersionException) {
                return Kind.FATAL;
            }
            if (t instanceof InterruptException || t instanceof InterruptedException) {
                return Kind.UNEXPECTED;
            }
            retriable |= t instanceof RetriableException || t instanceof MsxRetriableException
                    || t instanceof SchemaRegistryException
                    || t instanceof InvalidProducerEpochException || t instanceof TransactionAbortableException
                    || t instanceof TransactionAbortedException;
            kafka |= t instanceof KafkaException;
        }
        if (retriable) {
            return Kind.RETRIABLE;
        }
        return kafka ? Kind.REFUSED : Kind.UNEXPECTED;
    }

    /** The error and every cause, innermost last, for one log line: {@code A: x; caused by B: y}. */
    static String describe(Throwable error) {
        StringBuilder text = new StringBuilder();
        for (Throwable t : chain(error)) {
            text.append(text.length() == 0 ? "" : "; caused by ").append(t);
        }
        return text.toString();
    }

    /** The innermost cause, which names what Kafka refused. */
    static Throwable rootCause(Throwable error) {
        List<Throwable> chain = chain(error);
        return chain.get(chain.size() - 1);
    }

    private static List<Throwable> chain(Throwable error) {
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        List<Throwable> chain = new ArrayList<>();
        for (Throwable t = error; t != null && seen.put(t, Boolean.TRUE) == null; t = t.getCause()) {
            chain.add(t);
        }
        return chain;
    }
}
