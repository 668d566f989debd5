package io.msx.spool;

import io.msx.spool.internal.SequenceFile;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DirectOutboxTest {

    @TempDir
    Path dir;

    private static byte[] bytes(long seq) {
        return ("event-" + seq).getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void shouldSendInSequenceOrderAndTrackWhatIsUnacknowledged() {
        MockProducer<String, byte[]> producer = new MockProducer<>(false, null, new StringSerializer(), new ByteArraySerializer());
        Clock clock = Clock.fixed(Instant.parse("2026-11-25T10:00:00Z"), ZoneOffset.UTC);
        DirectOutbox outbox = new DirectOutbox(producer, "s", new SequenceFile(dir, 10), clock);

        long first = outbox.append("T1", DirectOutboxTest::bytes);
        long second = outbox.append("T1", DirectOutboxTest::bytes);

        assertThat(second).isEqualTo(first + 1);
        assertThat(producer.history()).extracting(ProducerRecord::value)
                .containsExactly(bytes(first), bytes(second));
        assertThat(outbox.stats().depth()).isEqualTo(2);
        assertThat(outbox.stats().oldestAge()).hasValue(Duration.ZERO);

        producer.completeNext();
        producer.errorNext(new RuntimeException("broker gone"));
        assertThat(outbox.stats().depth()).isZero();
        assertThat(outbox.lostEvents()).isEqualTo(1);
    }

    @Test
    void shouldNeverRepeatASequenceNumberAfterARestart() {
        SequenceFile before = new SequenceFile(dir, 5);
        long last = 0;
        for (int i = 0; i < 7; i++) {
            last = before.next();
        }
        SequenceFile after = new SequenceFile(dir, 5);
        assertThat(after.next()).isGreaterThan(last);
    }

    @Test
    void shouldRefuseACorruptSequenceFile() throws Exception {
        Files.writeString(dir.resolve("outbox.seq"), "not a number");
        assertThatThrownBy(() -> new SequenceFile(dir, 5))
                .isInstanceOf(OutboxException.class).hasMessageContaining("corrupt sequence file");
    }

    @Test
    void shouldRefuseAppendsAfterCloseAndCloseTwiceQuietly() {
        MockProducer<String, byte[]> producer = new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
        DirectOutbox outbox = new DirectOutbox(producer, "s", new SequenceFile(dir, 10), Clock.systemUTC());
        outbox.close(Duration.ofSeconds(1));
        outbox.close(Duration.ofSeconds(1));
        assertThat(producer.closed()).isTrue();
        assertThatThrownBy(() -> outbox.append("T1", DirectOutboxTest::bytes)).isInstanceOf(OutboxException.class);
    }
}
