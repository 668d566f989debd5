package io.msx.master.internal.topology.commands;

import io.msx.avro.CommandHeader;
import io.msx.avro.command.DefectTarget;
import io.msx.avro.command.DeleteGroup;
import io.msx.avro.command.DeleteJob;
import io.msx.avro.command.AcceptTarget;
import io.msx.avro.command.EnlistTarget;
import io.msx.avro.command.ForcePoll;
import io.msx.avro.command.ResyncTargets;
import io.msx.avro.command.SetPollingInterval;
import io.msx.avro.command.StartJob;
import io.msx.avro.command.StopJob;
import io.msx.avro.command.SyncClocks;
import io.msx.avro.command.UpdateGroup;
import io.msx.avro.command.UpsertJob;
import io.msx.schemas.MessageFamily;
import org.apache.avro.specific.SpecificRecord;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * One handler per command type; {@link #decide} picks it. A command type this master does not handle is rejected
 * with a reason naming it.
 */
public final class CommandHandlers {

    private final Map<Class<?>, CommandHandler<?>> handlers = new HashMap<>();
    private final Fleet fleet;

    public CommandHandlers(Fleet fleet) {
        this.fleet = fleet;
        add(ForcePoll.class, new ForcePollHandler(fleet));
        add(SetPollingInterval.class, new SetPollingIntervalHandler(fleet));
        add(SyncClocks.class, new SyncClocksHandler(fleet));
        add(UpsertJob.class, new UpsertJobHandler(fleet));
        add(DeleteJob.class, new DeleteJobHandler(fleet));
        add(StartJob.class, new StartJobHandler(fleet));
        add(StopJob.class, new StopJobHandler(fleet));
        add(UpdateGroup.class, new UpdateGroupHandler(fleet));
        add(DeleteGroup.class, new DeleteGroupHandler(fleet));
        add(ResyncTargets.class, new ResyncHandler(fleet));
        add(DefectTarget.class, new DefectHandler(fleet));
        add(AcceptTarget.class, new AcceptTargetHandler(fleet));
        add(EnlistTarget.class, new EnlistTargetHandler(fleet));
    }

    private <C extends SpecificRecord> void add(Class<C> type, CommandHandler<C> handler) {
        handlers.put(type, handler);
    }

    /**
     * Decides a command (a record of the {@link MessageFamily#COMMAND} family) on the current state; changes nothing.
     */
    @SuppressWarnings("unchecked")
    public Decision decide(SpecificRecord command, Instant now) {
        CommandHeader header = MessageFamily.COMMAND.header(command);
        fleet.newDecision();
        Plan plan = new Plan(header, now);
        CommandHandler<SpecificRecord> handler = (CommandHandler<SpecificRecord>) handlers.get(command.getClass());
        if (handler == null) {
            return plan.reject(MessageFamily.typeName(command) + " is not supported by this master version yet");
        }
        try {
            return handler.handle(command, plan);
        } catch (IllegalArgumentException e) {
            return new Plan(header, now).reject(e.getMessage());
        }
    }
}
