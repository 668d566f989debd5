package io.msx.bench;

import io.msx.security.Ed25519Keys;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

/**
 * What the benchmarks connect and sign with on the secured local stack: Kafka client settings (bootstrap servers and
 * the super-user's SASL credentials, {@code LocalStack.adminClientProperties()}) with a client's own settings over
 * them, properties files that hand settings to child JVMs, and a master key pair of the run.
 */
final class Clients {

    private Clients() {
    }

    /** {@code base} (a client's connection settings) with {@code overrides} (key, value, key, value...). */
    static Map<String, Object> with(Map<String, Object> base, Object... overrides) {
        Map<String, Object> all = new HashMap<>(base);
        for (int i = 0; i < overrides.length; i += 2) {
            all.put((String) overrides[i], overrides[i + 1]);
        }
        return all;
    }

    /** {@code kafka} with another bootstrap address (e.g. a fault-injection proxy's), same credentials. */
    static Map<String, Object> via(Map<String, Object> kafka, String bootstrapServers) {
        return with(kafka, "bootstrap.servers", bootstrapServers);
    }

    /** Writes {@code settings} to {@code file} as properties (for a child JVM). */
    static Path write(Map<String, ?> settings, Path file) {
        Properties p = new Properties();
        settings.forEach((k, v) -> p.setProperty(k, String.valueOf(v)));
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            p.store(out, "msx bench settings");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
        return file;
    }

    /** The settings {@link #write(Map, Path)} wrote. */
    static Map<String, Object> read(Path file) {
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        Map<String, Object> settings = new HashMap<>();
        p.stringPropertyNames().forEach(k -> settings.put(k, p.getProperty(k)));
        return settings;
    }

    /**
     * The run's master signing key in {@code dir}: {@code master.key}, created if absent, with its public key
     * {@code master.key.pub} beside it (what agents trust, {@link #publicKey(Path)}).
     */
    static Path masterKey(Path dir) {
        Path key = dir.resolve("master.key");
        Ed25519Keys.readOrCreate(key);
        return key;
    }

    /** The public key file beside a private key file {@link #masterKey(Path)} made. */
    static Path publicKey(Path privateKey) {
        return privateKey.resolveSibling(privateKey.getFileName() + ".pub");
    }
}
