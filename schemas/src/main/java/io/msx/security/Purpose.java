package io.msx.security;

import org.bouncycastle.crypto.Signer;

import java.nio.charset.StandardCharsets;

/** What a signature is for; part of what is signed, so a signature cannot be reused for another purpose. */
public enum Purpose {
    /** An instruction the master posts to a target topic. */
    INSTRUCTION("msx-instruction-v1"),
    /** A status event a target sends to the status topic. */
    STATUS_EVENT("msx-status-v1"),
    /** A command an operator sends to the commands topic. */
    COMMAND("msx-command-v1");

    private final byte[] tag;

    Purpose(String tag) {
        this.tag = tag.getBytes(StandardCharsets.US_ASCII);
    }

    static void feed(Signer signer, Purpose purpose, byte[]... parts) {
        update(signer, purpose.tag);
        for (byte[] part : parts) {
            update(signer, part == null ? new byte[0] : part);
        }
    }

    private static void update(Signer signer, byte[] part) {
        int n = part.length;
        signer.update(new byte[] {(byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n}, 0, 4);
        signer.update(part, 0, n);
    }
}
