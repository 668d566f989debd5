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
        assertThat(topics.targetConsumerGroup("T1")).isEqualTo("it-1.target.T1");
        assertThat(Topics.deadLetter(topics.commands())).isEqualTo("it-1.commands.dlq");
        assertThat(Topics.defaults().target("db-01.eu")).isEqualTo("msx.target.db-01.eu");
    }

    @Test
    void shouldRefuseTargetNamesKafkaCannotCarry() {
        assertThatThrownBy(() -> Topics.defaults().target("bad name"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("invalid target name 'bad name'");
        assertThatThrownBy(() -> Topics.defaults().target("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Topics.defaults().targetConsumerGroup("bad name"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Topics.defaults().target("-x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Topics("a/b")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldRefuseNamesThatWouldCollideAsTopicsNamingTheCollision() {
        assertThat(Topics.requireValidTargetName("C.1")).isEqualTo("C.1");
        assertThatThrownBy(() -> Topics.requireValidTargetName("C_1"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'C_1' would collide with 'C.1'");
        assertThatThrownBy(() -> Topics.requireValidGroupName("db_eu"))
                .hasMessageContaining("invalid group name 'db_eu'");
        assertThatThrownBy(() -> Topics.requireValidTargetName("T1.dlq"))
                .hasMessageContaining("dead-letter topic of 'T1'");
    }

    @Test
    void shouldAcceptTheLongestNameAndRefuseOneMore() {
        String longest = "a".repeat(Topics.MAX_NAME_LENGTH);
        assertThat(Topics.defaults().target(longest)).endsWith(longest);
        assertThatThrownBy(() -> Topics.requireValidTargetName(longest + "a"))
                .hasMessageContaining("1 to 100 letters");
    }
}
