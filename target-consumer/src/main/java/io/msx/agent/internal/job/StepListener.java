package io.msx.agent.internal.job;

/**
 * Told about each step process a {@link JobRun} starts, on the run's thread, before the run waits for the process:
 * the place to record its process group durably, so that an agent restarted after a crash kills whatever survived
 * (see {@link Orphans#killSurvivors}). Blocking here delays the step's supervision, not the step; an exception is
 * logged and the step goes on (a restart still finds its processes by their environment).
 */
@FunctionalInterface
public interface StepListener {

    StepListener NONE = processGroup -> { };

    /** A step attempt started as the leader of process group {@code processGroup} (its pid). */
    void started(long processGroup);
}
