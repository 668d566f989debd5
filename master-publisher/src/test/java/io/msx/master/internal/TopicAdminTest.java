package io.msx.master.internal;

import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static java.util.Map.entry;
import static org.assertj.core.api.Assertions.assertThat;

class TopicAdminTest {

    /** Only the settings are asked for: no Admin client needed. */
    private final TopicAdmin admin = new TopicAdmin(null, (short) -1, 2_000_000, Duration.ofSeconds(30), -1);

    @Test
    void shouldCreateTargetTopicsAndTheirDeadLetterTopicsWithExplicitRetention() {
        assertThat(admin.targetTopicConfigs()).containsOnly(
                entry(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE),
                entry(TopicConfig.RETENTION_MS_CONFIG, "30000"),
                entry(TopicConfig.RETENTION_BYTES_CONFIG, "-1"),
                entry(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, "2000000"));
        assertThat(admin.targetDeadLetterConfigs()).containsOnly(
                entry(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE),
                entry(TopicConfig.RETENTION_MS_CONFIG, "30000"),
                entry(TopicConfig.RETENTION_BYTES_CONFIG, "-1"));
    }
}
