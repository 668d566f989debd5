package io.msx.master;

import io.msx.schemas.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialDeletion;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.ResourceNotFoundException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Who may do what on Kafka: SCRAM-SHA-512 users and the ACLs of each role, least privilege, created and removed
 * through the Admin API (the caller needs ALTER on the cluster: a super-user or a security administrator).
 *
 * <ul>
 *   <li><b>target</b> {@code msx-target.<name>}: READ its own topic and consumer group, WRITE the status topic and
 *       its topic's dead-letter topic. Every pattern is LITERAL: a PREFIXED {@code msx.target.T1} would also match
 *       {@code msx.target.T10}.</li>
 *   <li><b>master</b>: every topic under the topic prefix (it creates and writes target topics, reads status and
 *       commands, keeps its stores' changelogs there), its Kafka Streams consumer group and transactional ids
 *       ({@code <prefix>master*}), and DESCRIBE of the targets' consumer groups (their lag).</li>
 *   <li><b>operator</b>: WRITE the commands topic, READ the command-results topic.</li>
 * </ul>
 *
 * Thread-safe; each call blocks up to 30 s.
 */
public final class KafkaAccess implements AutoCloseable {

    /** SCRAM iterations of every credential created. */
    public static final int ITERATIONS = 8192;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final long TIMEOUT_SECONDS = 30;

    /** A user and its new password: shown once, stored by Kafka only as a salted SCRAM hash. */
    public record Credentials(String user, String password) {

        /** The Kafka client settings of this user (SASL SCRAM-SHA-512 over {@code protocol}). */
        public Map<String, String> clientSettings(String protocol) {
            return Map.of("security.protocol", protocol, "sasl.mechanism", "SCRAM-SHA-512", "sasl.jaas.config",
                    "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user
                            + "\" password=\"" + password + "\";");
        }

        @Override
        public String toString() {
            return "Credentials[user=" + user + ", password=****]";
        }
    }

    private final Admin admin;
    private final Topics topics;

    public KafkaAccess(Map<String, Object> adminClientProperties, Topics topics) {
        this.admin = Admin.create(adminClientProperties);
        this.topics = topics;
    }

    public static String targetUser(String target) {
        return "msx-target." + Topics.requireValidTargetName(target);
    }

    /** Creates (or replaces the password of) the target's user and grants the target's ACLs. */
    public Credentials provisionTarget(String target) {
        Credentials credentials = upsertUser(targetUser(target));
        grant(targetAcls(target));
        return credentials;
    }

    /** Creates a user with the master's ACLs. */
    public Credentials provisionMaster(String user) {
        Credentials credentials = upsertUser(user);
        grant(masterAcls(user));
        return credentials;
    }

    /** Creates a user with an operator's ACLs. */
    public Credentials provisionOperator(String user) {
        Credentials credentials = upsertUser(user);
        grant(operatorAcls(user));
        return credentials;
    }

    /**
     * Removes the target's credentials and every ACL of its user: its connections are refused from the next
     * authentication on. Removing what is already gone is not an error.
     */
    public void revokeTarget(String target) {
        revokeUser(targetUser(target));
    }

    /** Removes a user's SCRAM credential and every ACL naming it. */
    public void revokeUser(String user) {
        try {
            call("removing the ACLs of " + user, admin.deleteAcls(List.of(new AclBindingFilter(
                    ResourcePatternFilter.ANY, new AccessControlEntryFilter("User:" + user, null, AclOperation.ANY,
                    AclPermissionType.ANY)))).all());
            call("removing the credentials of " + user, admin.alterUserScramCredentials(List.of(
                    new UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512))).all());
        } catch (KafkaAccessException e) {
            if (!(e.getCause() instanceof ResourceNotFoundException)) {
                throw e;
            }
        }
    }

    /** The ACLs of a target's user: LITERAL patterns only. */
    public List<AclBinding> targetAcls(String target) {
        String principal = "User:" + targetUser(target);
        String own = topics.target(target);
        List<AclBinding> acls = new ArrayList<>();
        acls.add(allow(principal, ResourceType.TOPIC, own, PatternType.LITERAL, AclOperation.READ));
        acls.add(allow(principal, ResourceType.GROUP, own, PatternType.LITERAL, AclOperation.READ));
        acls.add(allow(principal, ResourceType.TOPIC, topics.status(), PatternType.LITERAL, AclOperation.WRITE));
        acls.add(allow(principal, ResourceType.TOPIC, Topics.deadLetter(own), PatternType.LITERAL,
                AclOperation.WRITE));
        return acls;
    }

    public List<AclBinding> masterAcls(String user) {
        String principal = "User:" + user;
        String prefix = topics.prefix();
        List<AclBinding> acls = new ArrayList<>();
        for (AclOperation op : List.of(AclOperation.CREATE, AclOperation.READ, AclOperation.WRITE,
                AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS,
                AclOperation.DELETE)) {
            acls.add(allow(principal, ResourceType.TOPIC, prefix, PatternType.PREFIXED, op));
        }
        acls.add(allow(principal, ResourceType.GROUP, prefix + "master", PatternType.PREFIXED, AclOperation.READ));
        acls.add(allow(principal, ResourceType.GROUP, prefix + "target.", PatternType.PREFIXED,
                AclOperation.DESCRIBE));
        acls.add(allow(principal, ResourceType.TRANSACTIONAL_ID, prefix + "master", PatternType.PREFIXED,
                AclOperation.WRITE));
        acls.add(allow(principal, ResourceType.TRANSACTIONAL_ID, prefix + "master", PatternType.PREFIXED,
                AclOperation.DESCRIBE));
        acls.add(allow(principal, ResourceType.CLUSTER, "kafka-cluster", PatternType.LITERAL,
                AclOperation.DESCRIBE_CONFIGS));
        return acls;
    }

    public List<AclBinding> operatorAcls(String user) {
        String principal = "User:" + user;
        return List.of(
                allow(principal, ResourceType.TOPIC, topics.commands(), PatternType.LITERAL, AclOperation.WRITE),
                allow(principal, ResourceType.TOPIC, topics.commandResults(), PatternType.LITERAL, AclOperation.READ));
    }

    /** Grants the bindings (granting one that exists changes nothing). */
    public void grant(List<AclBinding> acls) {
        call("creating " + acls.size() + " ACL(s)", admin.createAcls(acls).all());
    }

    private Credentials upsertUser(String user) {
        byte[] bytes = new byte[24];
        RANDOM.nextBytes(bytes);
        String password = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        call("creating the credentials of " + user, admin.alterUserScramCredentials(List.of(
                new UserScramCredentialUpsertion(user, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512,
                        ITERATIONS), password))).all());
        return new Credentials(user, password);
    }

    private static AclBinding allow(String principal, ResourceType type, String name, PatternType pattern,
                                    AclOperation op) {
        return new AclBinding(new ResourcePattern(type, name, pattern),
                new AccessControlEntry(principal, "*", op, AclPermissionType.ALLOW));
    }

    private static <T> T call(String what, org.apache.kafka.common.KafkaFuture<T> future) {
        try {
            return future.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaAccessException(what + ": interrupted", e);
        } catch (ExecutionException e) {
            throw new KafkaAccessException(what + " failed: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new KafkaAccessException(what + ": no answer from Kafka within " + TIMEOUT_SECONDS + " s", e);
        }
    }

    @Override
    public void close() {
        admin.close();
    }

    /** Kafka refused or did not answer a change of users or ACLs. */
    public static final class KafkaAccessException extends KafkaException {
        public KafkaAccessException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
