package io.msx.master.cli;

import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.avro.CommandStatus;
import io.msx.master.client.CommandClient;
import org.apache.avro.specific.SpecificRecord;

import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;

/**
 * Builds a command's header, submits it (to the commands topic, or with {@code --submit-via rest} through the
 * master's REST API, which writes a header of its own), and turns a rejection or a silent master into a message and
 * exit code.
 */
final class CommandSubmitter {

    /** What the master said, or the exit code to end with when it said no or nothing. */
    record Outcome(CommandResult result, int exitCode) {
        boolean accepted() {
            return result != null && result.getStatus() == CommandStatus.ACCEPTED;
        }
    }

    private CommandSubmitter() {
    }

    /**
     * @param command builds the command (a record of the command family) around its header
     */
    static Outcome submit(ConnectionOptions connection, Function<CommandHeader, SpecificRecord> command,
                          Duration timeout, PrintWriter err, Clock clock) throws InterruptedException {
        SpecificRecord built = command.apply(CommandHeader.newBuilder()
                .setCommandId(UUID.randomUUID())
                .setIssuedAt(clock.instant().truncatedTo(ChronoUnit.MILLIS))
                .setIssuedBy(System.getProperty("user.name"))
                .build());
        Optional<CommandResult> result;
        if (connection.submitVia == ConnectionOptions.SubmitVia.rest) {
            // the master writes the header: its own command id, and the token's name as issuedBy
            result = connection.master().submit(built, timeout);
        } else {
            try (CommandClient client = new CommandClient(connection.kafka(), connection.registry(),
                    connection.topics())) {
                result = client.signWith(connection.signer()).submit(built, timeout);
            }
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
