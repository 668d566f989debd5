package io.msx;

import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RetryPolicyTest {

    @Test
    void shouldDoubleUpToTheMaximumWithAtMostTwentyPercentJitterAndStartOverAfterReset() {
        RetryPolicy.Backoff backoff = new RetryPolicy(Duration.ofMillis(100), Duration.ofMillis(400)).backoff();
        long[] expected = {100, 200, 400, 400, 400};
        for (long full : expected) {
            assertThat(backoff.next().toMillis()).isBetween(full - full / 5, full);
        }
        assertThat(backoff.failures()).isEqualTo(5);
        backoff.reset();
        assertThat(backoff.failures()).isZero();
        assertThat(backoff.next().toMillis()).isBetween(80L, 100L);
    }

    @Test
    void shouldCallKafkaRetriableErrorsMarkedFailuresAndTheirWrappersTransientAndNothingElse() {
        assertThat(RetryPolicy.isTransient(new TimeoutException("t"))).isTrue();
        assertThat(RetryPolicy.isTransient(new NotEnoughReplicasException("r"))).isTrue();
        assertThat(RetryPolicy.isTransient(new MsxRetriableException("registry away"))).isTrue();
        assertThat(RetryPolicy.isTransient(new RuntimeException("wrapped", new TimeoutException("t")))).isTrue();
        assertThat(RetryPolicy.isTransient(new RecordTooLargeException("too big"))).isFalse();
        assertThat(RetryPolicy.isTransient(new IllegalStateException("bug"))).isFalse();
        assertThat(RetryPolicy.isTransient(null)).isFalse();
    }

    @Test
    void shouldRefuseABackoffThatCannotGrow() {
        assertThatThrownBy(() -> new RetryPolicy(Duration.ZERO, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RetryPolicy(Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
