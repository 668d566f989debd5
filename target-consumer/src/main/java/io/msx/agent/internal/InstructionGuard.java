package io.msx.agent.internal;

import io.msx.avro.InstructionHeader;
import io.msx.security.InstructionSignatures;
import io.msx.security.SignatureHeaders;
import io.msx.security.TrustedKeys;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * Decides whether an instruction may be applied at all: signed by a trusted master key for this target, with a
 * sequence number above the last one applied, and not older than the longest age an instruction may have. Anything
 * else is refused with a reason starting {@code security:} (acknowledged FAILED, nothing of it applied).
 *
 * <p>With no trusted keys and signatures not required (development only) every instruction passes. Immutable and
 * thread-safe.
 */
public final class InstructionGuard {

    /** Prefix of every refusal's reason, so acknowledgements and history show it as a security refusal. */
    public static final String SECURITY = "security: ";

    private final String target;
    private final TrustedKeys keys;
    private final boolean enforced;
    private final Duration maxAge;
    private final Clock clock;

    public InstructionGuard(String target, TrustedKeys keys, boolean required, Duration maxAge, Clock clock) {
        if (required && keys.isEmpty()) {
            throw new IllegalArgumentException("signed instructions are required but no master key is trusted");
        }
        this.target = target;
        this.keys = keys;
        this.enforced = required || !keys.isEmpty();
        this.maxAge = maxAge;
        this.clock = clock;
    }

    /** Lets every instruction through: for tests of what happens after the guard, and development set-ups. */
    public static InstructionGuard open(String target) {
        return new InstructionGuard(target, TrustedKeys.none(), false, Duration.ofDays(36_500), Clock.systemUTC());
    }

    public boolean enforced() {
        return enforced;
    }

    /**
     * Why the instruction must not be applied, or null when it may.
     *
     * @param header  its decoded header
     * @param signed  its signature headers, or null when it has none
     * @param value   the record value as read
     * @param lastSeq the sequence number of the last instruction applied (0 before any)
     */
    public String refusal(InstructionHeader header, SignatureHeaders.Signed signed, byte[] value, long lastSeq) {
        if (!enforced) {
            return null;
        }
        if (signed == null || signed.keyId() == null || signed.signature() == null) {
            return SECURITY + "unsigned instruction (only the master's signed instructions are applied)";
        }
        if (signed.sequence() == null) {
            return SECURITY + (signed.malformedSequence() ? "malformed" : "missing") + " sequence number";
        }
        TrustedKeys.Verdict verdict = InstructionSignatures.verify(keys, signed.keyId(), signed.signature(), target,
                signed.sequence(), value);
        if (verdict != TrustedKeys.Verdict.VALID) {
            return SECURITY + verdict.reason() + (verdict == TrustedKeys.Verdict.UNKNOWN_KEY
                    ? " (" + signed.keyId() + ")" : "") + (verdict == TrustedKeys.Verdict.BAD_SIGNATURE
                    ? "; or an instruction signed for another target" : "");
        }
        if (signed.sequence() <= lastSeq) {
            return SECURITY + "replayed instruction: sequence " + signed.sequence() + " is not above "
                    + lastSeq + ", the last one applied";
        }
        Instant posted = header.getPostedAt();
        Instant now = clock.instant();
        if (posted.plus(maxAge).isBefore(now)) {
            return SECURITY + "expired instruction: posted at " + posted + ", more than " + maxAge.toHours()
                    + " h before " + now + " (instructions.max.age.ms)";
        }
        return null;
    }
}
