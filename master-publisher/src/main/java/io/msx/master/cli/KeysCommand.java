package io.msx.master.cli;

import io.msx.security.Ed25519Keys;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code msx keys generate --out FILE}: an Ed25519 key pair for signing (master, target or operator). */
@Command(name = "keys", description = "Ed25519 signing keys.", subcommands = KeysCommand.Generate.class)
public final class KeysCommand {

    @Command(name = "generate", description = "Write a new private key to FILE (owner-only) and its public key to "
            + "FILE.pub; print the key's fingerprint.")
    static final class Generate implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--out", paramLabel = "FILE", required = true, description = "Private key file to create.")
        Path out;

        @Override
        public Integer call() {
            if (Files.exists(out)) {
                spec.commandLine().getErr().println("msx: " + out + " exists; move it away to create a new key");
                return ExitCodes.FAILED;
            }
            Ed25519PrivateKeyParameters key = Ed25519Keys.generate();
            Ed25519Keys.writePrivateKey(out, key);
            spec.commandLine().getOut().println(Ed25519Keys.fingerprint(key.generatePublicKey()) + "  " + out
                    + " (public key " + out + ".pub)");
            return ExitCodes.OK;
        }
    }
}
