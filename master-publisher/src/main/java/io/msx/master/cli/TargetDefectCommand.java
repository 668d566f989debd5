package io.msx.master.cli;

import io.msx.avro.command.DefectTarget;
import io.msx.master.KafkaAccess;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

/** {@code msx target defect T [--force]}: remove a target from multiserver administration. */
@Command(name = "defect", description = "Remove a target; it releases its jobs (--force: it is gone, just forget it).")
public final class TargetDefectCommand extends SubmittingCommand implements Callable<Integer> {

    @Parameters(paramLabel = "TARGET", description = "Target name.")
    String target;

    @Option(names = "--force", description = "Forget the target without telling it (it is unreachable).")
    boolean force;

    @Option(names = "--revoke-credentials", description = "Also remove the target's Kafka user and ACLs: once it "
            + "acknowledged its DEFECT (it must still read it), or at once with --force (needs security-admin "
            + "credentials).")
    boolean revoke;

    @Override
    public Integer call() throws Exception {
        CommandSubmitter.Outcome outcome = submit(h -> DefectTarget.newBuilder().setHeader(h).setTarget(target)
                .setForce(force).build());
        if (outcome.accepted()) {
            out().println(target + "  defected" + (force ? " (forced)" : ""));
            if (revoke && !force && !defectAcknowledged(outcome)) {
                err().println("msx: " + target + " did not acknowledge its DEFECT within " + timeout.toSeconds()
                        + " s: its Kafka credentials were NOT revoked (run msx access revoke --target " + target
                        + " once it did, or if it is gone)");
                return ExitCodes.TIMED_OUT;
            }
            if (revoke) {
                try (KafkaAccess access = new KafkaAccess(connection.kafka(), connection.topics())) {
                    access.revokeTarget(target);
                } catch (KafkaAccess.KafkaAccessException e) {
                    err().println("msx: " + target + " is defected, but its Kafka credentials were NOT revoked: "
                            + e.getMessage() + " (run msx access revoke --target " + target + " as a security "
                            + "administrator)");
                    return ExitCodes.FAILED;
                }
                out().println(target + "  credentials revoked");
            }
        }
        return outcome.exitCode();
    }

    /** Waits up to --timeout for the target to acknowledge the DEFECT the master posted. */
    private boolean defectAcknowledged(CommandSubmitter.Outcome outcome) throws InterruptedException {
        var posted = outcome.result().getInstructions().stream().filter(p -> p.getTarget().equals(target))
                .findFirst();
        if (posted.isEmpty()) {
            return true; // nothing posted to it: nothing it must still read
        }
        String id = posted.get().getInstructionId().toString();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            var view = connection.master().instruction(target, id);
            if (view.isPresent() && view.get().appliedAt() != null) {
                return true;
            }
            Thread.sleep(500); // the master's views fill from the status topic: polling them is the wait
        }
        return false;
    }
}
