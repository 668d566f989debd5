package io.msx.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * One master signing key per test JVM, in a temporary directory: what integration tests give masters
 * ({@link #masterSettings()}) and agents ({@link #agentSettings()}) so that every instruction is signed and checked,
 * as in production.
 */
public final class TestKeys {

    private static final Path DIR;
    private static final Path MASTER_KEY;

    static {
        try {
            DIR = Files.createTempDirectory("msx-test-keys-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        MASTER_KEY = DIR.resolve("master.key");
        Ed25519Keys.readOrCreate(MASTER_KEY);
    }

    private TestKeys() {
    }

    /** The master's private key file. */
    public static Path masterKeyFile() {
        return MASTER_KEY;
    }

    /** The master's public key file: what targets trust. */
    public static Path masterPublicKeyFile() {
        return MASTER_KEY.resolveSibling("master.key.pub");
    }

    public static Signer masterSigner() {
        return Signer.fromFile(MASTER_KEY);
    }

    /**
     * {@code signing.key.file} for a master, and {@code targets.key.acceptance=first-use}: the tests that are not
     * about key acceptance have their targets' keys accepted as they enlist.
     */
    public static Map<String, String> masterSettings() {
        return Map.of("signing.key.file", MASTER_KEY.toString(), "targets.key.acceptance", "first-use");
    }

    /** {@code trusted.keys.file} for an agent. */
    public static Map<String, String> agentSettings() {
        return Map.of("trusted.keys.file", masterPublicKeyFile().toString());
    }
}
