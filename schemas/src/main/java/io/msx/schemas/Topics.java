package io.msx.schemas;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Names of every msx topic under one prefix ({@code msx.} by default; integration tests use a unique one each).
 * Target names become part of a topic name, so they are restricted to what Kafka allows.
 */
public final class Topics {

    public static final String DEFAULT_PREFIX = "msx.";
    private static final Pattern LEGAL_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
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

    /** The dead-letter topic of a topic. */
    public static String deadLetter(String topic) {
        return topic + ".dlq";
    }

    /**
     * @throws IllegalArgumentException naming the rule when {@code name} cannot be a target name
     */
    public static String requireValidTargetName(String name) {
        if (name == null || !LEGAL_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("invalid target name '" + name + "': use 1 to 100 letters, digits, "
                    + "'.', '_' or '-', starting with a letter or digit");
        }
        return name;
    }
}
