package io.msx.master.cli;

import io.msx.avro.Command;
import io.msx.avro.CommandResult;
import io.msx.avro.CommandStatus;
import io.msx.master.client.CommandClient;

import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.UUID;

/** Builds a command envelope, submits it, and turns a rejection or a silent master into a message and exit code. */
final class CommandSubmitter {

    /** What the master said, or the exit code to end with when it said no or nothing. */
    record Outcome(CommandResult result, int exitCode) {
        boolean accepted() {
            return result != null && result.getStatus() == CommandStatus.ACCEPTED;
        }
    }

    private CommandSubmitter() {
    }

    static Outcome submit(ConnectionOptions connection, Object body, Duration timeout, PrintWriter err, Clock clock)
            throws InterruptedException {
        Command command = Command.newBuilder()
                .setCommandId(UUID.randomUUID())
                .setIssuedAt(clock.instant().truncatedTo(ChronoUnit.MILLIS))
                .setIssuedBy(System.getProperty("user.name"))
                .setBody(body)
                .build();
        Optional<CommandResult> result;
        try (CommandClient client = new CommandClient(connection.bootstrapServers, connection.registry(),
                connection.topics())) {
            result = client.submit(command, timeout);
        }
        if (result.isEmpty()) {
            err.println("msx: no answer from the master within " + timeout.toSeconds() + " s (is `msx master run` "
                    + "running with topic prefix '" + connection.topicPrefix + "'?)");
            return new Outcome(null, ExitCodes.TIMED_OUT);
        }
        if (result.get().getStatus() != CommandStatus.ACCEPTED) {
            err.println("msx: rejected: " + result.get().getReason());
            return new Outcome(result.get(), ExitCodes.FAILED);
        }
        return new Outcome(result.get(), ExitCodes.OK);
    }
}
