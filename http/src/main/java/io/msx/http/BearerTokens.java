package io.msx.http;

import org.apache.kafka.common.config.ConfigException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The bearer tokens a server accepts, from a tokens file of lines {@code <name> <role> <sha256-hex>}: the token's
 * name (shown as who issued a command), its role ({@code read} or {@code operator}) and the SHA-256 of the token's
 * UTF-8 text in hex. {@code #} starts a comment; blank lines are skipped. The file holds only hashes, so it is not a
 * secret; {@link #create} makes a token and its line. A token is checked by hashing it and comparing the digest with
 * every entry in constant time ({@link MessageDigest#isEqual}).
 *
 * <p>Immutable and thread-safe; {@link #authenticate} never blocks.
 */
public final class BearerTokens {

    /** Token names: what {@code issuedBy} shows, so no spaces and nothing a log line could be confused by. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@-]{0,63}");
    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-fA-F]{64}");
    /** Random bytes in a token {@link #create} makes. */
    public static final int TOKEN_BYTES = 32;

    private record Entry(Principal principal, byte[] digest) {
    }

    /** A new token and the line that admits it. */
    public record NewToken(String token, String line) {
    }

    private final List<Entry> entries;
    private final String source;

    private BearerTokens(List<Entry> entries, String source) {
        this.entries = List.copyOf(entries);
        this.source = source;
    }

    /**
     * Reads a tokens file.
     *
     * @throws ConfigException naming the file, and the line number for a bad line
     */
    public static BearerTokens load(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException("cannot read the tokens file " + file + ": " + e);
        }
        return parse(lines, file.toString());
    }

    /**
     * Parses the lines of a tokens file.
     *
     * @param source names the file in error messages
     * @throws ConfigException naming {@code source} and the line number of a bad line (or that there is no token)
     */
    public static BearerTokens parse(List<String> lines, String source) {
        List<Entry> entries = new ArrayList<>();
        Map<String, Integer> names = new HashMap<>();
        Map<String, Integer> digests = new HashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            int number = i + 1;
            String line = lines.get(i);
            int comment = line.indexOf('#');
            String content = (comment >= 0 ? line.substring(0, comment) : line).strip();
            if (content.isEmpty()) {
                continue;
            }
            String[] fields = content.split("\\s+");
            if (fields.length != 3) {
                throw bad(source, number, "expected '<name> <role> <sha256-hex>', found " + fields.length
                        + " field(s)");
            }
            String name = fields[0];
            if (!NAME.matcher(name).matches()) {
                throw bad(source, number, "token name '" + name + "' must be 1-64 letters, digits, '.', '_', '@' "
                        + "or '-', starting with a letter or digit");
            }
            Role role;
            try {
                role = Role.parse(fields[1]);
            } catch (IllegalArgumentException e) {
                throw bad(source, number, e.getMessage());
            }
            if (!SHA256_HEX.matcher(fields[2]).matches()) {
                throw bad(source, number, "'" + abbreviate(fields[2]) + "' is not a SHA-256 digest in hex (64 hex "
                        + "digits; the token itself does not belong in this file)");
            }
            String hex = fields[2].toLowerCase(java.util.Locale.ROOT);
            Integer before = names.putIfAbsent(name, number);
            if (before != null) {
                throw bad(source, number, "token name '" + name + "' is already used on line " + before);
            }
            before = digests.putIfAbsent(hex, number);
            if (before != null) {
                throw bad(source, number, "the same token hash is already on line " + before);
            }
            entries.add(new Entry(new Principal(name, role), HexFormat.of().parseHex(hex)));
        }
        if (entries.isEmpty()) {
            throw new ConfigException("the tokens file " + source + " holds no token: add lines '<name> <role> "
                    + "<sha256-hex>' (msx token create prints them)");
        }
        return new BearerTokens(entries, source);
    }

    private static ConfigException bad(String source, int line, String problem) {
        return new ConfigException("tokens file " + source + " line " + line + ": " + problem);
    }

    private static String abbreviate(String value) {
        return value.length() > 12 ? value.substring(0, 8) + "..." : value;
    }

    /**
     * The principal a token stands for. Every entry is compared, so the time taken does not say which one matched.
     *
     * @return empty when no entry has the token's hash
     */
    public Optional<Principal> authenticate(String token) {
        byte[] digest = sha256(token);
        Principal found = null;
        for (Entry entry : entries) {
            if (MessageDigest.isEqual(entry.digest(), digest) && found == null) {
                found = entry.principal();
            }
        }
        return Optional.ofNullable(found);
    }

    /** How many tokens the file admits. */
    public int size() {
        return entries.size();
    }

    /** The file the tokens came from. */
    public String source() {
        return source;
    }

    /** The SHA-256 of a token's UTF-8 text, in lower-case hex: the third field of its line. */
    public static String sha256Hex(String token) {
        return HexFormat.of().formatHex(sha256(token));
    }

    /**
     * A new random token ({@value #TOKEN_BYTES} bytes, base64url without padding) and its tokens-file line.
     *
     * @throws IllegalArgumentException when the name is not a valid token name
     */
    public static NewToken create(String name, Role role, SecureRandom random) {
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("token name '" + name + "' must be 1-64 letters, digits, '.', '_', "
                    + "'@' or '-', starting with a letter or digit");
        }
        byte[] bytes = new byte[TOKEN_BYTES];
        random.nextBytes(bytes);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        return new NewToken(token, name + " " + role.wireName() + " " + sha256Hex(token));
    }

    private static byte[] sha256(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }

    @Override
    public String toString() {
        return "BearerTokens[" + entries.size() + " from " + source + "]";
    }
}
