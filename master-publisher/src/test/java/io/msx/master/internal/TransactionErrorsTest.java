package io.msx.master.internal;

import io.msx.schemas.SchemaRegistryException;
import io.msx.schemas.SchemaRegistryUnavailableException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class TransactionErrorsTest {

    private static KafkaException errorState(Throwable cause) {
        return new KafkaException("Cannot execute transactional method because we are in an error state", cause);
    }

    @Test
    void shouldClassifyByTheWholeCauseChain() {
        assertThat(TransactionErrors.classify(errorState(new RecordTooLargeException("too large"))))
                .isEqualTo(TransactionErrors.Kind.REFUSED);
        assertThat(TransactionErrors.classify(new KafkaException("invalid record")))
                .isEqualTo(TransactionErrors.Kind.REFUSED);
        assertThat(TransactionErrors.classify(errorState(new TimeoutException("slow"))))
                .isEqualTo(TransactionErrors.Kind.RETRIABLE);
        assertThat(TransactionErrors.classify(new SchemaRegistryUnavailableException("down", null)))
                .isEqualTo(TransactionErrors.Kind.RETRIABLE);
        assertThat(TransactionErrors.classify(new SchemaRegistryException("unauthorized", 401, 40101)))
                .isEqualTo(TransactionErrors.Kind.RETRIABLE);
        assertThat(TransactionErrors.classify(new ProducerFencedException("fenced")))
                .isEqualTo(TransactionErrors.Kind.FATAL);
        assertThat(TransactionErrors.classify(errorState(new TopicAuthorizationException("no"))))
                .isEqualTo(TransactionErrors.Kind.FATAL);
        assertThat(TransactionErrors.classify(new IllegalStateException("bug")))
                .isEqualTo(TransactionErrors.Kind.UNEXPECTED);
    }

    @Test
    void shouldDescribeTheCauseInOneLine() {
        KafkaException error = errorState(new RecordTooLargeException("The message is 2000000 bytes"));

        assertThat(TransactionErrors.describe(error)).isEqualTo("org.apache.kafka.common.KafkaException: Cannot "
                + "execute transactional method because we are in an error state; caused by "
                + "org.apache.kafka.common.errors.RecordTooLargeException: The message is 2000000 bytes");
        assertThat(TransactionErrors.rootCause(error)).isInstanceOf(RecordTooLargeException.class);
    }
}
