package io.msx.master.internal.topology;

import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The registered targets and the group index, over two stores of the command sub-topology (its only writer):
 * {@code registrations} (target to {@link Registration}) and {@code group-members} (group NUL target to nothing), so
 * the members of a group are one prefix scan, not a pass over every target. Defected targets stay in the
 * registrations store (so their installation's Enlists are not taken for new ones) but belong to no group and count
 * as not enlisted. Called from the stream thread only.
 */
public final class Registrations {

    private static final char SEPARATOR = '\0';
    private static final StringSerializer KEYS = new StringSerializer();

    private final KeyValueStore<String, byte[]> registrations;
    private final KeyValueStore<String, byte[]> groupMembers;

    public Registrations(KeyValueStore<String, byte[]> registrations, KeyValueStore<String, byte[]> groupMembers) {
        this.registrations = registrations;
        this.groupMembers = groupMembers;
    }

    /** A target's registration, defected or not. */
    public Optional<Registration> get(String target) {
        byte[] bytes = registrations.get(target);
        return bytes == null ? Optional.empty() : Optional.of(JsonStore.read(bytes, Registration.class));
    }

    /** Whether a target is enlisted (registered and not defected). */
    public boolean contains(String target) {
        return get(target).map(Registration::enlisted).orElse(false);
    }

    /** An enlisted target's groups, sorted; empty for one that is not enlisted. */
    public List<String> groups(String target) {
        return get(target).filter(Registration::enlisted).map(Registration::groups).orElse(List.of());
    }

    /** Every enlisted target, in name order. */
    public void forEach(Consumer<Registration> action) {
        try (KeyValueIterator<String, byte[]> all = registrations.all()) {
            while (all.hasNext()) {
                Registration r = JsonStore.read(all.next().value, Registration.class);
                if (r.enlisted()) {
                    action.accept(r);
                }
            }
        }
    }

    /** Enlisted target names, sorted. */
    public List<String> names() {
        List<String> names = new ArrayList<>();
        forEach(r -> names.add(r.target()));
        return names;
    }

    /** Members of a group, sorted; empty when nobody is in it. */
    public List<String> members(String group) {
        List<String> members = new ArrayList<>();
        String prefix = group + SEPARATOR;
        try (KeyValueIterator<String, byte[]> scan = groupMembers.prefixScan(prefix, KEYS)) {
            while (scan.hasNext()) {
                members.add(scan.next().key.substring(prefix.length()));
            }
        }
        return members;
    }

    /** Every group and its members, sorted. */
    public SortedMap<String, List<String>> allGroups() {
        SortedMap<String, List<String>> groups = new TreeMap<>();
        try (KeyValueIterator<String, byte[]> all = groupMembers.all()) {
            while (all.hasNext()) {
                KeyValue<String, byte[]> entry = all.next();
                int cut = entry.key.indexOf(SEPARATOR);
                groups.computeIfAbsent(entry.key.substring(0, cut), g -> new ArrayList<>())
                        .add(entry.key.substring(cut + 1));
            }
        }
        return groups;
    }

    /** Stores a registration and keeps the group index in step with it. */
    public void put(Registration registration) {
        Set<String> before = new HashSet<>(groups(registration.target()));
        Set<String> after = registration.enlisted() ? new HashSet<>(registration.groups()) : Set.of();
        before.stream().filter(g -> !after.contains(g)).forEach(g -> groupMembers.delete(g + SEPARATOR
                + registration.target()));
        after.stream().filter(g -> !before.contains(g)).forEach(g -> groupMembers.put(g + SEPARATOR
                + registration.target(), new byte[0]));
        registrations.put(registration.target(), JsonStore.write(registration));
    }
}
