package io.msx.master.internal.topology.commands;

import io.msx.avro.CommandResult;
import io.msx.avro.CommandStatus;
import io.msx.avro.JobDefinition;
import io.msx.master.internal.topology.Registration;
import org.apache.avro.specific.SpecificRecord;

import java.util.List;

/**
 * What a command decided. Deciding changes nothing: the command processor writes the decision's records and applies
 * its changes to the stores only once every record was encoded and found within the record limit, so a command
 * rejected at that point leaves no trace.
 *
 * @param result        the answer for the command-results topic
 * @param instructions  instructions to post (records of the instruction family), each to its target's topic
 * @param newTargets    targets whose topics must exist before the instructions are posted
 * @param registrations registrations to store (and tell the views of)
 * @param jobsPut       job definitions to store
 * @param jobsDeleted   job ids to remove
 */
public record Decision(CommandResult result, List<SpecificRecord> instructions, List<String> newTargets,
                       List<Registration> registrations, List<JobDefinition> jobsPut, List<String> jobsDeleted) {

    public static Decision rejected(CommandResult result) {
        return new Decision(result, List.of(), List.of(), List.of(), List.of(), List.of());
    }

    public boolean accepted() {
        return result.getStatus() == CommandStatus.ACCEPTED;
    }
}
