package io.msx.master.cli;

import io.msx.avro.CommandHeader;
import org.apache.avro.specific.SpecificRecord;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.util.function.Function;

/** What every command that submits to the master shares: connection options, {@code --timeout}, submit and print. */
abstract class SubmittingCommand {

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionOptions connection;

    @Option(names = "--timeout", defaultValue = "60s", converter = DurationConverter.class,
            description = "How long to wait for the master and, with --wait, the outcome (default ${DEFAULT-VALUE}).")
    Duration timeout;

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** Submits the command {@code command} builds around its header. */
    CommandSubmitter.Outcome submit(Function<CommandHeader, SpecificRecord> command) throws InterruptedException {
        return CommandSubmitter.submit(connection, command, timeout, err(), Clock.systemUTC());
    }

    /** Prints one line per posted instruction when accepted; returns the exit code. */
    int printPosted(CommandSubmitter.Outcome outcome) {
        if (outcome.accepted()) {
            outcome.result().getInstructions().forEach(p -> out().println(p.getTarget() + "  " + p.getOperation()
                    + " posted"));
            out().flush();
        }
        return outcome.exitCode();
    }
}
