package io.msx.security;

import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

import java.nio.file.Path;

/**
 * Signs with one Ed25519 private key. A signature covers a purpose tag and the given parts, each prefixed with its
 * length, so that a signature made for one purpose (an instruction) never verifies for another (a status event) and
 * parts cannot be shifted into each other.
 *
 * <p>Thread-safe: each signature uses its own BouncyCastle signer.
 */
public final class Signer {

    private final Ed25519PrivateKeyParameters key;
    private final Ed25519PublicKeyParameters publicKey;
    private final String keyId;

    public Signer(Ed25519PrivateKeyParameters key) {
        this.key = key;
        this.publicKey = key.generatePublicKey();
        this.keyId = Ed25519Keys.fingerprint(publicKey);
    }

    /** A signer with the key in a PEM file. */
    public static Signer fromFile(Path file) {
        return new Signer(Ed25519Keys.readPrivateKey(file));
    }

    /** The fingerprint of this signer's public key; it travels with each signature. */
    public String keyId() {
        return keyId;
    }

    public Ed25519PublicKeyParameters publicKey() {
        return publicKey;
    }

    /** The 64-byte signature of {@code parts} for {@code purpose}. */
    public byte[] sign(Purpose purpose, byte[]... parts) {
        Ed25519Signer signer = new Ed25519Signer();
        signer.init(true, key);
        Purpose.feed(signer, purpose, parts);
        return signer.generateSignature();
    }
}
