package io.msx;

/**
 * Marks an exception as a condition that passes by itself (a broker or registry away, a timeout, a full spool that
 * the relay is draining): {@link RetryPolicy#isTransient} retries it with back-off instead of failing the component.
 */
public interface TransientFailure {
}
