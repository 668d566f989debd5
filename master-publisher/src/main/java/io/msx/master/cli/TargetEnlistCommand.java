package io.msx.master.cli;

import io.msx.avro.command.EnlistTarget;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

/** {@code msx target enlist T3 [--location L]}: pre-register a target and create its topic before it starts. */
@Command(name = "enlist", description = "Pre-register a target (its topic is created at once).")
public final class TargetEnlistCommand extends SubmittingCommand implements Callable<Integer> {

    @Parameters(paramLabel = "TARGET", description = "Target name.")
    String target;

    @Option(names = "--location", description = "Where the target is.")
    String location;

    @Option(names = "--group", description = "Groups the target joins (their jobs are posted to it).")
    java.util.List<String> groups = java.util.List.of();

    @Option(names = "--key-fingerprint", paramLabel = "SHA256:...", description = "Fingerprint of the "
            + "status-signing key the target will present (its agent logs it; msx keys generate prints it for a "
            + "signing.key.file): accepted at once when it enlists.")
    String keyFingerprint;

    @Override
    public Integer call() throws Exception {
        CommandSubmitter.Outcome outcome = submit(h -> EnlistTarget.newBuilder().setHeader(h).setTarget(target)
                .setLocation(location).setGroups(groups).setKeyFingerprint(keyFingerprint).build());
        if (outcome.accepted()) {
            out().println(target + "  enlisted");
        }
        return printPosted(outcome);
    }
}
