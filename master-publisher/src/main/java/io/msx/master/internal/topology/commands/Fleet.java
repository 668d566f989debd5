package io.msx.master.internal.topology.commands;

import io.msx.avro.JobDefinition;
import io.msx.master.internal.topology.JobStore;
import io.msx.master.internal.topology.Registrations;
import io.msx.schemas.Topics;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * What the command handlers decide on: the registrations (with the group index) and the jobs, and the rules that
 * combine them: where a job runs, which targets are unknown. Called from the stream thread only.
 */
public final class Fleet {

    /** Enlisted names listed in an "unknown target" rejection at most; the rest are counted. */
    static final int NAMES_LISTED = 20;

    private final Registrations registrations;
    private final JobStore jobs;
    /** Group members read during the decision under way (nothing is stored while deciding). */
    private final Map<String, List<String>> members = new HashMap<>();

    public Fleet(Registrations registrations, JobStore jobs) {
        this.registrations = registrations;
        this.jobs = jobs;
    }

    /** Starts a new decision: what was read for the previous one may have changed. */
    void newDecision() {
        members.clear();
    }

    /** Members of a group, read once per decision. */
    List<String> members(String group) {
        return members.computeIfAbsent(group, registrations::members);
    }

    public Registrations registrations() {
        return registrations;
    }

    public JobStore jobs() {
        return jobs;
    }

    /**
     * The job as posted to one target: its target list is that target alone. A target needs no other name, and a
     * job of 10,000 named targets would otherwise make each of its 10,000 instructions carry all 10,000 names.
     */
    static JobDefinition postedTo(JobDefinition job, String target) {
        return JobDefinition.newBuilder(job).setTargets(List.of(target)).build();
    }

    /** Where a job runs: its named targets and the current members of its groups, sorted, once each. */
    public List<String> targetsOf(JobDefinition job) {
        return targetsOf(job, Map.of());
    }

    /** Where a job would run if the targets in {@code regrouped} (enlisted or not) had those groups. */
    public List<String> targetsOf(JobDefinition job, Map<String, List<String>> regrouped) {
        SortedSet<String> targets = new TreeSet<>(job.getTargets());
        for (String group : job.getGroups()) {
            members(group).stream().filter(t -> !regrouped.containsKey(t)).forEach(targets::add);
        }
        regrouped.forEach((target, groups) -> {
            if (groups.stream().anyMatch(job.getGroups()::contains)) {
                targets.add(target);
            }
        });
        return List.copyOf(targets);
    }

    /**
     * The jobs assigned to each of {@code targets}: one pass over the jobs, each group expanded once from the index,
     * so the cost grows with targets plus jobs, not with their product.
     */
    public Map<String, List<JobDefinition>> assignedTo(Collection<String> targets) {
        Set<String> wanted = Set.copyOf(targets);
        Map<String, List<JobDefinition>> assigned = new HashMap<>();
        for (JobDefinition job : jobs.all()) {
            SortedSet<String> runsOn = new TreeSet<>(job.getTargets());
            for (String group : job.getGroups()) {
                runsOn.addAll(members(group));
            }
            for (String target : runsOn) {
                if (wanted.contains(target)) {
                    assigned.computeIfAbsent(target, t -> new ArrayList<>()).add(job);
                }
            }
        }
        return assigned;
    }

    /**
     * The names that are not enlisted.
     *
     * @throws IllegalArgumentException naming the rule (and the collision it prevents) for a name that can never be
     *                                  a target, so an operator learns why rather than that it is unknown
     */
    public List<String> unknown(Collection<String> names) {
        List<String> unknown = names.stream().filter(t -> !registrations.contains(t)).toList();
        unknown.forEach(Topics::requireValidTargetName);
        return unknown;
    }

    /** The reason for a rejection naming unknown targets, optionally with (some of) the enlisted ones. */
    public String unknownReason(List<String> unknown, boolean listEnlisted) {
        String reason = unknown.size() == 1 ? "unknown target '" + unknown.get(0) + "'"
                : "unknown targets " + abbreviated(unknown);
        if (!listEnlisted) {
            return reason;
        }
        List<String> enlisted = registrations.names();
        return reason + (enlisted.isEmpty() ? " (no targets are enlisted)" : " (enlisted: "
                + String.join(", ", abbreviated(enlisted)) + ")");
    }

    private static List<String> abbreviated(List<String> names) {
        if (names.size() <= NAMES_LISTED) {
            return names;
        }
        List<String> some = new ArrayList<>(names.subList(0, NAMES_LISTED));
        some.add("... " + (names.size() - NAMES_LISTED) + " more");
        return some;
    }
}
