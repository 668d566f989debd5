package io.msx.http;

import org.apache.kafka.common.config.ConfigException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The server's key and certificate chain: a keystore file, its password (also the key's) and type.
 *
 * <p>Immutable; {@link #load()} reads the file each time it is called.
 */
public record TlsKeyStore(Path path, String password, String type) {

    /**
     * Reads the keystore and checks it holds a private key with its certificate chain.
     *
     * @throws ConfigException naming the file and what is wrong (missing, wrong password or type, no key)
     */
    public KeyStore load() {
        KeyStore store;
        try {
            store = KeyStore.getInstance(type);
        } catch (GeneralSecurityException e) {
            throw new ConfigException("keystore type '" + type + "' is not supported by this JVM (use PKCS12 or "
                    + "JKS)");
        }
        try (InputStream in = Files.newInputStream(path)) {
            store.load(in, password.toCharArray());
        } catch (NoSuchFileException e) {
            throw new ConfigException("the TLS keystore " + path + " does not exist");
        } catch (IOException | GeneralSecurityException e) {
            throw new ConfigException("cannot open the TLS keystore " + path + " as " + type + " (wrong password, "
                    + "or not a " + type + " keystore?): " + e.getMessage());
        }
        try {
            for (String alias : Collections.list(store.aliases())) {
                if (store.isKeyEntry(alias) && store.getCertificateChain(alias) != null) {
                    return store;
                }
            }
        } catch (GeneralSecurityException e) {
            throw new ConfigException("cannot read the TLS keystore " + path + ": " + e.getMessage());
        }
        throw new ConfigException("the TLS keystore " + path + " holds no private key with a certificate chain");
    }

    /**
     * Every certificate of every key entry's chain: what another instance serving with a key from the same CA is
     * trusted by (see {@link ClientTls#trusting(List)}).
     */
    public List<X509Certificate> chainCertificates() {
        KeyStore store = load();
        List<X509Certificate> certificates = new ArrayList<>();
        try {
            for (String alias : Collections.list(store.aliases())) {
                Certificate[] chain = store.isKeyEntry(alias) ? store.getCertificateChain(alias) : null;
                if (chain != null) {
                    for (Certificate c : chain) {
                        certificates.add((X509Certificate) c);
                    }
                }
            }
        } catch (GeneralSecurityException e) {
            throw new ConfigException("cannot read the TLS keystore " + path + ": " + e.getMessage());
        }
        return certificates;
    }

    @Override
    public String toString() {
        return "TlsKeyStore[" + path + ", " + type + "]";
    }
}
