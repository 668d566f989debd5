package io.msx.master.cli;

import picocli.CommandLine.Command;

/** {@code msx master ...}. */
@Command(name = "master", description = "Run the master server.", subcommands = {MasterRunCommand.class})
public final class MasterCommand {
}
