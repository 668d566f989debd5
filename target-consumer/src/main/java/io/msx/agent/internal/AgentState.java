package io.msx.agent.internal;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the agent knows about itself that check-ins report: the in-memory mirror of what {@link AgentMeta} stores,
 * updated only after the batch that stores it is durable. Thread-safe.
 */
public final class AgentState {

    private volatile Duration pollInterval;
    private volatile Long lastAppliedOffset;
    private volatile String epoch;
    private volatile String resyncReason;
    private volatile boolean positioned;
    private final AtomicLong instructionsLost = new AtomicLong();
    private final AtomicLong undecodable = new AtomicLong();
    private final AtomicLong instructionSeq = new AtomicLong();

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

    /** This installation's epoch, carried in every status event. */
    public String epoch() {
        return epoch;
    }

    public void epoch(String epoch) {
        this.epoch = epoch;
    }

    /** Why the agent waits for a resync, or null. */
    public String resyncReason() {
        return resyncReason;
    }

    public void resyncReason(String reason) {
        this.resyncReason = reason;
    }

    /**
     * True once the instruction loop has chosen where it reads from: only then may a check-in ask for a resync, so the
     * master's answer is posted after that position and cannot be missed.
     */
    public boolean positioned() {
        return positioned;
    }

    public void positioned(boolean positioned) {
        this.positioned = positioned;
    }

    public long instructionsLost() {
        return instructionsLost.get();
    }

    public void instructionsLost(long total) {
        instructionsLost.set(total);
    }

    /** The sequence number of the last signed instruction applied (durable), 0 before any. */
    public long instructionSeq() {
        return instructionSeq.get();
    }

    public void instructionSeq(long seq) {
        instructionSeq.set(seq);
    }

    public long undecodable() {
        return undecodable.get();
    }

    public void undecodable(long total) {
        undecodable.set(total);
    }
}
