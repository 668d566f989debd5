package io.msx.master.internal.console;

import io.msx.http.Principal;
import io.msx.http.Role;
import org.junit.jupiter.api.Test;

import java.security.SecureRandom;

import static org.assertj.core.api.Assertions.assertThat;

class ConsoleSessionTest {

    @Test
    void shouldAcceptTheAntiForgeryValueOnlyForItsTokenAndNonce() {
        String nonce = new ConsoleSession(new SecureRandom()).newNonce();
        String csrf = ConsoleSession.csrfToken("token-a", nonce);

        assertThat(ConsoleSession.csrfValid("token-a", nonce, csrf)).isTrue();
        assertThat(ConsoleSession.csrfValid("token-b", nonce, csrf)).as("another login's token").isFalse();
        assertThat(ConsoleSession.csrfValid("token-a", "other-nonce", csrf)).as("another nonce").isFalse();
        assertThat(ConsoleSession.csrfValid("token-a", nonce, null)).isFalse();
        assertThat(ConsoleSession.csrfValid("token-a", null, csrf)).isFalse();
        assertThat(ConsoleSession.csrfValid("token-a", nonce, "x".repeat(10_000))).isFalse();
    }

    @Test
    void shouldLetOnlyOperatorsActAndMarkCookiesSecureOverHttps() {
        assertThat(ConsoleSession.mayAct(new Principal("g", Role.READ))).isFalse();
        assertThat(ConsoleSession.mayAct(new Principal("o", Role.OPERATOR))).isTrue();
        assertThat(ConsoleSession.mayAct(Principal.ANONYMOUS)).isTrue();
        assertThat(ConsoleSession.cookie("c", "v", true)).contains("; Secure").contains("HttpOnly")
                .contains("SameSite=Strict");
        assertThat(ConsoleSession.cookie("c", "v", false)).doesNotContain("Secure");
        assertThat(ConsoleSession.cookieSafe("abc-DEF_123")).isTrue();
        assertThat(ConsoleSession.cookieSafe("a; Path=/")).isFalse();
        assertThat(ConsoleSession.cookieSafe("")).isFalse();
    }
}
