package io.msx.security;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.util.PrivateKeyFactory;
import org.bouncycastle.crypto.util.PrivateKeyInfoFactory;
import org.bouncycastle.crypto.util.PublicKeyFactory;
import org.bouncycastle.crypto.util.SubjectPublicKeyInfoFactory;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;
import org.bouncycastle.util.io.pem.PemWriter;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Ed25519 keys in the files OpenSSL reads and writes ({@code openssl genpkey -algorithm ed25519}): a private key is a
 * PEM {@code PRIVATE KEY} (PKCS#8), a public key a PEM {@code PUBLIC KEY} (X.509 SubjectPublicKeyInfo); a file of
 * trusted keys holds one or more public keys. A key is named by its fingerprint, {@code SHA256:} and the unpadded
 * base64 of the SHA-256 of its 32 raw bytes (as OpenSSH prints them). Signing and verifying use BouncyCastle's
 * lightweight Ed25519 (measured here ~30,000 signatures/s against ~1,600 for the JDK's SunEC).
 *
 * <p>Stateless and thread-safe.
 */
public final class Ed25519Keys {

    private static final SecureRandom RANDOM = new SecureRandom();

    private Ed25519Keys() {
    }

    /** A new random private key. */
    public static Ed25519PrivateKeyParameters generate() {
        return new Ed25519PrivateKeyParameters(RANDOM);
    }

    /** The fingerprint naming a public key, e.g. {@code SHA256:5m3R...}. */
    public static String fingerprint(Ed25519PublicKeyParameters key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getEncoded());
            return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    public static String privateKeyPem(Ed25519PrivateKeyParameters key) {
        try {
            PrivateKeyInfo info = PrivateKeyInfoFactory.createPrivateKeyInfo(key);
            return pem(new PemObject("PRIVATE KEY", info.getEncoded()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String publicKeyPem(Ed25519PublicKeyParameters key) {
        try {
            SubjectPublicKeyInfo info = SubjectPublicKeyInfoFactory.createSubjectPublicKeyInfo(key);
            return pem(new PemObject("PUBLIC KEY", info.getEncoded()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The public key encoded as the X.509 SubjectPublicKeyInfo DER bytes (how it travels in an Enlist). */
    public static byte[] publicKeyDer(Ed25519PublicKeyParameters key) {
        try {
            return SubjectPublicKeyInfoFactory.createSubjectPublicKeyInfo(key).getEncoded();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Reads a public key from its X.509 DER bytes.
     *
     * @throws KeyFileException if the bytes are not an Ed25519 public key
     */
    public static Ed25519PublicKeyParameters publicKeyFromDer(byte[] der) {
        try {
            AsymmetricKeyParameter key = PublicKeyFactory.createKey(der);
            if (key instanceof Ed25519PublicKeyParameters ed) {
                return ed;
            }
            throw new KeyFileException("not an Ed25519 public key but " + key.getClass().getSimpleName());
        } catch (IOException | RuntimeException e) {
            if (e instanceof KeyFileException k) {
                throw k;
            }
            throw new KeyFileException("not an Ed25519 public key: " + e.getMessage(), e);
        }
    }

    /**
     * Reads the private key in a PEM file.
     *
     * @throws KeyFileException if the file cannot be read or holds no Ed25519 private key
     */
    public static Ed25519PrivateKeyParameters readPrivateKey(Path file) {
        List<PemObject> objects = readPem(file);
        for (PemObject o : objects) {
            if (o.getType().equals("PRIVATE KEY")) {
                try {
                    AsymmetricKeyParameter key = PrivateKeyFactory.createKey(o.getContent());
                    if (key instanceof Ed25519PrivateKeyParameters ed) {
                        return ed;
                    }
                    throw new KeyFileException(file + " holds a " + key.getClass().getSimpleName()
                            + ", not an Ed25519 private key");
                } catch (IOException | IllegalArgumentException e) {
                    throw new KeyFileException(file + " holds no readable Ed25519 private key: " + e.getMessage(), e);
                }
            }
        }
        throw new KeyFileException(file + " holds no PEM 'PRIVATE KEY' block");
    }

    /**
     * Reads every public key in a PEM file (one or more {@code PUBLIC KEY} blocks).
     *
     * @throws KeyFileException if the file cannot be read, holds no public key, or one is not Ed25519
     */
    public static List<Ed25519PublicKeyParameters> readPublicKeys(Path file) {
        List<Ed25519PublicKeyParameters> keys = new ArrayList<>();
        for (PemObject o : readPem(file)) {
            if (o.getType().equals("PUBLIC KEY")) {
                try {
                    keys.add(publicKeyFromDer(o.getContent()));
                } catch (KeyFileException e) {
                    throw new KeyFileException(file + ": " + e.getMessage(), e);
                }
            }
        }
        if (keys.isEmpty()) {
            throw new KeyFileException(file + " holds no PEM 'PUBLIC KEY' block");
        }
        return keys;
    }

    /**
     * Writes a new private key (readable by its owner only) and its public key next to it ({@code <file>.pub}),
     * unless the private key file exists, in which case that key is read.
     *
     * @return the key in the file
     */
    public static Ed25519PrivateKeyParameters readOrCreate(Path file) {
        if (Files.exists(file)) {
            return readPrivateKey(file);
        }
        Ed25519PrivateKeyParameters key = generate();
        writePrivateKey(file, key);
        return key;
    }

    /** Writes a private key (owner-only permissions where the file system has them) and {@code <file>.pub}. */
    public static void writePrivateKey(Path file, Ed25519PrivateKeyParameters key) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.deleteIfExists(tmp);
            try {
                Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (UnsupportedOperationException notPosix) {
                Files.createFile(tmp);
            }
            Files.writeString(tmp, privateKeyPem(key), StandardCharsets.US_ASCII, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.SYNC);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            Files.writeString(file.resolveSibling(file.getFileName() + ".pub"),
                    publicKeyPem(key.generatePublicKey()), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new KeyFileException("cannot write the key file " + file + ": " + e.getMessage(), e);
        }
    }

    private static List<PemObject> readPem(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new KeyFileException("cannot read the key file " + file + ": " + e.getMessage(), e);
        }
        List<PemObject> objects = new ArrayList<>();
        try (PemReader reader = new PemReader(new StringReader(text))) {
            for (PemObject o = reader.readPemObject(); o != null; o = reader.readPemObject()) {
                objects.add(o);
            }
        } catch (IOException | RuntimeException e) {
            throw new KeyFileException(file + " is not a PEM file: " + e.getMessage(), e);
        }
        return objects;
    }

    private static String pem(PemObject object) throws IOException {
        StringWriter out = new StringWriter();
        try (PemWriter writer = new PemWriter(out)) {
            writer.writeObject(object);
        }
        return out.toString();
    }
}
