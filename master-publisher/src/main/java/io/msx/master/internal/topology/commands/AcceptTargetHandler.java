package io.msx.master.internal.topology.commands;

import io.msx.avro.command.AcceptTarget;
import io.msx.master.internal.topology.Registration;
import io.msx.schemas.Topics;

import java.util.List;

/**
 * AcceptTarget: an operator approves the status-signing key a target presents, by its fingerprint (the CLI reads
 * the one presented off the target's view and names it, so a key that changed meanwhile stays pending). The
 * approval is part of the target's registration; the views accept the key when the one presented has that
 * fingerprint, and apply the Enlist they held back. A target that was never registered is registered by it.
 */
final class AcceptTargetHandler implements CommandHandler<AcceptTarget> {

    private final Fleet fleet;

    AcceptTargetHandler(Fleet fleet) {
        this.fleet = fleet;
    }

    @Override
    public Decision handle(AcceptTarget accept, Plan plan) {
        String target = Topics.requireValidTargetName(accept.getTarget());
        String fingerprint = accept.getKeyFingerprint();
        if (fingerprint == null || !fingerprint.startsWith("SHA256:")) {
            return plan.reject("name the fingerprint (SHA256:...) of the key to accept for '" + target + "'");
        }
        Registration existing = fleet.registrations().get(target).orElse(null);
        if (existing == null) {
            plan.newTarget(target);
            plan.register(new Registration(target, null, List.of(), plan.now(), null, false, fingerprint));
        } else {
            plan.register(existing.withKeyFingerprint(fingerprint));
        }
        return plan.accept();
    }
}
