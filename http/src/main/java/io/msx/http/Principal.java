package io.msx.http;

/**
 * Who made a request: the name of the token it carried and that token's role.
 *
 * @param name the token's name from the tokens file ({@link #ANONYMOUS}'s when no tokens are configured)
 */
public record Principal(String name, Role role) {

    /** Every caller when the server has no tokens file: allowed everything, verified nothing. */
    public static final Principal ANONYMOUS = new Principal("anonymous", Role.OPERATOR);
}
