package io.msx.master.cli;

import io.msx.MsxException;
import io.msx.MsxVersion;
import org.apache.kafka.common.config.ConfigException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code msx}: the operator's and scripts' tool. Exit codes: 0 ok, 1 rejected or failed, 2 usage, 3 timed out.
 */
@Command(name = "msx", mixinStandardHelpOptions = true, versionProvider = MsxCli.Version.class,
        description = "Multiserver job dispatch on Kafka (SQL Server Agent MSX/TSX).",
        subcommands = {TargetCommand.class, GroupCommand.class, JobCommand.class, InstructionsCommand.class, MasterCommand.class, AgentCommand.class,
                AccessCommand.class, KeysCommand.class, TokenCommand.class,
                CommandLine.HelpCommand.class})
public final class MsxCli {

    /** Expected failures get one line naming the problem; the exit code says what kind. */
    static final CommandLine.IExecutionExceptionHandler EXCEPTION_HANDLER = (e, cmd, parseResult) -> {
        int code;
        String message;
        if (e instanceof ConfigException || e instanceof IllegalArgumentException) {
            code = ExitCodes.USAGE;
            message = e.getMessage();
        } else if (e instanceof MsxException || e instanceof IllegalStateException) {
            code = ExitCodes.FAILED;
            message = e.getMessage();
        } else {
            code = ExitCodes.FAILED;
            message = "unexpected error: " + e;
        }
        cmd.getErr().println("msx: " + message);
        cmd.getErr().flush();
        return code;
    };

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /**
     * The {@code msx} command line with its exit codes for expected failures, for callers that run {@code msx}
     * commands in their own JVM (the demo, tests). Not thread-safe: one per call.
     */
    public static CommandLine commandLine() {
        return new CommandLine(new MsxCli()).setExecutionExceptionHandler(EXCEPTION_HANDLER);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"msx " + MsxVersion.current()};
        }
    }
}
