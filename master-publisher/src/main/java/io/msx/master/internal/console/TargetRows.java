package io.msx.master.internal.console;

import io.msx.master.TargetStatus;
import io.msx.master.TargetView;

import java.time.Duration;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * The targets table: the master's {@link TargetView}s filtered, sorted and written for people. Pure; thread-safe.
 */
public final class TargetRows {

    /** Rows the page shows at most; a larger fleet is narrowed with the filters. */
    public static final int MAX_ROWS = 2000;

    /** The filters and sort order the page sends. */
    public record Query(String status, String group, String text, String sort) {
        public static final Query ALL = new Query(null, null, null, "name");

        /** Parameters as they come from a form: blank is absent, values are bounded. */
        public static Query of(String status, String group, String text, String sort) {
            return new Query(clean(status), clean(group), clean(text), sort != null && SORTS.contains(sort) ? sort : "name");
        }

        private static String clean(String value) {
            if (value == null || value.isBlank()) {
                return null;
            }
            String v = value.strip();
            return v.length() > 200 ? v.substring(0, 200) : v;
        }
    }

    /** The orders the page offers. */
    public static final List<String> SORTS = List.of("name", "status", "last-poll", "unread", "spool", "location");

    /**
     * One row as the page writes it. What changes with the clock alone (the target's local time, the age of the last
     * poll) is written by the page's script from {@code zone}, {@code offsetMillis} and {@code lastPollReceivedIso},
     * so a row changes only when its target does.
     */
    public record Row(String name, String status, String statusLabel, String statusClass, String location,
                      String zone, long offsetMillis, String skew, String lastPoll, String lastPollIso,
                      String lastPollReceivedIso,
                      String trigger, String unread, String spool, String spoolOldest, String interval,
                      String agentVersion, String groups, boolean pending, String presentedKeyFingerprint,
                      boolean selected) {
    }

    /** The page's words for each status. */
    public static String label(TargetStatus status) {
        return switch (status) {
            case NORMAL -> "Normal";
            case RESYNC_PENDING -> "Re-sync pending";
            case SUSPECTED_OFFLINE -> "Suspected offline";
            case BLOCKED -> "Blocked";
            case PENDING -> "Pending acceptance";
        };
    }

    private TargetRows() {
    }

    /** The groups any target belongs to, sorted, for the group filter. */
    public static Set<String> groups(Collection<TargetView> targets) {
        Set<String> groups = new TreeSet<>();
        targets.forEach(t -> groups.addAll(t.groups()));
        return groups;
    }

    /** Whether a target passes the filters. */
    public static boolean matches(TargetView t, Query q) {
        if (q.status() != null && !t.status().name().equals(q.status())) {
            return false;
        }
        if (q.group() != null && !t.groups().contains(q.group())) {
            return false;
        }
        if (q.text() != null) {
            String needle = q.text().toLowerCase(Locale.ROOT);
            String hay = String.join(" ", t.name(), nz(t.location()), String.join(" ", t.groups()),
                    nz(t.agentVersion()), nz(t.timeZone()), label(t.status())).toLowerCase(Locale.ROOT);
            return hay.contains(needle);
        }
        return true;
    }

    /** The rows to show: filtered, sorted, at most {@link #MAX_ROWS}; {@code selected} names stay ticked. */
    public static List<Row> rows(List<TargetView> targets, Query q, Set<String> selected) {
        return targets.stream().filter(t -> matches(t, q)).sorted(order(q.sort())).limit(MAX_ROWS)
                .map(t -> row(t, selected.contains(t.name()))).toList();
    }

    /** How many targets pass the filters. */
    public static long count(List<TargetView> targets, Query q) {
        return targets.stream().filter(t -> matches(t, q)).count();
    }

    static Comparator<TargetView> order(String sort) {
        Comparator<TargetView> byName = Comparator.comparing(TargetView::name);
        Comparator<TargetView> first = switch (sort == null ? "name" : sort) {
            case "status" -> Comparator.comparing(TargetView::status);
            case "last-poll" -> Comparator.comparing(TargetView::lastPollReceivedAt,
                    Comparator.nullsFirst(Comparator.naturalOrder()));
            case "unread" -> Comparator.comparing((TargetView t) -> t.unreadInstructions() == null ? -1
                    : t.unreadInstructions()).reversed();
            case "spool" -> Comparator.comparingLong(TargetView::spoolDepth).reversed();
            case "location" -> Comparator.comparing(t -> nz(t.location()));
            default -> byName;
        };
        return first.thenComparing(byName);
    }

    static Row row(TargetView t, boolean selected) {
        String statusClass = switch (t.status()) {
            case NORMAL -> "ok";
            case RESYNC_PENDING, PENDING -> "warn";
            case SUSPECTED_OFFLINE, BLOCKED -> "bad";
        };
        String spool = t.spoolDepth() + (t.spoolFull() ? " (FULL)" : "");
        String oldest = t.spoolOldestAgeMillis() == null ? "-"
                : Formats.duration(Duration.ofMillis(t.spoolOldestAgeMillis()));
        return new Row(t.name(), t.status().name(), label(t.status()), statusClass, nz(t.location()),
                t.timeZone() == null ? "" : t.timeZone(), t.clockOffsetMillis() == null ? 0 : t.clockOffsetMillis(),
                Formats.skew(t.clockOffsetMillis()), Formats.utc(t.lastPoll()), Formats.iso(t.lastPoll()),
                Formats.iso(t.lastPollReceivedAt()),
                t.lastPollTrigger() == null ? "-" : t.lastPollTrigger(),
                t.unreadInstructions() == null ? "?" : t.unreadInstructions().toString(), spool, oldest,
                Formats.interval(t.pollingIntervalSeconds()), t.agentVersion() == null ? "-" : t.agentVersion(),
                t.groups().isEmpty() ? "-" : String.join(", ", t.groups()), t.status() == TargetStatus.PENDING,
                t.presentedKeyFingerprint(), selected);
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
