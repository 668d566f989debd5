package io.msx.master.cli;

import picocli.CommandLine.Command;

/** {@code msx target credentials T}: {@code msx access target T} under the target commands. */
@Command(name = "credentials", description = "Create (or renew) the target's Kafka user and LITERAL ACLs (read its "
        + "own topic and group, write status) and print its client settings. Needs security-admin credentials.")
public final class TargetCredentialsCommand extends AccessCommand.Target {
}
