package io.msx.security;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

import java.nio.charset.StandardCharsets;

/**
 * Who issued a command, proven by a signature over the command's bytes: an operator's own key (the identity is the
 * key's fingerprint), or the master's key with the issuer it vouches for in the {@code msx.issuer} header (a REST
 * caller it authenticated, or the master itself).
 */
public final class CommandSignatures {

    public static final String ISSUER_HEADER = "msx.issuer";

    private CommandSignatures() {
    }

    /** Signs {@code value} into {@code headers}; {@code issuer} (may be null) is signed with it. */
    public static void sign(Signer signer, String issuer, byte[] value, Headers headers) {
        byte[] issuerBytes = issuer == null ? new byte[0] : issuer.getBytes(StandardCharsets.UTF_8);
        SignatureHeaders.write(headers, signer.keyId(), signer.sign(Purpose.COMMAND, issuerBytes, value), null);
        headers.remove(ISSUER_HEADER);
        if (issuer != null) {
            headers.add(ISSUER_HEADER, issuerBytes);
        }
    }

    /**
     * The verified identity of a command: {@code key:<fingerprint>} for an operator key in {@code operators},
     * the vouched issuer for the master's own key, or null when it carries no valid signature of either.
     */
    public static String identity(TrustedKeys operators, Signer master, byte[] value, Headers headers) {
        SignatureHeaders.Signed signed = SignatureHeaders.read(headers);
        if (signed == null || signed.keyId() == null || signed.signature() == null) {
            return null;
        }
        Header issuerHeader = headers.lastHeader(ISSUER_HEADER);
        byte[] issuer = issuerHeader == null ? new byte[0] : issuerHeader.value();
        if (master != null && signed.keyId().equals(master.keyId())) {
            return TrustedKeys.verifyWith(master.publicKey(), signed.signature(), Purpose.COMMAND, issuer, value)
                    && issuer.length > 0 ? new String(issuer, StandardCharsets.UTF_8) : null;
        }
        return operators.verify(signed.keyId(), signed.signature(), Purpose.COMMAND, issuer, value)
                == TrustedKeys.Verdict.VALID ? "key:" + signed.keyId() : null;
    }
}
