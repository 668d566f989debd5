package io.msx.master.cli;

import io.msx.avro.command.AcceptTarget;
import io.msx.master.TargetView;
import io.msx.master.client.MasterClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code msx target accept T --fingerprint SHA256:...}: accept the status-signing key a PENDING target presents, named
 * by the fingerprint its agent logged at start ("status events signed with key"). Without {@code --fingerprint} it
 * only shows the key presented now and exits 2: whoever can enlist under the name could have presented it.
 */
@Command(name = "accept", description = "Accept the status-signing key a PENDING target presents.")
public final class TargetAcceptCommand extends SubmittingCommand implements Callable<Integer> {

    @Parameters(paramLabel = "TARGET", description = "Target name.")
    String target;

    @Option(names = "--fingerprint", paramLabel = "SHA256:...", description = "Fingerprint of the key to accept, "
            + "as the target's agent logged it (required; without it the key presented now is shown).")
    String fingerprint;

    @Override
    public Integer call() throws Exception {
        if (fingerprint == null) {
            // never accept whatever is presented: anyone who can enlist under the name could have presented it
            Optional<TargetView> view = connection.master().target(target);
            if (view.isEmpty() || view.get().presentedKeyFingerprint() == null) {
                err().println("msx: target '" + target + "' presents no key (has it enlisted?)");
                return ExitCodes.FAILED;
            }
            err().println("msx: " + target + " presents key " + view.get().presentedKeyFingerprint() + "; compare "
                    + "it with what the target's agent logged (\"status events signed with key ...\") and run: "
                    + "msx target accept " + target + " --fingerprint " + view.get().presentedKeyFingerprint());
            return ExitCodes.USAGE;
        }
        String key = fingerprint;
        CommandSubmitter.Outcome outcome = submit(h -> AcceptTarget.newBuilder().setHeader(h).setTarget(target)
                .setKeyFingerprint(key).build());
        if (outcome.accepted()) {
            out().println(target + "  key " + key + " accepted");
        }
        return outcome.exitCode();
    }
}
