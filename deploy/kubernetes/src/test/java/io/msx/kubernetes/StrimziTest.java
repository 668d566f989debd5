package io.msx.kubernetes;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Volume;
import io.msx.master.KafkaAccess;
import io.msx.master.MasterConfig;
import io.msx.master.internal.topology.MasterTopology;
import io.msx.schemas.Topics;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Strimzi's KafkaUser and KafkaTopic resources against what msx itself would create: users and ACLs from
 * {@link KafkaAccess}, topic names from {@link Topics}, partitions and configs from the master's configuration.
 */
class StrimziTest {

    static java.util.stream.Stream<String> kustomizations() {
        return Rendered.kustomizations();
    }

    private static KafkaAccess access;
    private static Topics topics;

    @BeforeAll
    static void access() {
        topics = Topics.defaults();
        // computes ACLs only: no request reaches this address
        access = new KafkaAccess(Map.of("bootstrap.servers", "127.0.0.1:9"), topics);
    }

    @AfterAll
    static void close() {
        access.close();
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldGrantEveryKafkaUserExactlyTheAclsOfKafkaAccess(String dir) {
        Rendered r = Rendered.of(dir);
        List<GenericKubernetesResource> users = r.custom("KafkaUser");
        Set<String> sasl = new HashSet<>();
        for (Rendered.MsxContainer msx : ManifestsTest.msxContainers(r)) {
            Settings settings = new Settings(r, msx);
            String protocol = settings.value("security.protocol");
            if (protocol == null || !protocol.toUpperCase(Locale.ROOT).startsWith("SASL")) {
                continue;
            }
            String user = kafkaUserSecret(settings);
            sasl.add(user);
            GenericKubernetesResource kafkaUser = users.stream().filter(u -> u.getMetadata().getName().equals(user))
                    .findFirst().orElseThrow(() -> new AssertionError(msx.where() + ": reads its credentials from "
                            + "Secret " + user + ", but " + dir + " has no KafkaUser " + user));
            List<AclBinding> expected;
            if (msx.component() == Component.AGENT) {
                String target = settings.value("target.name");
                assertThat(user).as(msx.where() + ": target " + target + "'s Kafka user")
                        .isEqualTo(KafkaAccess.targetUser(target));
                expected = access.targetAcls(target);
            } else {
                expected = access.masterAcls(user);
            }
            assertThat(acls(kafkaUser)).as("ACLs of KafkaUser " + user).isEqualTo(strimzi(expected));
            assertThat((String) kafkaUser.get("spec", "authentication", "type")).isEqualTo("scram-sha-512");
        }
        for (GenericKubernetesResource u : users) {
            String name = u.getMetadata().getName();
            if (!sasl.contains(name)) {
                assertThat(name).as("KafkaUser " + name + " is used by no msx process; only operators' users may "
                        + "be").doesNotStartWith("msx-target.").doesNotStartWith("msx-master");
                assertThat(acls(u)).as("ACLs of operator KafkaUser " + name)
                        .isEqualTo(strimzi(access.operatorAcls(name)));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldDeclareTopicsAsTheMasterWouldCreateThem(String dir) {
        Rendered r = Rendered.of(dir);
        List<GenericKubernetesResource> kafkaTopics = r.custom("KafkaTopic");
        if (kafkaTopics.isEmpty()) {
            return;
        }
        Rendered.MsxContainer master = ManifestsTest.msxContainers(r).stream()
                .filter(m -> m.component() == Component.MASTER).findFirst().orElseThrow();
        MasterConfig config = new MasterConfig(new Settings(r, master).effective());
        Topics t = config.topics();
        Map<String, GenericKubernetesResource> byName = new HashMap<>();
        for (GenericKubernetesResource topic : kafkaTopics) {
            String name = topic.get("spec", "topicName");
            assertThat(name).as("KafkaTopic " + topic.getMetadata().getName() + " topicName")
                    .isEqualTo(topic.getMetadata().getName()).startsWith(t.prefix());
            byName.put(name, topic);
            if (config.replicationFactor() > 0) {
                assertThat(((Number) topic.get("spec", "replicas")).intValue()).as(name + " replicas = the master's "
                        + "replication.factor").isEqualTo((int) config.replicationFactor());
            }
        }
        String internalRetention = Long.toString(config.internalTopicRetention().toMillis());
        Map<String, String> internal = Map.of("cleanup.policy", "delete", "retention.ms", internalRetention);
        assertTopic(byName, t.commands(), 1, internal);
        assertTopic(byName, t.commandResults(), config.commandsPartitions(), internal);
        assertTopic(byName, Topics.deadLetter(t.commands()), 1, internal);
        assertTopic(byName, Topics.deadLetter(t.status()), 1, internal);
        assertTopic(byName, MasterTopology.Context.controlTopic(t), 1, internal);
        assertTopic(byName, t.status(), config.statusPartitions(), Map.of("cleanup.policy", "delete",
                "retention.ms", Long.toString(config.statusTopicRetention().toMillis()),
                "message.timestamp.type", "LogAppendTime"));
        Map<String, String> events = new HashMap<>(internal);
        events.put("message.timestamp.type", "LogAppendTime");
        assertTopic(byName, MasterTopology.Context.eventsTopic(t), config.statusPartitions(), events);

        Map<String, String> deadLetter = Map.of("cleanup.policy", "delete",
                "retention.ms", Long.toString(config.targetTopicRetention().toMillis()),
                "retention.bytes", Long.toString(config.targetTopicRetentionBytes()));
        Map<String, String> target = new HashMap<>(deadLetter);
        target.put("max.message.bytes", Integer.toString(config.targetTopicMaxMessageBytes()));
        Set<String> expected = new TreeSet<>(List.of(t.commands(), t.commandResults(), Topics.deadLetter(t.commands()),
                Topics.deadLetter(t.status()), MasterTopology.Context.controlTopic(t), t.status(),
                MasterTopology.Context.eventsTopic(t)));
        for (Rendered.MsxContainer agent : ManifestsTest.msxContainers(r)) {
            if (agent.component() == Component.AGENT) {
                String name = new Settings(r, agent).value("target.name");
                assertTopic(byName, t.target(name), 1, target);
                assertTopic(byName, Topics.deadLetter(t.target(name)), 1, deadLetter);
                expected.add(t.target(name));
                expected.add(Topics.deadLetter(t.target(name)));
            }
        }
        assertThat(new TreeSet<>(byName.keySet())).as("KafkaTopics no msx process uses").isEqualTo(expected);
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldAddressEveryStrimziResourceToOneCluster(String dir) {
        Rendered r = Rendered.of(dir);
        Set<String> clusters = new TreeSet<>();
        for (GenericKubernetesResource o : r.all(GenericKubernetesResource.class)) {
            assertThat(o.getApiVersion()).as(o.getKind() + " " + o.getMetadata().getName() + " apiVersion")
                    .isEqualTo("kafka.strimzi.io/v1beta2");
            assertThat(Set.of("KafkaUser", "KafkaTopic")).as("custom resource kinds").contains(o.getKind());
            String cluster = o.getMetadata().getLabels() == null ? null
                    : o.getMetadata().getLabels().get("strimzi.io/cluster");
            assertThat(cluster).as(o.getKind() + " " + o.getMetadata().getName() + " strimzi.io/cluster").isNotBlank();
            clusters.add(cluster);
        }
        assertThat(clusters).as(dir + ": Kafka clusters the Strimzi resources name").hasSizeLessThanOrEqualTo(1);
    }

    /** The Secret a SASL process reads sasl.jaas.config from, through ${dir:...} in its config file. */
    private static String kafkaUserSecret(Settings settings) {
        String jaas = settings.file.getProperty("sasl.jaas.config");
        assertThat(jaas).as(settings.msx.where() + ": SASL without sasl.jaas.config in " + settings.configPath)
                .isNotNull();
        Matcher m = Settings.PROVIDER_REFERENCE.matcher(jaas);
        assertThat(m.matches() && m.group(1).equals("dir")).as(settings.msx.where() + ": sasl.jaas.config is read "
                + "from a mounted Secret (${dir:...}), never written in a ConfigMap").isTrue();
        Volume v = settings.mountedFile(m.group(2) + "/" + m.group(3)).orElseThrow().volume();
        assertThat(v.getSecret()).as(settings.msx.where() + ": sasl.jaas.config from a Secret").isNotNull();
        return v.getSecret().getSecretName();
    }

    private static void assertTopic(Map<String, GenericKubernetesResource> byName, String name, int partitions,
                                    Map<String, String> configs) {
        GenericKubernetesResource topic = byName.get(name);
        assertThat(topic).as("KafkaTopic " + name).isNotNull();
        assertThat(((Number) topic.get("spec", "partitions")).intValue()).as(name + " partitions")
                .isEqualTo(partitions);
        Map<String, Object> actual = topic.get("spec", "config");
        Map<String, String> asText = actual.entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, e -> String.valueOf(e.getValue())));
        assertThat(asText).as(name + " config").isEqualTo(configs);
    }

    /** A KafkaUser's ACLs as "type name pattern Operation" lines. */
    private static Set<String> acls(GenericKubernetesResource user) {
        List<Map<String, Object>> acls = user.get("spec", "authorization", "acls");
        Set<String> lines = new TreeSet<>();
        for (Map<String, Object> acl : acls) {
            @SuppressWarnings("unchecked")
            Map<String, Object> resource = (Map<String, Object>) acl.get("resource");
            assertThat(acl.get("host")).as("ACL host").isEqualTo("*");
            assertThat(acl.get("type")).as("ACLs allow (Strimzi's default)").isIn(null, "allow");
            @SuppressWarnings("unchecked")
            List<String> operations = (List<String>) acl.get("operations");
            for (String op : operations) {
                String type = (String) resource.get("type");
                lines.add(type + " " + (type.equals("cluster") ? "" : resource.get("name") + " "
                        + resource.getOrDefault("patternType", "literal")) + " " + op);
            }
        }
        return lines;
    }

    /** KafkaAccess's bindings in Strimzi's words. */
    private static Set<String> strimzi(List<AclBinding> bindings) {
        Set<String> lines = new TreeSet<>();
        for (AclBinding b : bindings) {
            assertThat(b.entry().permissionType().name()).isEqualTo("ALLOW");
            ResourceType type = b.pattern().resourceType();
            String strimziType = switch (type) {
                case TOPIC -> "topic";
                case GROUP -> "group";
                case TRANSACTIONAL_ID -> "transactionalId";
                case CLUSTER -> "cluster";
                default -> throw new AssertionError("no Strimzi resource type for " + type);
            };
            String pattern = b.pattern().patternType() == PatternType.PREFIXED ? "prefix" : "literal";
            lines.add(strimziType + " " + (type == ResourceType.CLUSTER ? "" : b.pattern().name() + " " + pattern)
                    + " " + camel(b.entry().operation().name()));
        }
        return lines;
    }

    /** DESCRIBE_CONFIGS → DescribeConfigs. */
    private static String camel(String constant) {
        StringBuilder out = new StringBuilder();
        for (String part : constant.split("_")) {
            out.append(part.charAt(0)).append(part.substring(1).toLowerCase(Locale.ROOT));
        }
        return out.toString();
    }
}
