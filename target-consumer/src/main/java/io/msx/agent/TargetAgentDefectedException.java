package io.msx.agent;

/**
 * The master defected this target: its data directory says so, and the agent refuses to run (it would otherwise
 * enlist again) until the directory is reset on purpose. Not an error: {@code msx agent run} exits 0 on it.
 */
public class TargetAgentDefectedException extends TargetAgentException {

    public TargetAgentDefectedException(String message) {
        super(message);
    }
}
