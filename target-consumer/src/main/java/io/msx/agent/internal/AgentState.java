package io.msx.agent.internal;

import java.time.Duration;

/** What the agent knows about itself that check-ins report. Thread-safe. */
public final class AgentState {

    private volatile Duration pollInterval;
    private volatile Long lastAppliedOffset;

    public AgentState(Duration pollInterval) {
        this.pollInterval = pollInterval;
    }

    public Duration pollInterval() {
        return pollInterval;
    }

    public void pollInterval(Duration interval) {
        this.pollInterval = interval;
    }

    /** Offset of the last instruction applied, or null before the first. */
    public Long lastAppliedOffset() {
        return lastAppliedOffset;
    }

    public void lastAppliedOffset(long offset) {
        this.lastAppliedOffset = offset;
    }
}
