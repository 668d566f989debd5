package io.msx.agent;

/** The version of the msx agent, from the jar manifest (the build) or {@code dev} when run from classes. */
public final class AgentVersion {

    private AgentVersion() {
    }

    public static String current() {
        String version = AgentVersion.class.getPackage().getImplementationVersion();
        return version == null ? "dev" : version;
    }
}
