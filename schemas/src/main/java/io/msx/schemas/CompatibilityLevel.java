package io.msx.schemas;

/** Subject compatibility levels of the Confluent Schema Registry API. msx uses {@link #FULL_TRANSITIVE}. */
public enum CompatibilityLevel {
    NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE
}
