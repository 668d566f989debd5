package io.msx.master.internal;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RecordLimitTest {

    @Test
    void shouldKeepAMarginBelowTheSmallerOfTopicAndRequestLimits() {
        assertThat(RecordLimit.of(1_048_588, 1_048_576).maxValueBytes()).isEqualTo(1_048_576 - 1024);
        assertThat(RecordLimit.of(4096, 1_048_576).maxValueBytes()).isEqualTo(3072);
    }

    @Test
    void shouldNameTheRecordItsSizeAndTheLimit() {
        RecordLimit limit = RecordLimit.of(1_048_588, 2_000_000);

        assertThat(limit.check("instruction JOB_INSERT for T1", "msx.target.T1", new byte[2_300_000]))
                .isEqualTo("instruction JOB_INSERT for T1 would be 2,300,000 bytes, over the 1,047,564-byte record "
                        + "limit of msx.target.T1");
        assertThat(limit.check("x", "t", new byte[1_047_564])).isNull();
        assertThat(limit.check("tombstone", "t", null)).isNull();
    }
}
