package io.msx.master.cli;

import picocli.CommandLine.Command;

/** {@code msx agent ...}. */
@Command(name = "agent", description = "Run a target agent.", subcommands = {AgentRunCommand.class})
public final class AgentCommand {
}
