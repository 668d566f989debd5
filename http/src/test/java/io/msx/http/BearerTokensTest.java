package io.msx.http;

import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BearerTokensTest {

    private static final String ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    @TempDir
    Path dir;

    @Test
    void shouldHashTheTokensUtf8Text() {
        assertThat(BearerTokens.sha256Hex("abc")).isEqualTo(ABC_SHA256);
    }

    @Test
    void shouldAuthenticateTokensWhoseHashIsListedSkippingCommentsAndBlankLines() throws Exception {
        Path file = Files.writeString(dir.resolve("tokens"), String.join("\n",
                "# who may call the master",
                "",
                "ops-alice operator " + ABC_SHA256.toUpperCase() + "   # upper-case hex is fine",
                "  grafana   read   " + BearerTokens.sha256Hex("xyz"),
                ""));

        BearerTokens tokens = BearerTokens.load(file);

        assertThat(tokens.size()).isEqualTo(2);
        assertThat(tokens.authenticate("abc")).contains(new Principal("ops-alice", Role.OPERATOR));
        assertThat(tokens.authenticate("xyz")).contains(new Principal("grafana", Role.READ));
        assertThat(tokens.authenticate("abd")).isEmpty();
        assertThat(tokens.authenticate("")).isEmpty();
        assertThat(tokens.authenticate(ABC_SHA256)).as("the hash is not the token").isEmpty();
    }

    @Test
    void shouldNameTheLineOfABadEntry() {
        String good = "a read " + ABC_SHA256;
        assertThatThrownBy(() -> BearerTokens.parse(List.of(good, "# c", "b operator"), "tokens.txt"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("tokens file tokens.txt line 3: expected '<name> <role> <sha256-hex>', found 2");
        assertThatThrownBy(() -> BearerTokens.parse(List.of(good, "b admin " + BearerTokens.sha256Hex("b")), "f"))
                .hasMessageContaining("line 2: unknown role 'admin' (use read or operator)");
        assertThatThrownBy(() -> BearerTokens.parse(List.of("b read s3cr3t-token-in-clear"), "f"))
                .hasMessageContaining("line 1: 's3cr3t-t...' is not a SHA-256 digest in hex")
                .hasMessageNotContaining("s3cr3t-token-in-clear");
        assertThatThrownBy(() -> BearerTokens.parse(List.of("bad/name read " + ABC_SHA256), "f"))
                .hasMessageContaining("line 1: token name 'bad/name'");
        assertThatThrownBy(() -> BearerTokens.parse(List.of(good, "a operator " + BearerTokens.sha256Hex("b")),
                "f")).hasMessageContaining("line 2: token name 'a' is already used on line 1");
        assertThatThrownBy(() -> BearerTokens.parse(List.of(good, "b operator " + ABC_SHA256), "f"))
                .hasMessageContaining("line 2: the same token hash is already on line 1");
    }

    @Test
    void shouldRefuseAFileWithoutTokensOrThatCannotBeRead() throws Exception {
        Path empty = Files.writeString(dir.resolve("empty"), "# nobody yet\n");
        assertThatThrownBy(() -> BearerTokens.load(empty)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("holds no token");
        assertThatThrownBy(() -> BearerTokens.load(dir.resolve("missing"))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("cannot read the tokens file " + dir.resolve("missing"));
    }

    @Test
    void shouldCreateATokenWhoseLineAdmitsIt() {
        BearerTokens.NewToken created = BearerTokens.create("ci-bot", Role.READ, new SecureRandom());

        assertThat(created.token()).matches("[A-Za-z0-9_-]{43}");
        assertThat(created.line()).isEqualTo("ci-bot read " + BearerTokens.sha256Hex(created.token()));
        assertThat(BearerTokens.parse(List.of(created.line()), "f").authenticate(created.token()))
                .contains(new Principal("ci-bot", Role.READ));
        assertThat(BearerTokens.create("ci-bot", Role.READ, new SecureRandom()).token())
                .isNotEqualTo(created.token());
        assertThatThrownBy(() -> BearerTokens.create("two words", Role.READ, new SecureRandom()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldOrderRoles() {
        assertThat(Role.OPERATOR.includes(Role.READ)).isTrue();
        assertThat(Role.READ.includes(Role.OPERATOR)).isFalse();
        assertThat(Role.parse("Operator")).isEqualTo(Role.OPERATOR);
    }
}
