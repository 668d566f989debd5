package io.msx.security;

import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The public keys a reader accepts signatures from, by fingerprint. More than one key is how keys are rotated: the
 * readers trust the old and the new key, the signer switches, then the old key is removed.
 *
 * <p>Immutable and thread-safe.
 */
public final class TrustedKeys {

    /** Why a signature was or was not accepted. */
    public enum Verdict {
        VALID("valid"),
        UNSIGNED("unsigned"),
        UNKNOWN_KEY("signed with a key that is not trusted"),
        BAD_SIGNATURE("the signature does not match the content (forged or tampered)");

        private final String reason;

        Verdict(String reason) {
            this.reason = reason;
        }

        public String reason() {
            return reason;
        }
    }

    private final Map<String, Ed25519PublicKeyParameters> keys;

    private TrustedKeys(Map<String, Ed25519PublicKeyParameters> keys) {
        this.keys = Map.copyOf(keys);
    }

    public static TrustedKeys of(Collection<Ed25519PublicKeyParameters> keys) {
        Map<String, Ed25519PublicKeyParameters> byId = new LinkedHashMap<>();
        keys.forEach(k -> byId.put(Ed25519Keys.fingerprint(k), k));
        return new TrustedKeys(byId);
    }

    public static TrustedKeys of(Ed25519PublicKeyParameters... keys) {
        return of(List.of(keys));
    }

    /** The keys in a PEM file of one or more public keys. */
    public static TrustedKeys fromFile(Path file) {
        return of(Ed25519Keys.readPublicKeys(file));
    }

    public static TrustedKeys none() {
        return new TrustedKeys(Map.of());
    }

    public Set<String> keyIds() {
        return keys.keySet();
    }

    public boolean isEmpty() {
        return keys.isEmpty();
    }

    /**
     * Checks a signature.
     *
     * @param keyId     fingerprint of the key that claims to have signed, or null
     * @param signature the signature, or null
     */
    public Verdict verify(String keyId, byte[] signature, Purpose purpose, byte[]... parts) {
        if (keyId == null || signature == null) {
            return Verdict.UNSIGNED;
        }
        Ed25519PublicKeyParameters key = keys.get(keyId);
        if (key == null) {
            return Verdict.UNKNOWN_KEY;
        }
        return verifyWith(key, signature, purpose, parts) ? Verdict.VALID : Verdict.BAD_SIGNATURE;
    }

    /** Whether {@code signature} is {@code key}'s signature of {@code parts} for {@code purpose}. */
    public static boolean verifyWith(Ed25519PublicKeyParameters key, byte[] signature, Purpose purpose, byte[]... parts) {
        if (signature.length != Ed25519PrivateKeyParameters.SIGNATURE_SIZE) {
            return false;
        }
        Ed25519Signer verifier = new Ed25519Signer();
        verifier.init(false, key);
        Purpose.feed(verifier, purpose, parts);
        return verifier.verifySignature(signature);
    }
}
