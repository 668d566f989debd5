package io.msx.http;

import java.util.Locale;

/** What a bearer token may do. Roles are ordered: each includes the ones before it. */
public enum Role {
    /** Views, job history (with step output), instructions, metrics, health. */
    READ,
    /** Everything {@link #READ} may, and submitting commands. */
    OPERATOR;

    /** Whether a caller with this role may do what {@code required} allows. */
    public boolean includes(Role required) {
        return compareTo(required) >= 0;
    }

    /** The name in tokens files and messages: {@code read}, {@code operator}. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @throws IllegalArgumentException naming the roles there are
     */
    public static Role parse(String value) {
        for (Role role : values()) {
            if (role.wireName().equalsIgnoreCase(value)) {
                return role;
            }
        }
        throw new IllegalArgumentException("unknown role '" + value + "' (use read or operator)");
    }
}
