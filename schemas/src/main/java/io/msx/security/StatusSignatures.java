package io.msx.security;

import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;

import java.nio.charset.StandardCharsets;

/**
 * What a target's signature of a status event covers: the target (the record key) and the record value. The master
 * checks it with the key it accepted for that target, so an event claiming to be another target, or altered, changes
 * no view.
 */
public final class StatusSignatures {

    private StatusSignatures() {
    }

    public static byte[] sign(Signer signer, byte[] key, byte[] value) {
        return signer.sign(Purpose.STATUS_EVENT, key, value);
    }

    public static boolean verify(Ed25519PublicKeyParameters publicKey, byte[] signature, byte[] key, byte[] value) {
        return TrustedKeys.verifyWith(publicKey, signature, Purpose.STATUS_EVENT, key, value);
    }

    /** Why a record's signature headers do not verify with {@code publicKey}, or null when they do. */
    public static String refusal(Ed25519PublicKeyParameters publicKey, SignatureHeaders.Signed signed, byte[] key,
                                 byte[] value) {
        if (signed == null || signed.keyId() == null || signed.signature() == null) {
            return "unsigned status event";
        }
        String expected = Ed25519Keys.fingerprint(publicKey);
        if (!expected.equals(signed.keyId())) {
            return "signed with key " + signed.keyId() + ", not the target's accepted key " + expected;
        }
        return verify(publicKey, signed.signature(), key, value) ? null
                : "the signature does not match the event (forged or tampered)";
    }
}
