package io.msx.master.internal;

import io.msx.avro.StatusHeader;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.ClockReport;
import io.msx.avro.status.Enlist;
import io.msx.avro.status.InstructionAck;
import io.msx.avro.status.JobOutcome;
import io.msx.master.TargetStatus;
import io.msx.master.TargetView;
import io.msx.schemas.MessageFamily;
import io.msx.schemas.Topics;
import org.apache.avro.specific.SpecificRecord;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The master's registry of targets and its view of each, fed by status events. Deduplicates by
 * {@code (target, seq)}: a target's events share one partition, in order, so any seq at or below the highest seen is
 * a replay and is ignored. Every name it holds is a valid target name ({@link Topics#requireValidTargetName}), so
 * each has a topic. Thread-safe.
 */
public final class TargetRegistry {

    /** Check-ins a target may miss before it is suspected offline. */
    static final int MISSED_POLLS_BEFORE_SUSPECT = 3;
    /** Job runs kept per target for history. */
    static final int HISTORY_PER_TARGET = 200;

    private final Clock clock;
    private final ConcurrentMap<String, Entry> targets = new ConcurrentHashMap<>();

    public TargetRegistry(Clock clock) {
        this.clock = clock;
    }

    /** Whether a target is enlisted. */
    public boolean contains(String target) {
        return targets.containsKey(target);
    }

    /** Enlisted target names, sorted. */
    public List<String> names() {
        return targets.keySet().stream().sorted().toList();
    }

    /** A resync was posted to the target: it is RESYNC_PENDING until it acknowledges {@code lastInstructionId}. */
    public void resyncPosted(String target, String lastInstructionId) {
        Entry entry = targets.get(target);
        if (entry != null) {
            entry.resyncPending(lastInstructionId);
        }
    }

    /** Forgets a defected target; its later events are ignored until it enlists again. */
    public void remove(String target) {
        targets.remove(target);
    }

    /** Registers a target an operator named before it enlisted itself. */
    public void preRegister(String target, String location) {
        preRegister(target, location, null);
    }

    /**
     * Registers a target (or updates it); {@code groups} null keeps its groups.
     *
     * @throws IllegalArgumentException naming the rule when {@code target} cannot be a target name
     */
    public void preRegister(String target, String location, List<String> groups) {
        Topics.requireValidTargetName(target);
        Entry entry = targets.computeIfAbsent(target, Entry::new);
        entry.preRegister(location);
        if (groups != null) {
            entry.groups(groups);
        }
    }

    /** A target's groups, sorted; empty for an unknown target. */
    public List<String> groups(String target) {
        Entry entry = targets.get(target);
        return entry == null ? List.of() : entry.groups();
    }

    public void groups(String target, List<String> groups) {
        Entry entry = targets.get(target);
        if (entry != null) {
            entry.groups(groups);
        }
    }

    /** Where a target is, or null. */
    public String location(String target) {
        Entry entry = targets.get(target);
        return entry == null ? null : entry.location();
    }

    /** Members of a group, sorted; empty when nobody is in it. */
    public List<String> members(String group) {
        return targets.values().stream().filter(e -> e.groups().contains(group)).map(e -> e.name).sorted().toList();
    }

    /** Every group and its members. */
    public java.util.SortedMap<String, List<String>> allGroups() {
        java.util.SortedMap<String, List<String>> groups = new java.util.TreeMap<>();
        targets.values().forEach(e -> e.groups().forEach(g -> groups.computeIfAbsent(g, k -> new java.util.ArrayList<>())
                .add(e.name)));
        groups.values().forEach(members -> members.sort(null));
        return groups;
    }

    /**
     * Forgets the targets that are neither in {@code registered} (the registrations Kafka holds) nor enlisted by an
     * Enlist event of their own: what an aborted transaction pre-registered in memory.
     */
    public void forgetUnregistered(java.util.Set<String> registered) {
        targets.values().removeIf(e -> !registered.contains(e.name) && !e.selfEnlisted());
    }

    /**
     * Applies one status event (a record of the {@link MessageFamily#STATUS} family).
     *
     * @return false when it was a replay and changed nothing, or concerns a target that is not enlisted
     * @throws IllegalArgumentException when an Enlist names a target that cannot be a target name, or the record
     *                                  is not a status event
     */
    public boolean apply(SpecificRecord event) {
        StatusHeader header = MessageFamily.STATUS.header(event);
        Entry entry;
        if (event instanceof Enlist) {
            Topics.requireValidTargetName(header.getTarget());
            entry = targets.computeIfAbsent(header.getTarget(), Entry::new);
        } else {
            entry = targets.get(header.getTarget());
        }
        if (entry == null) {
            return false; // not enlisted (defected or never enlisted): nothing to update
        }
        return entry.apply(event, header, clock.instant());
    }

    public Optional<TargetView> view(String target) {
        Entry entry = targets.get(target);
        return entry == null ? Optional.empty() : Optional.of(entry.view(clock.instant()));
    }

    /** Runs of a job on every target, oldest first. */
    public List<io.msx.master.JobRunView> history(String jobId) {
        List<io.msx.master.JobRunView> runs = new java.util.ArrayList<>();
        targets.values().forEach(e -> runs.addAll(e.history(jobId)));
        runs.sort(Comparator.comparing(io.msx.master.JobRunView::startedAt));
        return runs;
    }

    public List<TargetView> views() {
        Instant now = clock.instant();
        return targets.values().stream().map(e -> e.view(now)).sorted(Comparator.comparing(TargetView::name)).toList();
    }

    private static final class Entry {
        private final String name;
        private long lastSeq;
        private final java.util.ArrayDeque<io.msx.master.JobRunView> history = new java.util.ArrayDeque<>();
        private final java.util.Set<String> seenRuns = new java.util.HashSet<>();
        private String location;
        private java.util.SortedSet<String> groupSet = new java.util.TreeSet<>();
        private String agentVersion;
        private String timeZone;
        private int pollingIntervalSeconds = 60;
        private Instant enlistedAt;
        private Instant lastPoll;
        private Instant lastPollReceivedAt;
        private Instant registeredAt;
        private String lastPollTrigger;
        private String lastAnsweredInstructionId;
        private long spoolDepth;
        private boolean spoolFull;
        private String resyncAwaiting;
        private Long clockOffsetMillis;

        Entry(String name) {
            this.name = name;
        }

        synchronized void resyncPending(String lastInstructionId) {
            resyncAwaiting = lastInstructionId;
        }

        synchronized List<String> groups() {
            return List.copyOf(groupSet);
        }

        synchronized void groups(List<String> groups) {
            groupSet = new java.util.TreeSet<>(groups);
        }

        synchronized String location() {
            return location;
        }

        synchronized void preRegister(String location) {
            if (location != null) {
                this.location = location;
            }
        }

        synchronized boolean selfEnlisted() {
            return enlistedAt != null;
        }

        synchronized boolean apply(SpecificRecord body, StatusHeader header, Instant now) {
            if (header.getSeq() <= lastSeq) {
                return false;
            }
            lastSeq = header.getSeq();
            if (registeredAt == null) {
                registeredAt = now;
            }
            if (body instanceof Enlist enlist) {
                enlistedAt = header.getOccurredAt();
                if (enlist.getLocation() != null) {
                    location = enlist.getLocation();
                }
                agentVersion = enlist.getAgentVersion();
                timeZone = enlist.getTimeZone();
                pollingIntervalSeconds = enlist.getPollingIntervalSeconds();
            } else if (body instanceof CheckIn checkIn) {
                lastPoll = checkIn.getLocalTime();
                lastPollReceivedAt = now;
                lastPollTrigger = checkIn.getTrigger().name();
                if (checkIn.getAnswersInstructionId() != null) {
                    lastAnsweredInstructionId = checkIn.getAnswersInstructionId().toString();
                }
                agentVersion = checkIn.getAgentVersion();
                timeZone = checkIn.getTimeZone();
                pollingIntervalSeconds = checkIn.getPollingIntervalSeconds();
                spoolDepth = checkIn.getSpoolDepth();
                spoolFull = checkIn.getSpoolFull();
            } else if (body instanceof ClockReport report) {
                clockOffsetMillis = Duration.between(report.getMasterTime(), report.getLocalTime()).toMillis();
            } else if (body instanceof JobOutcome outcome) {
                record(outcome);
            } else if (body instanceof InstructionAck ack) {
                if (ack.getInstructionId().toString().equals(resyncAwaiting)) {
                    resyncAwaiting = null;
                }
            }
            return true;
        }

        /** Keeps a run once (deduplicated by run id), dropping the oldest beyond the bound. */
        private void record(JobOutcome outcome) {
            String runId = outcome.getRunId().toString();
            if (!seenRuns.add(runId)) {
                return;
            }
            List<io.msx.master.JobRunView.Step> steps = outcome.getSteps().stream().map(s -> new io.msx.master.JobRunView.Step(
                    s.getStepId(), s.getName(), s.getAttempt(), s.getStatus().name(), s.getExitCode(), s.getMessage(),
                    s.getOutput(), s.getOutputTruncated())).toList();
            history.addLast(new io.msx.master.JobRunView(name, runId, outcome.getJobId(), outcome.getJobVersion(),
                    outcome.getTrigger(), outcome.getStatus().name(), outcome.getMessage(), outcome.getStartedAt(),
                    outcome.getEndedAt(), outcome.getDurationMillis(), steps));
            if (history.size() > HISTORY_PER_TARGET) {
                seenRuns.remove(history.removeFirst().runId());
            }
        }

        synchronized List<io.msx.master.JobRunView> history(String jobId) {
            return history.stream().filter(r -> r.jobId().equals(jobId)).toList();
        }

        synchronized TargetView view(Instant now) {
            return new TargetView(name, status(now), location, List.copyOf(groupSet), agentVersion, timeZone, pollingIntervalSeconds,
                    enlistedAt, lastPoll, lastPollReceivedAt, lastPollTrigger, lastAnsweredInstructionId, spoolDepth,
                    spoolFull, clockOffsetMillis, null, lastSeq);
        }

        private TargetStatus status(Instant now) {
            if (spoolFull) {
                return TargetStatus.BLOCKED;
            }
            if (resyncAwaiting != null) {
                return TargetStatus.RESYNC_PENDING;
            }
            Instant seen = lastPollReceivedAt != null ? lastPollReceivedAt : registeredAt;
            Duration allowed = Duration.ofSeconds((long) pollingIntervalSeconds * MISSED_POLLS_BEFORE_SUSPECT);
            if (seen == null || Duration.between(seen, now).compareTo(allowed) > 0) {
                return TargetStatus.SUSPECTED_OFFLINE;
            }
            return TargetStatus.NORMAL;
        }
    }
}
