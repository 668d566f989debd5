package io.msx.security;

import java.nio.charset.StandardCharsets;

/**
 * What the master's signature of an instruction covers: the target it is for, its per-target sequence number and
 * the record value (the instruction in the wire format). A target accepts an instruction only with a valid signature
 * of a trusted key, addressed to itself, with a sequence number above the last it applied: an instruction copied from
 * another target's topic, replayed into its own, or altered is refused.
 */
public final class InstructionSignatures {

    private InstructionSignatures() {
    }

    public static byte[] sign(Signer signer, String target, long sequence, byte[] value) {
        return signer.sign(Purpose.INSTRUCTION, target.getBytes(StandardCharsets.UTF_8),
                SignatureHeaders.sequenceBytes(sequence), value);
    }

    public static TrustedKeys.Verdict verify(TrustedKeys keys, String keyId, byte[] signature, String target,
                                             long sequence, byte[] value) {
        return keys.verify(keyId, signature, Purpose.INSTRUCTION, target.getBytes(StandardCharsets.UTF_8),
                SignatureHeaders.sequenceBytes(sequence), value);
    }
}
