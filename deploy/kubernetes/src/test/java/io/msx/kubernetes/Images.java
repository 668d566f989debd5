package io.msx.kubernetes;

import org.apache.kafka.common.utils.AppInfoParser;

import java.util.Map;

/** The images the manifests may run: the one the build produces, and the public images of the dev overlay. */
final class Images {

    private Images() {
    }

    /** The repository the build's image is pushed as; a registry host and path may stand before it. */
    static final String MSX_REPOSITORY = "msx";

    /** {@code msx:<project version>}, as Jib builds it (the pom passes the version). */
    static String msxTag() {
        String tag = System.getProperty("msx.image.tag");
        if (tag == null || tag.isBlank()) {
            throw new AssertionError("system property msx.image.tag (the project version) is not set: run the tests "
                    + "through Maven");
        }
        return tag;
    }

    /** Public images and the tags they must have: the versions the build itself uses. */
    static Map<String, String> thirdParty() {
        String apicurio = System.getProperty("msx.apicurio.version");
        if (apicurio == null || apicurio.isBlank()) {
            throw new AssertionError("system property msx.apicurio.version is not set: run the tests through Maven");
        }
        return Map.of(
                // the Kafka the code is built against (kafka-clients on the test classpath)
                "apache/kafka", AppInfoParser.getVersion(),
                "quay.io/apicurio/apicurio-registry-mem", apicurio,
                // the workload of the sidecar example
                "nginxinc/nginx-unprivileged", "1.27-alpine");
    }

    static String repository(String image) {
        int at = image.indexOf('@');
        String withoutDigest = at < 0 ? image : image.substring(0, at);
        int colon = withoutDigest.lastIndexOf(':');
        return colon > withoutDigest.lastIndexOf('/') ? withoutDigest.substring(0, colon) : withoutDigest;
    }

    static String tag(String image) {
        String repository = repository(image);
        String rest = image.substring(repository.length());
        return rest.startsWith(":") ? rest.substring(1).split("@")[0] : "";
    }

    static boolean isMsx(String image) {
        String repository = repository(image);
        return repository.equals(MSX_REPOSITORY) || repository.endsWith("/" + MSX_REPOSITORY);
    }
}
