package io.msx.master.internal.topology;

import java.time.Instant;
import java.util.List;

/**
 * What the master decided about one target: the command sub-topology's fact, kept in its registrations store and
 * sent to the views as a {@link ViewEvent}. Stored as JSON.
 *
 * @param target       target name
 * @param location     where it is, or null
 * @param groups       its groups, sorted
 * @param registeredAt when it was first registered: the target's own Enlist time, or the command's issue time for a
 *                     pre-registration
 * @param epoch        the installation that last enlisted, or null before one did
 * @param defected     whether it was defected; it stays so for this epoch (its Enlists are ignored) until another
 *                     installation enlists
 * @param keyFingerprint the fingerprint of the status-signing key an operator approved for it (pre-registration or
 *                     {@code msx target accept}), or null
 */
public record Registration(String target, String location, List<String> groups, Instant registeredAt, String epoch,
                           boolean defected, String keyFingerprint) {

    public Registration {
        groups = groups == null ? List.of() : List.copyOf(groups);
    }

    public Registration(String target, String location, List<String> groups, Instant registeredAt, String epoch,
                        boolean defected) {
        this(target, location, groups, registeredAt, epoch, defected, null);
    }

    public Registration withKeyFingerprint(String fingerprint) {
        return new Registration(target, location, groups, registeredAt, epoch, defected, fingerprint);
    }

    public boolean enlisted() {
        return !defected;
    }

    public Registration withGroups(List<String> newGroups) {
        return new Registration(target, location, newGroups, registeredAt, epoch, defected, keyFingerprint);
    }
}
