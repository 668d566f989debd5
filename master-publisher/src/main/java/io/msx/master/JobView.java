package io.msx.master;

import java.util.List;

/**
 * A job as {@code msx job list} shows it.
 *
 * @param jobId id
 * @param name name
 * @param version definition version
 * @param enabled whether its schedules fire
 * @param targets targets it is assigned to
 * @param steps number of steps
 * @param schedules schedule names
 */
public record JobView(String jobId, String name, long version, boolean enabled, List<String> targets, int steps,
                      List<String> schedules) {
}
