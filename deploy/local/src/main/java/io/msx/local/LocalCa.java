package io.msx.local;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;

/**
 * A throw-away certificate authority for the local stack and tests: a self-signed CA (EC P-256) that issues server
 * certificates, written as a PKCS12 keystore (key + chain, what {@code http.tls.keystore.path} takes) and the CA as
 * PEM (what {@code msx --ca-file} takes). Never for production: the CA key lives only in this object.
 *
 * <p>Thread-safe (immutable after creation).
 */
public final class LocalCa {

    /** Names every local server answers on. */
    public static final List<String> LOCAL_NAMES = List.of("localhost", "127.0.0.1");

    private static final Duration CA_VALIDITY = Duration.ofDays(3650);
    private static final Duration SERVER_VALIDITY = Duration.ofDays(397);
    /** Certificates start an hour back, so a clock a little behind still accepts them. */
    private static final Duration BACKDATE = Duration.ofHours(1);
    private static final String SIGNATURE = "SHA256withECDSA";

    private final SecureRandom random = new SecureRandom();
    private final KeyPair caKeys;
    private final X509Certificate caCertificate;

    private LocalCa(KeyPair caKeys, X509Certificate caCertificate) {
        this.caKeys = caKeys;
        this.caCertificate = caCertificate;
    }

    /** What {@link #writeServerFiles} wrote: the keystore and its settings, and the CA to trust. */
    public record ServerFiles(Path keystore, String password, String type, Path caPem) {
    }

    /**
     * A new CA named {@code CN=<name>}.
     *
     * @throws LocalStackException when the JDK cannot make EC keys or sign
     */
    public static LocalCa create(String name) {
        try {
            KeyPair keys = ecKeys();
            Instant now = Instant.now();
            X500Name subject = new X500Name("CN=" + name);
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, serial(new SecureRandom()),
                    Date.from(now.minus(BACKDATE)), Date.from(now.plus(CA_VALIDITY)), subject, keys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            ext.createSubjectKeyIdentifier(keys.getPublic()));
            return new LocalCa(keys, sign(builder, keys));
        } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
            throw new LocalStackException("cannot create the local CA '" + name + "': " + e.getMessage(), e);
        }
    }

    public X509Certificate certificate() {
        return caCertificate;
    }

    /** A server key pair and its certificate, valid for {@code names} (DNS names or IP addresses, as SANs). */
    public record Issued(KeyPair keys, X509Certificate certificate) {
    }

    /**
     * Issues a server certificate (serverAuth) for {@code names}; the first name is also its CN.
     *
     * @throws IllegalArgumentException when {@code names} is empty
     */
    public Issued issueServer(List<String> names) {
        if (names.isEmpty()) {
            throw new IllegalArgumentException("a server certificate needs at least one name");
        }
        try {
            KeyPair keys = ecKeys();
            Instant now = Instant.now();
            List<GeneralName> san = new ArrayList<>();
            for (String name : names) {
                san.add(new GeneralName(isIpAddress(name) ? GeneralName.iPAddress : GeneralName.dNSName, name));
            }
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(caCertificate, serial(random),
                    Date.from(now.minus(BACKDATE)), Date.from(now.plus(SERVER_VALIDITY)),
                    new X500Name("CN=" + names.get(0)), keys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false,
                            new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
                    .addExtension(Extension.subjectAlternativeName, false,
                            new GeneralNames(san.toArray(GeneralName[]::new)))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                            ext.createAuthorityKeyIdentifier(caCertificate))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            ext.createSubjectKeyIdentifier(keys.getPublic()));
            return new Issued(keys, sign(builder, caKeys));
        } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
            throw new LocalStackException("cannot issue a certificate for " + names + ": " + e.getMessage(), e);
        }
    }

    /**
     * Issues a server certificate for {@code names} and writes {@code dir/server.p12} (PKCS12, alias {@code server},
     * key and chain, under a new random password) and {@code dir/ca.pem}. Creates {@code dir}; replaces both files.
     *
     * @throws LocalStackException when a file cannot be written
     */
    public ServerFiles writeServerFiles(Path dir, List<String> names) {
        Issued issued = issueServer(names);
        byte[] secret = new byte[18];
        random.nextBytes(secret);
        String password = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        Path keystore = dir.resolve("server.p12");
        Path caPem = dir.resolve("ca.pem");
        try {
            Files.createDirectories(dir);
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("server", issued.keys().getPrivate(), password.toCharArray(),
                    new Certificate[] {issued.certificate(), caCertificate});
            try (OutputStream out = Files.newOutputStream(keystore)) {
                store.store(out, password.toCharArray());
            }
            writeCaPem(caPem);
        } catch (IOException | GeneralSecurityException e) {
            throw new LocalStackException("cannot write the server keystore and CA into " + dir + ": "
                    + e.getMessage(), e);
        }
        return new ServerFiles(keystore, password, "PKCS12", caPem);
    }

    /** Writes the CA certificate as PEM (what clients trust). */
    public Path writeCaPem(Path file) {
        try (Writer out = Files.newBufferedWriter(file); JcaPEMWriter pem = new JcaPEMWriter(out)) {
            pem.writeObject(caCertificate);
        } catch (IOException e) {
            throw new LocalStackException("cannot write the CA certificate to " + file + ": " + e.getMessage(), e);
        }
        return file;
    }

    /** A new CA and a certificate for localhost and 127.0.0.1, written into {@code dir} (see writeServerFiles). */
    public static ServerFiles writeLocalhost(Path dir) {
        return create("msx local CA").writeServerFiles(dir, LOCAL_NAMES);
    }

    private static KeyPair ecKeys() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        return generator.generateKeyPair();
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, KeyPair signer)
            throws OperatorCreationException, GeneralSecurityException {
        return new JcaX509CertificateConverter().getCertificate(builder.build(
                new JcaContentSignerBuilder(SIGNATURE).build(signer.getPrivate())));
    }

    private static BigInteger serial(SecureRandom random) {
        return new BigInteger(64, random).setBit(63); // positive, 8 bytes, never zero
    }

    private static boolean isIpAddress(String name) {
        return name.matches("[0-9.]+") || name.contains(":");
    }
}
