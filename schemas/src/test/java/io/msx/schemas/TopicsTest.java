package io.msx.schemas;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TopicsTest {

    @Test
    void shouldNameEveryTopicUnderThePrefix() {
        Topics topics = new Topics("it-1.");
        assertThat(topics.commands()).isEqualTo("it-1.commands");
        assertThat(topics.commandResults()).isEqualTo("it-1.command-results");
        assertThat(topics.status()).isEqualTo("it-1.status");
        assertThat(topics.target("T1")).isEqualTo("it-1.target.T1");
        assertThat(Topics.deadLetter(topics.commands())).isEqualTo("it-1.commands.dlq");
        assertThat(Topics.defaults().target("db-01.eu")).isEqualTo("msx.target.db-01.eu");
    }

    @Test
    void shouldRefuseTargetNamesKafkaCannotCarry() {
        assertThatThrownBy(() -> Topics.defaults().target("bad name"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("invalid target name 'bad name'");
        assertThatThrownBy(() -> Topics.defaults().target("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Topics.defaults().target("-x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Topics("a/b")).isInstanceOf(IllegalArgumentException.class);
    }
}
