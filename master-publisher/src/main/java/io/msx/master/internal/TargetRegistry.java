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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * {@code (target, epoch, seq)}: a target's events share one partition, in order, so within the current installation
 * (epoch; a null epoch from an older agent counts as the epoch {@code ""}) any seq at or below the last one seen is a
 * replay and is ignored. An Enlist of another epoch is a new installation (a wiped, restored or cloned data directory)
 * whose seq starts again: the target switches to it. Any other event of an epoch that is not the current one is stale
 * (the old installation's replay, or a clone using the same name): ignored and counted. A seq more than
 * {@link #MAX_SEQ_JUMP} beyond the last of its epoch is refused, so a forged or corrupt header cannot make every
 * genuine event after it look like a replay. Every name it holds is a valid target name
 * ({@link Topics#requireValidTargetName}), so each has a topic. Thread-safe.
 */
public final class TargetRegistry {

    private static final Logger log = LoggerFactory.getLogger(TargetRegistry.class);

    /** Check-ins a target may miss before it is suspected offline. */
    static final int MISSED_POLLS_BEFORE_SUSPECT = 3;
    /** Polling intervals of a target after which a resync it still asks for is issued again. */
    static final int POLLS_BEFORE_RESYNC_REISSUED = 3;
    /** Job runs kept per target for history. */
    static final int HISTORY_PER_TARGET = 200;
    /**
     * How far a seq may jump beyond the last seq of its epoch. Within one installation seqs skip only events that never
     * reached the status topic (dead-lettered by the target), at most what a spool holds: at the default 256 MiB
     * {@code spool.max.bytes}, and some 30 bytes at least per event, under ten million. A larger jump is a forged or
     * corrupt header and is refused.
     */
    public static final long MAX_SEQ_JUMP = 10_000_000L;
    /** At most one WARN per target about stale events in this time. */
    static final Duration STALE_WARNING_INTERVAL = Duration.ofMinutes(1);

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
            entry.resyncPending(lastInstructionId, clock.instant());
        }
    }

    /**
     * Whether the master should now resync a target that asks for it (in its last check-in), and if so claims it:
     * true at most once per {@value #POLLS_BEFORE_RESYNC_REISSUED} of the target's polling intervals, counting every
     * resync posted to its current installation (an operator's too), so a target that still asks after that gets
     * another.
     */
    public boolean claimRequestedResync(String target) {
        Entry entry = targets.get(target);
        return entry != null && entry.claimRequestedResync(clock.instant());
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
     * @return false when it was a replay or stale (of an installation that is not the target's current one) and
     * changed nothing, or concerns a target that is not enlisted
     * @throws IllegalArgumentException when an Enlist names a target that cannot be a target name, the seq jumps
     *                                  more than {@link #MAX_SEQ_JUMP} beyond the last of its epoch (nothing is
     *                                  changed), or the record is not a status event
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
        /** The current installation; null before the first event. */
        private String epoch;
        /** The installation before the current one, to see two installations alternate. */
        private String previousEpoch;
        private long lastSeq;
        private long staleEvents;
        private Instant staleWarnedAt;
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
        /** When a resync was last posted or claimed for the current installation, master clock. */
        private Instant resyncIssuedAt;
        private boolean resyncRequested;
        private String resyncReason;
        private long instructionsLost;
        private long deadLetteredEvents;
        private long undecodableInstructions;
        private Long clockOffsetMillis;

        Entry(String name) {
            this.name = name;
        }

        synchronized void resyncPending(String lastInstructionId, Instant now) {
            resyncAwaiting = lastInstructionId;
            resyncIssuedAt = now;
        }

        synchronized boolean claimRequestedResync(Instant now) {
            Duration window = Duration.ofSeconds((long) pollingIntervalSeconds * POLLS_BEFORE_RESYNC_REISSUED);
            if (!resyncRequested || resyncIssuedAt != null && now.isBefore(resyncIssuedAt.plus(window))) {
                return false;
            }
            resyncIssuedAt = now;
            return true;
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
            String eventEpoch = header.getEpoch() == null ? "" : header.getEpoch();
            boolean otherEpoch = epoch != null && !epoch.equals(eventEpoch);
            if (otherEpoch && !(body instanceof Enlist)) {
                stale(eventEpoch, now);
                return false;
            }
            long seq = header.getSeq();
            long last = otherEpoch ? 0 : lastSeq; // a new installation counts from 1 again
            if (seq <= last) {
                return false;
            }
            // The first event seen has nothing to jump from (the status topic's retention may have removed the
            // earlier ones): it is taken as it is.
            // Another installation's Enlist is measured from the current epoch's last seq: a wiped store starts at
            // 1, a restored or cloned one somewhere below it, an upgraded one that gets its first epoch just above.
            long from = otherEpoch ? lastSeq : last;
            if (epoch != null && seq - from > MAX_SEQ_JUMP) { // no overflow: seq > from >= 0
                throw new IllegalArgumentException(String.format("seq %,d of target %s (epoch '%s') jumps more "
                        + "than %,d beyond its last seq %,d: refused as forged or corrupt", seq, name, eventEpoch,
                        MAX_SEQ_JUMP, from));
            }
            if (otherEpoch) {
                switchTo(eventEpoch);
            }
            epoch = eventEpoch;
            lastSeq = seq;
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
                resyncRequested = checkIn.getResyncRequested();
                resyncReason = checkIn.getResyncRequested() ? checkIn.getResyncReason() : null;
                instructionsLost = checkIn.getInstructionsLost();
                deadLetteredEvents = checkIn.getDeadLetteredEvents();
                undecodableInstructions = checkIn.getUndecodableInstructions();
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

        /** A new installation enlisted: what the master knew of the previous one's state no longer holds. */
        private void switchTo(String newEpoch) {
            if (newEpoch.equals(previousEpoch)) {
                log.warn("Target {} switched back from epoch '{}' to '{}': two installations (e.g. a cloned data "
                        + "directory) claim the name {}; stop one of them", name, epoch, newEpoch, name);
            } else {
                log.info("Target {} reinstalled: epoch '{}' -> '{}'", name, epoch, newEpoch);
            }
            previousEpoch = epoch;
            resyncIssuedAt = null;
            resyncRequested = false;
            resyncReason = null;
            spoolDepth = 0;
            spoolFull = false;
            instructionsLost = 0;
            deadLetteredEvents = 0;
            undecodableInstructions = 0;
        }

        private void stale(String eventEpoch, Instant now) {
            staleEvents++;
            if (staleWarnedAt == null || !now.isBefore(staleWarnedAt.plus(STALE_WARNING_INTERVAL))) {
                staleWarnedAt = now;
                log.warn("Target {}: ignoring events of epoch '{}', its current installation is epoch '{}' ({} stale "
                        + "event(s) so far): a replay of an earlier installation, or another installation using the "
                        + "name", name, eventEpoch, epoch, staleEvents);
            }
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
                    spoolFull, clockOffsetMillis, null, lastSeq, epoch, staleEvents, resyncReason, instructionsLost,
                    deadLetteredEvents, undecodableInstructions);
        }

        private TargetStatus status(Instant now) {
            if (spoolFull) {
                return TargetStatus.BLOCKED;
            }
            if (resyncAwaiting != null || resyncRequested) {
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
