package io.msx.master.internal.console;

import io.msx.http.Principal;
import io.msx.http.Role;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;

/**
 * The console's login and forgery rules, apart from HTTP so they can be tested alone.
 *
 * <p>A login keeps the bearer token in cookie {@value #TOKEN_COOKIE} (HttpOnly, SameSite=Strict, Secure over HTTPS,
 * path {@code /console}); every request is checked with the same tokens and roles as the REST API (so a restart of
 * the master, or another instance of it, accepts it as before). Each login also gets a random nonce in cookie
 * {@value #NONCE_COOKIE}; the page carries {@code HMAC-SHA256(token, nonce)} and sends it back in header
 * {@value #CSRF_HEADER} (or form field {@value #CSRF_FIELD}) with every POST. Another site can make the browser send
 * the cookies (SameSite already stops that in current browsers) but can neither read the page nor compute the value
 * without the token, and a nonce planted by a sibling domain is useless without the matching token.
 *
 * <p>Stateless and thread-safe.
 */
public final class ConsoleSession {

    public static final String TOKEN_COOKIE = "msx_console_token";
    public static final String NONCE_COOKIE = "msx_console_nonce";
    public static final String CSRF_HEADER = "X-CSRF-Token";
    public static final String CSRF_FIELD = "_csrf";
    public static final String PATH = "/console";
    /** How long the login cookies live in the browser; the token's own validity is checked on every request. */
    public static final Duration MAX_AGE = Duration.ofHours(12);
    /** Longest token or nonce accepted; longer values are refused before any work. */
    static final int MAX_VALUE_LENGTH = 512;
    private static final String ANONYMOUS_KEY = "msx-console-anonymous";

    private final SecureRandom random;

    public ConsoleSession(SecureRandom random) {
        this.random = random;
    }

    /** A fresh nonce for a login: 128 random bits, URL-safe base64. */
    public String newNonce() {
        byte[] bytes = new byte[16];
        random.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /**
     * The anti-forgery value the page must send back: bound to the login's token (or, without tokens, to nothing
     * secret: then only the nonce cookie, which other sites cannot read, protects it).
     */
    public static String csrfToken(String token, String nonce) {
        String key = token == null || token.isEmpty() ? ANONYMOUS_KEY : token;
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(("msx-console-csrf:" + nonce)
                    .getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JVM", e);
        }
    }

    /** Whether {@code presented} is the anti-forgery value of this token and nonce (constant time). */
    public static boolean csrfValid(String token, String nonce, String presented) {
        if (nonce == null || nonce.isEmpty() || presented == null || nonce.length() > MAX_VALUE_LENGTH
                || presented.length() > MAX_VALUE_LENGTH || (token != null && token.length() > MAX_VALUE_LENGTH)) {
            return false;
        }
        return MessageDigest.isEqual(csrfToken(token, nonce).getBytes(StandardCharsets.UTF_8),
                presented.getBytes(StandardCharsets.UTF_8));
    }

    /** Whether this caller sees and may press action buttons. */
    public static boolean mayAct(Principal principal) {
        return principal != null && principal.role().includes(Role.OPERATOR);
    }

    /** A {@code Set-Cookie} value for the console's path: HttpOnly, SameSite=Strict, Secure over HTTPS. */
    public static String cookie(String name, String value, boolean https) {
        return name + "=" + value + "; Path=" + PATH + "; Max-Age=" + MAX_AGE.toSeconds() + "; HttpOnly; SameSite=Strict"
                + (https ? "; Secure" : "");
    }

    /** A {@code Set-Cookie} value that removes the cookie. */
    public static String expired(String name, boolean https) {
        return name + "=; Path=" + PATH + "; Max-Age=0; HttpOnly; SameSite=Strict" + (https ? "; Secure" : "");
    }

    /** Whether a token typed into the login form can be put into a cookie as is (the tokens msx makes can). */
    public static boolean cookieSafe(String token) {
        if (token == null || token.isEmpty() || token.length() > MAX_VALUE_LENGTH) {
            return false;
        }
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c <= 0x20 || c >= 0x7f || c == ';' || c == ',' || c == '"' || c == '\\') {
                return false;
            }
        }
        return true;
    }
}
