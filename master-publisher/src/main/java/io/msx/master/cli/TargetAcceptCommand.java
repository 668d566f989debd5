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
 * {@code msx target accept T [--fingerprint SHA256:...]}: accept the status-signing key a PENDING target presents.
 * Without {@code --fingerprint} the key it presents now is read from the master and named, so a key that changes
 * meanwhile stays pending; compare it with what the target's agent logged at start ("status events signed with key").
 */
@Command(name = "accept", description = "Accept the status-signing key a PENDING target presents.")
public final class TargetAcceptCommand extends SubmittingCommand implements Callable<Integer> {

    @Parameters(paramLabel = "TARGET", description = "Target name.")
    String target;

    @Option(names = "--fingerprint", paramLabel = "SHA256:...", description = "Fingerprint of the key to accept, "
            + "as the target's agent logged it (default: the one it presents now, after showing it).")
    String fingerprint;

    @Override
    public Integer call() throws Exception {
        String accepting = fingerprint;
        if (accepting == null) {
            Optional<TargetView> view = connection.master().target(target);
            if (view.isEmpty() || view.get().presentedKeyFingerprint() == null) {
                err().println("msx: target '" + target + "' presents no key (has it enlisted?)");
                return ExitCodes.FAILED;
            }
            accepting = view.get().presentedKeyFingerprint();
            out().println(target + "  presents key " + accepting);
        }
        String key = accepting;
        CommandSubmitter.Outcome outcome = submit(h -> AcceptTarget.newBuilder().setHeader(h).setTarget(target)
                .setKeyFingerprint(key).build());
        if (outcome.accepted()) {
            out().println(target + "  key " + key + " accepted");
        }
        return outcome.exitCode();
    }
}
