package io.msx.master.cli;

import picocli.CommandLine.Command;

/** {@code msx target ...}: Manage Target Servers. */
@Command(name = "target", description = "Manage target servers.",
        subcommands = {TargetListCommand.class, TargetShowCommand.class, TargetPollCommand.class,
                TargetSetPollCommand.class, TargetSyncTimeCommand.class, TargetEnlistCommand.class,
                TargetDefectCommand.class, TargetResyncCommand.class, TargetCredentialsCommand.class,
                TargetAcceptCommand.class})
public final class TargetCommand {
}
