package io.msx.agent;

import io.msx.MsxException;

/** The agent cannot start or go on: its state directory, its configuration or its topic is unusable. */
public class TargetAgentException extends MsxException {

    public TargetAgentException(String message) {
        super(message);
    }

    public TargetAgentException(String message, Throwable cause) {
        super(message, cause);
    }
}
