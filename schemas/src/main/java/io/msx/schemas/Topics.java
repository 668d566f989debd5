package io.msx.schemas;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Names of every msx topic under one prefix ({@code msx.} by default; integration tests use a unique one each).
 * Target names become part of a topic name, so they follow a rule under which two different names can never map to
 * the same or colliding topics: letters, digits, '.' and '-' only (Kafka treats '.' and '_' alike in topic names, so
 * {@code C.1} and {@code C_1} would collide: '_' is not allowed), at most 100 characters, and not ending in
 * {@code .dlq} (the suffix of dead-letter topics, so {@code T1.dlq} would be the dead-letter topic of {@code T1}).
 * Group names follow the same rule, so a name can move between the two.
 */
public final class Topics {

    public static final String DEFAULT_PREFIX = "msx.";
    /** Longest target or group name. */
    public static final int MAX_NAME_LENGTH = 100;
    private static final Pattern LEGAL_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9.-]{0,99}");
    private static final String DLQ_SUFFIX = ".dlq";
    private static final Pattern LEGAL_PREFIX = Pattern.compile("[A-Za-z0-9._-]{0,100}");

    private final String prefix;

    public Topics(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        if (!LEGAL_PREFIX.matcher(prefix).matches()) {
            throw new IllegalArgumentException("topic prefix may use only letters, digits, '.', '_' and '-' (at most "
                    + "100): '" + prefix + "'");
        }
        this.prefix = prefix;
    }

    public static Topics defaults() {
        return new Topics(DEFAULT_PREFIX);
    }

    public String prefix() {
        return prefix;
    }

    public String commands() {
        return prefix + "commands";
    }

    public String commandResults() {
        return prefix + "command-results";
    }

    public String status() {
        return prefix + "status";
    }

    public String jobs() {
        return prefix + "jobs";
    }

    public String targets() {
        return prefix + "targets";
    }

    /** The instruction topic of one target: {@code <prefix>target.<name>}. */
    public String target(String name) {
        return prefix + "target." + requireValidTargetName(name);
    }

    /**
     * The consumer group of one target's agent: its committed offset on {@link #target(String)} marks what the target
     * has applied, so the master reads unread instructions as this group's lag. Named like the topic it reads.
     */
    public String targetConsumerGroup(String name) {
        return prefix + "target." + requireValidTargetName(name);
    }

    /** The dead-letter topic of a topic. */
    public static String deadLetter(String topic) {
        return topic + DLQ_SUFFIX;
    }

    /**
     * @throws IllegalArgumentException naming the rule (and the collision it prevents) when {@code name} cannot be a
     *                                  target name
     */
    public static String requireValidTargetName(String name) {
        return requireValidName("target", name);
    }

    /**
     * @throws IllegalArgumentException naming the rule when {@code name} cannot be a group name
     */
    public static String requireValidGroupName(String name) {
        return requireValidName("group", name);
    }

    private static String requireValidName(String kind, String name) {
        if (name != null && name.indexOf('_') >= 0 && LEGAL_NAME.matcher(name.replace('_', '.')).matches()) {
            throw new IllegalArgumentException("invalid " + kind + " name '" + name + "': '_' is not allowed, "
                    + "because Kafka topic names treat '.' and '_' alike ('" + name + "' would collide with '"
                    + name.replace('_', '.') + "'); use '.' or '-'");
        }
        if (name == null || !LEGAL_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("invalid " + kind + " name '" + abbreviate(name) + "': use 1 to "
                    + MAX_NAME_LENGTH + " letters, digits, '.' or '-', starting with a letter or digit");
        }
        if (name.endsWith(DLQ_SUFFIX)) {
            throw new IllegalArgumentException("invalid " + kind + " name '" + name + "': it may not end in '"
                    + DLQ_SUFFIX + "', the suffix of dead-letter topics (its topic would collide with the dead-letter "
                    + "topic of '" + name.substring(0, name.length() - DLQ_SUFFIX.length()) + "')");
        }
        return name;
    }

    private static String abbreviate(String name) {
        return name == null || name.length() <= 120 ? name : name.substring(0, 120) + "...(" + name.length()
                + " characters)";
    }
}
