package io.msx.local;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

/**
 * How the embedded broker is secured: SASL_PLAINTEXT with SCRAM-SHA-512 users on the client listeners (TLS on the
 * broker is left out locally to keep start-up short; the REST API has TLS), PLAIN between the node and its own
 * controller, {@code StandardAuthorizer} with {@code allow.everyone.if.no.acl.found=false} and one super-user,
 * {@code admin}, whose random password lives only in this object. Other users are added with
 * {@code Admin.alterUserScramCredentials} and given ACLs.
 *
 * <p>Immutable and thread-safe.
 */
public final class KafkaSecurity {

    public static final String ADMIN = "admin";
    public static final String MECHANISM = "SCRAM-SHA-512";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String adminPassword;
    private final String controllerPassword;

    private KafkaSecurity(String adminPassword, String controllerPassword) {
        this.adminPassword = adminPassword;
        this.controllerPassword = controllerPassword;
    }

    /** New random passwords. */
    public static KafkaSecurity generate() {
        return new KafkaSecurity(password(), password());
    }

    /** The given super-user password (a container's, from its environment) and a random controller password. */
    static KafkaSecurity withAdminPassword(String adminPassword) {
        return new KafkaSecurity(adminPassword, password());
    }

    /** A random password of 24 bytes, base64url. */
    public static String password() {
        byte[] bytes = new byte[24];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** The settings a Kafka client of {@code user} needs besides its bootstrap servers. */
    public static Map<String, Object> clientSettings(String user, String password) {
        Map<String, Object> p = new HashMap<>();
        p.put("security.protocol", "SASL_PLAINTEXT");
        p.put("sasl.mechanism", MECHANISM);
        p.put("sasl.jaas.config", jaas("org.apache.kafka.common.security.scram.ScramLoginModule", user, password));
        return p;
    }

    /** The super-user's client settings. */
    public Map<String, Object> adminSettings() {
        return clientSettings(ADMIN, adminPassword);
    }

    /** The StorageTool argument that creates the super-user's SCRAM credential at format time. */
    String scramFormatArgument() {
        return MECHANISM + "=[name=" + ADMIN + ",password=" + adminPassword + "]";
    }

    /**
     * Broker settings for the listeners named: {@code clientListeners} take SCRAM, {@code controllerListener} takes
     * PLAIN for the node's own controller connection.
     */
    void applyTo(Properties p, String controllerListener, String... clientListeners) {
        StringBuilder map = new StringBuilder(controllerListener + ":SASL_PLAINTEXT");
        for (String listener : clientListeners) {
            map.append(',').append(listener).append(":SASL_PLAINTEXT");
            String prefix = "listener.name." + listener.toLowerCase(java.util.Locale.ROOT) + ".";
            p.put(prefix + "sasl.enabled.mechanisms", MECHANISM);
            p.put(prefix + MECHANISM.toLowerCase(java.util.Locale.ROOT) + ".sasl.jaas.config",
                    jaas("org.apache.kafka.common.security.scram.ScramLoginModule", ADMIN, adminPassword));
        }
        p.put("listener.security.protocol.map", map.toString());
        String controller = "listener.name." + controllerListener.toLowerCase(java.util.Locale.ROOT) + ".";
        p.put(controller + "sasl.enabled.mechanisms", "PLAIN");
        p.put(controller + "plain.sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule "
                + "required username=\"controller\" password=\"" + controllerPassword + "\" user_controller=\""
                + controllerPassword + "\";");
        p.put("sasl.mechanism.controller.protocol", "PLAIN");
        p.put("sasl.mechanism.inter.broker.protocol", MECHANISM);
        p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        p.put("super.users", "User:" + ADMIN + ";User:controller");
        p.put("allow.everyone.if.no.acl.found", "false");
    }

    private static String jaas(String module, String user, String password) {
        return module + " required username=\"" + user + "\" password=\"" + password + "\";";
    }
}
