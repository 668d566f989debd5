package io.msx.schemas;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class DeadLettersTest {

    private static ConsumerRecord<byte[], byte[]> record(byte[] value, RecordHeaders headers) {
        return new ConsumerRecord<>("msx.status", 3, 42L, 0L, TimestampType.CREATE_TIME, 1, value.length,
                "k".getBytes(StandardCharsets.UTF_8), value, headers, Optional.empty());
    }

    private static String header(ProducerRecord<byte[], byte[]> r, String name) {
        return r.headers().lastHeader(name) == null ? null
                : new String(r.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }

    @Test
    void shouldKeepAValueAtTheBoundWholeWithWhereItCameFromAndWhy() {
        byte[] value = new byte[DeadLetters.MAX_VALUE_BYTES];
        RecordHeaders headers = new RecordHeaders();
        headers.add(new RecordHeader("trace", new byte[] {1}));
        ProducerRecord<byte[], byte[]> dead = DeadLetters.of(record(value, headers), "bad");

        assertThat(dead.topic()).isEqualTo("msx.status.dlq");
        assertThat(dead.value()).isEqualTo(value);
        assertThat(header(dead, "trace")).isNotNull();
        assertThat(header(dead, DeadLetters.REASON_HEADER)).isEqualTo("bad");
        assertThat(header(dead, DeadLetters.PARTITION_HEADER)).isEqualTo("3");
        assertThat(header(dead, DeadLetters.OFFSET_HEADER)).isEqualTo("42");
        assertThat(header(dead, DeadLetters.ORIGINAL_BYTES_HEADER)).isNull();
    }

    @Test
    void shouldCutAValueOverTheBoundAndSayHowLargeItWas() {
        ProducerRecord<byte[], byte[]> dead = DeadLetters.of(record(new byte[DeadLetters.MAX_VALUE_BYTES + 1],
                new RecordHeaders()), "too large");

        assertThat(dead.value()).hasSize(DeadLetters.MAX_VALUE_BYTES);
        assertThat(header(dead, DeadLetters.ORIGINAL_BYTES_HEADER))
                .isEqualTo(Integer.toString(DeadLetters.MAX_VALUE_BYTES + 1));
    }

    @Test
    void shouldDropOversizedOriginalHeadersAndSaySo() {
        RecordHeaders headers = new RecordHeaders();
        headers.add(new RecordHeader("big", new byte[DeadLetters.MAX_HEADER_BYTES]));
        ProducerRecord<byte[], byte[]> dead = DeadLetters.of(record(new byte[1], headers), "x");

        assertThat(header(dead, "big")).isNull();
        assertThat(header(dead, DeadLetters.DROPPED_HEADER_BYTES_HEADER)).isEqualTo(
                Integer.toString(DeadLetters.MAX_HEADER_BYTES + 3 + DeadLetters.HEADER_OVERHEAD_BYTES));
    }

    @Test
    void shouldCountManyEmptyHeadersByWhatTheyCostOnTheWire() {
        RecordHeaders headers = new RecordHeaders();
        for (int i = 0; i < DeadLetters.MAX_HEADER_BYTES / DeadLetters.HEADER_OVERHEAD_BYTES + 1; i++) {
            headers.add(new RecordHeader("", null));
        }
        ProducerRecord<byte[], byte[]> dead = DeadLetters.of(record(new byte[1], headers), "x");

        assertThat(dead.headers().toArray()).hasSize(5); // the drop note and the four msx.dlq headers
    }
}
