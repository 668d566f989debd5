package io.msx.master.internal.topology.commands;

import org.apache.avro.specific.SpecificRecord;

/**
 * Decides one command type on the fleet's current state. Throws {@link IllegalArgumentException} with the reason to
 * reject a command for an invalid name or definition; returns {@link Plan#reject(String)} for the others.
 *
 * @param <C> the command type
 */
@FunctionalInterface
public interface CommandHandler<C extends SpecificRecord> {

    Decision handle(C command, Plan plan);
}
