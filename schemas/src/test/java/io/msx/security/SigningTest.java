package io.msx.security;

import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SigningTest {

    private static final byte[] VALUE = "instruction bytes".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    @Test
    void shouldVerifyWhatTheTrustedKeySigned() {
        Signer master = new Signer(Ed25519Keys.generate());
        byte[] sig = master.sign(Purpose.INSTRUCTION, VALUE);

        TrustedKeys trusted = TrustedKeys.of(master.publicKey());

        assertThat(trusted.verify(master.keyId(), sig, Purpose.INSTRUCTION, VALUE)).isEqualTo(TrustedKeys.Verdict.VALID);
    }

    @Test
    void shouldRefuseTamperedContentForgedSignaturesUnknownKeysAndOtherPurposes() {
        Signer master = new Signer(Ed25519Keys.generate());
        Signer attacker = new Signer(Ed25519Keys.generate());
        TrustedKeys trusted = TrustedKeys.of(master.publicKey());
        byte[] sig = master.sign(Purpose.INSTRUCTION, VALUE);
        byte[] tampered = VALUE.clone();
        tampered[0] ^= 1;
        byte[] flipped = sig.clone();
        flipped[10] ^= 1;

        assertThat(trusted.verify(master.keyId(), sig, Purpose.INSTRUCTION, tampered))
                .isEqualTo(TrustedKeys.Verdict.BAD_SIGNATURE);
        assertThat(trusted.verify(master.keyId(), flipped, Purpose.INSTRUCTION, VALUE))
                .isEqualTo(TrustedKeys.Verdict.BAD_SIGNATURE);
        assertThat(trusted.verify(master.keyId(), attacker.sign(Purpose.INSTRUCTION, VALUE), Purpose.INSTRUCTION,
                VALUE)).isEqualTo(TrustedKeys.Verdict.BAD_SIGNATURE);
        assertThat(trusted.verify(attacker.keyId(), attacker.sign(Purpose.INSTRUCTION, VALUE), Purpose.INSTRUCTION,
                VALUE)).isEqualTo(TrustedKeys.Verdict.UNKNOWN_KEY);
        assertThat(trusted.verify(master.keyId(), sig, Purpose.STATUS_EVENT, VALUE))
                .isEqualTo(TrustedKeys.Verdict.BAD_SIGNATURE);
        assertThat(trusted.verify(null, null, Purpose.INSTRUCTION, VALUE)).isEqualTo(TrustedKeys.Verdict.UNSIGNED);
        assertThat(trusted.verify(master.keyId(), new byte[3], Purpose.INSTRUCTION, VALUE))
                .isEqualTo(TrustedKeys.Verdict.BAD_SIGNATURE);
    }

    @Test
    void shouldNotLetBytesMoveBetweenParts() {
        Signer master = new Signer(Ed25519Keys.generate());
        byte[] sig = master.sign(Purpose.INSTRUCTION, bytes("T1"), bytes("0value"));

        assertThat(TrustedKeys.of(master.publicKey()).verify(master.keyId(), sig, Purpose.INSTRUCTION, bytes("T10"),
                bytes("value"))).isEqualTo(TrustedKeys.Verdict.BAD_SIGNATURE);
    }

    @Test
    void shouldWriteKeyFilesOpenSslReadsAndReadThemBack() throws Exception {
        Path file = dir.resolve("keys/master.key");
        Ed25519PrivateKeyParameters key = Ed25519Keys.readOrCreate(file);

        assertThat(Files.readString(file)).startsWith("-----BEGIN PRIVATE KEY-----");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(Ed25519Keys.readOrCreate(file).getEncoded()).isEqualTo(key.getEncoded());
        Path pub = dir.resolve("keys/master.key.pub");
        assertThat(Files.readString(pub)).startsWith("-----BEGIN PUBLIC KEY-----");
        assertThat(TrustedKeys.fromFile(pub).keyIds()).containsExactly(Ed25519Keys.fingerprint(key.generatePublicKey()));
    }

    @Test
    void shouldTrustEveryKeyOfARotationFile() throws Exception {
        Signer old = new Signer(Ed25519Keys.generate());
        Signer next = new Signer(Ed25519Keys.generate());
        Path file = dir.resolve("trusted.pem");
        Files.writeString(file, Ed25519Keys.publicKeyPem(old.publicKey()) + Ed25519Keys.publicKeyPem(next.publicKey()));

        TrustedKeys trusted = TrustedKeys.fromFile(file);

        assertThat(trusted.keyIds()).containsExactlyInAnyOrder(old.keyId(), next.keyId());
        assertThat(trusted.verify(next.keyId(), next.sign(Purpose.COMMAND, VALUE), Purpose.COMMAND, VALUE))
                .isEqualTo(TrustedKeys.Verdict.VALID);
    }

    @Test
    void shouldNameTheFileThatHoldsNoKey() throws Exception {
        Path file = dir.resolve("empty.pem");
        Files.writeString(file, "not a key\n");

        assertThatThrownBy(() -> TrustedKeys.fromFile(file)).isInstanceOf(KeyFileException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("PUBLIC KEY");
        assertThatThrownBy(() -> Signer.fromFile(dir.resolve("missing.key"))).isInstanceOf(KeyFileException.class)
                .hasMessageContaining("missing.key");
    }

    @Test
    void shouldReadAKeyOpenSslWrote() throws Exception {
        // written by: openssl genpkey -algorithm ed25519
        Path file = dir.resolve("openssl.key");
        Files.writeString(file, """
                -----BEGIN PRIVATE KEY-----
                MC4CAQAwBQYDK2VwBCIEIO/Bfnc3Oy4GVOdziegc8y++yRxEb3qVZiK9b3Gi3cSn
                -----END PRIVATE KEY-----
                """);

        Signer signer = Signer.fromFile(file);

        assertThat(TrustedKeys.of(signer.publicKey()).verify(signer.keyId(), signer.sign(Purpose.INSTRUCTION, VALUE),
                Purpose.INSTRUCTION, VALUE)).isEqualTo(TrustedKeys.Verdict.VALID);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
