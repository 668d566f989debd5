package io.msx.master.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.IOException;

/** {@code msx target credentials T}: the same as {@code msx access target T}. */
@Command(name = "credentials", description = "Create (or renew) the target's Kafka user and LITERAL ACLs (read its "
        + "own topic and group, write status) and print its client settings. Needs security-admin credentials.")
public final class TargetCredentialsCommand extends AccessCommand.Provisioning {

    @Parameters(paramLabel = "TARGET", description = "Target name.")
    String target;

    @Override
    public Integer call() throws IOException {
        return provision("target " + target, access -> access.provisionTarget(target));
    }
}
