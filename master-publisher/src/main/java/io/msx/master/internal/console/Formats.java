package io.msx.master.internal.console;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** How the console writes times, ages and durations. Stateless. */
public final class Formats {

    private static final DateTimeFormatter UTC = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'", Locale.ROOT)
            .withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss", Locale.ROOT)
            .withZone(ZoneOffset.UTC);

    private Formats() {
    }

    /** {@code 2026-11-29 12:20:07 UTC}, or {@code -}. */
    public static String utc(Instant instant) {
        return instant == null ? "-" : UTC.format(instant);
    }

    /** {@code 12:20:07} (UTC), or {@code -}. */
    public static String clock(Instant instant) {
        return instant == null ? "-" : CLOCK.format(instant);
    }

    /** ISO-8601 for {@code datetime} attributes, or empty. */
    public static String iso(Instant instant) {
        return instant == null ? "" : instant.toString();
    }

    /** {@code 850 ms}, {@code 12 s}, {@code 3 min}, {@code 2 h}, {@code 4 d}. */
    public static String duration(Duration d) {
        long ms = d.toMillis();
        if (ms < 1000) {
            return ms + " ms";
        }
        long s = d.toSeconds();
        if (s < 120) {
            return s + " s";
        }
        if (s < 2 * 3600) {
            return s / 60 + " min";
        }
        if (s < 2 * 86400) {
            return s / 3600 + " h";
        }
        return s / 86400 + " d";
    }

    /** {@code +1.250 s} (target ahead), {@code -0.003 s}, or {@code not measured}. */
    public static String skew(Long offsetMillis) {
        if (offsetMillis == null) {
            return "not measured";
        }
        return String.format(Locale.ROOT, "%+.3f s", offsetMillis / 1000.0);
    }

    /** {@code 60 s}, {@code 5 min}, {@code 2 h} for whole minutes and hours. */
    public static String interval(int seconds) {
        if (seconds >= 3600 && seconds % 3600 == 0) {
            return seconds / 3600 + " h";
        }
        if (seconds >= 120 && seconds % 60 == 0) {
            return seconds / 60 + " min";
        }
        return seconds + " s";
    }
}
