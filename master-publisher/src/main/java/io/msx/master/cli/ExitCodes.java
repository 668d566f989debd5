package io.msx.master.cli;

/** Exit codes of {@code msx}; ops scripts depend on them. */
public final class ExitCodes {

    public static final int OK = 0;
    /** The master rejected the command, or an operation failed. */
    public static final int FAILED = 1;
    /** Bad options or arguments. */
    public static final int USAGE = 2;
    /** {@code --wait} ran out of {@code --timeout}. */
    public static final int TIMED_OUT = 3;

    private ExitCodes() {
    }
}
