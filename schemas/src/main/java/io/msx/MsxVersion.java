package io.msx;

/**
 * The version of msx (every module is built and released together): what an agent reports when it enlists and checks
 * in, and what {@code msx --version} prints. Read from the jar manifest, or {@code dev} when run from classes.
 *
 * <p>Thread-safe (stateless).
 */
public final class MsxVersion {

    private MsxVersion() {
    }

    public static String current() {
        String version = MsxVersion.class.getPackage().getImplementationVersion();
        return version == null ? "dev" : version;
    }
}
