package io.msx.kubernetes;

import io.fabric8.kubernetes.api.model.Capabilities;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * What a cluster would only tell later, checked on every rendered kustomization (the base and each overlay): the
 * objects parse with no unknown field, selectors select, ports and probes point at declared container ports, every
 * MSX_* variable and config-file key is one the component defines (and the configuration builds), volumes are
 * defined and mounted, images are the build's, and every container is bounded and locked down.
 */
class ManifestsTest {

    static java.util.stream.Stream<String> kustomizations() {
        return Rendered.kustomizations();
    }

    /** Objects the manifests use but do not contain: created by the operator (see the README) or by Strimzi. */
    private static final Set<String> EXTERNAL_SECRETS = Set.of("msx-master-signing-key", "msx-kafka-cluster-ca-cert");
    private static final Set<String> EXTERNAL_CONFIG_MAPS = Set.of("msx-master-public-key", "msx-operator-keys",
            "msx-master-tokens");

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldParseEveryObjectWithNoUnknownField(String dir) {
        Rendered r = Rendered.of(dir);
        assertThat(r.objects).as(dir).isNotEmpty();
        List<String> unknown = new ArrayList<>();
        for (HasMetadata o : r.objects) {
            if (!(o instanceof GenericKubernetesResource)) {
                unknownFields(o, o.getKind() + "/" + o.getMetadata().getName(), unknown,
                        new IdentityHashMap<>());
            }
        }
        assertThat(unknown).as("fields the Kubernetes API does not define (typos?) in " + dir).isEmpty();
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldSelectTheirOwnPodsWithEveryWorkloadSelector(String dir) {
        Rendered r = Rendered.of(dir);
        for (Rendered.Workload w : r.workloads()) {
            assertThat(w.selector()).as(w.name() + " selector").isNotNull();
            assertThat(selects(w.selector(), w.podLabels())).as(w.name() + ": selector " + w.selector()
                    + " does not match its pod labels " + w.podLabels()).isTrue();
            if (w.owner() instanceof StatefulSet s) {
                String governing = s.getSpec().getServiceName();
                Service service = r.all(Service.class).stream()
                        .filter(x -> x.getMetadata().getName().equals(governing)).findFirst()
                        .orElseThrow(() -> new AssertionError(w.name() + ": serviceName " + governing
                                + " is no Service of " + dir));
                assertThat(service.getSpec().getClusterIP()).as("governing Service " + governing + " is headless")
                        .isEqualTo("None");
                assertThat(selects(service.getSpec().getSelector(), w.podLabels()))
                        .as("governing Service " + governing + " selects the pods of " + w.name()).isTrue();
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldRouteEveryServiceToPodsAndTheirPorts(String dir) {
        Rendered r = Rendered.of(dir);
        for (Service s : r.all(Service.class)) {
            Map<String, String> selector = s.getSpec().getSelector();
            assertThat(selector).as("Service " + s.getMetadata().getName() + " selector").isNotEmpty();
            List<Rendered.Workload> selected = r.workloads().stream()
                    .filter(w -> selects(selector, w.podLabels())).toList();
            assertThat(selected).as("Service " + s.getMetadata().getName() + " selects no pod of " + dir)
                    .isNotEmpty();
            for (ServicePort port : s.getSpec().getPorts()) {
                IntOrString target = port.getTargetPort() == null ? new IntOrString(port.getPort())
                        : port.getTargetPort();
                for (Rendered.Workload w : selected) {
                    assertThat(hasPort(w.pod().getContainers(), target)).as("Service " + s.getMetadata().getName()
                            + " port " + port.getName() + " → " + describe(target) + ": no such container port in "
                            + w.name()).isTrue();
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldProbeDeclaredPortsAndTheHealthEndpoints(String dir) {
        Rendered r = Rendered.of(dir);
        for (Rendered.Workload w : r.workloads()) {
            for (Container c : w.pod().getContainers()) {
                for (Probe p : new Probe[]{c.getLivenessProbe(), c.getReadinessProbe(), c.getStartupProbe()}) {
                    if (p == null) {
                        continue;
                    }
                    IntOrString port = p.getHttpGet() != null ? p.getHttpGet().getPort()
                            : p.getTcpSocket() != null ? p.getTcpSocket().getPort() : null;
                    assertThat(port).as(w.name() + " " + c.getName() + ": a probe without an HTTP or TCP port")
                            .isNotNull();
                    assertThat(hasPort(List.of(c), port)).as(w.name() + " " + c.getName() + ": probe port "
                            + describe(port) + " is not a port of the container").isTrue();
                }
                assertThat(c.getLivenessProbe()).as(w.name() + " " + c.getName() + " liveness").isNotNull();
                assertThat(c.getReadinessProbe()).as(w.name() + " " + c.getName() + " readiness").isNotNull();
            }
        }
        for (Rendered.MsxContainer msx : msxContainers(r)) {
            Settings settings = new Settings(r, msx);
            Container c = msx.container();
            String port = settings.value("http.port");
            assertThat(port).as(msx.where() + ": http.port (MSX_HTTP_PORT) must be set for the probes").isNotNull();
            assertThat(settings.value("http.host")).as(msx.where() + ": http.host must listen on every interface, "
                    + "or the kubelet cannot reach the probes").isEqualTo("0.0.0.0");
            assertThat(c.getPorts()).extracting(ContainerPort::getContainerPort).as(msx.where()
                    + " declares http.port").contains(Integer.valueOf(port));
            assertHttpProbe(msx, c.getLivenessProbe(), "/health/live", Integer.parseInt(port));
            assertHttpProbe(msx, c.getReadinessProbe(), "/health/ready", Integer.parseInt(port));
            if (c.getStartupProbe() != null) {
                assertHttpProbe(msx, c.getStartupProbe(), "/health/live", Integer.parseInt(port));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldSetOnlyConfigKeysOfTheComponentInMsxVariables(String dir) {
        Rendered r = Rendered.of(dir);
        for (Rendered.MsxContainer msx : msxContainers(r)) {
            Settings settings = new Settings(r, msx);
            Map<String, String> known = msx.component().variables();
            settings.msxVariables().keySet().forEach(variable -> assertThat(known).as(msx.where() + ": "
                    + variable + " (from " + settings.origin.get(variable) + ") is no configuration key of the "
                    + msx.component() + " (" + ConfigSourcesNames.nearest(variable, known.keySet()) + ")")
                    .containsKey(variable));
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldReadOnlyKnownKeysAndMountedSecretsFromTheConfigFile(String dir) {
        Rendered r = Rendered.of(dir);
        for (Rendered.MsxContainer msx : msxContainers(r)) {
            Settings settings = new Settings(r, msx);
            assertThat(settings.configPath).as(msx.where() + " --config").isNotNull();
            String providers = settings.file.getProperty("config.providers", "");
            for (String key : settings.file.stringPropertyNames()) {
                if (!key.startsWith("config.providers")) {
                    assertThat(msx.component().isKey(key)).as(msx.where() + ": " + key + " in " + settings.configPath
                            + " is no configuration key of the " + msx.component() + " (it would refuse to start)")
                            .isTrue();
                }
                Matcher m = Settings.PROVIDER_REFERENCE.matcher(settings.file.getProperty(key));
                while (m.find()) {
                    String provider = m.group(1);
                    assertThat(List.of(providers.split("\\s*,\\s*"))).as(msx.where() + ": " + key + " uses "
                            + "provider " + provider + " that config.providers does not list").contains(provider);
                    if (provider.equals("dir")) {
                        assertThat(settings.file.getProperty("config.providers.dir.class")).isEqualTo(
                                "org.apache.kafka.common.config.provider.DirectoryConfigProvider");
                        String file = m.group(2) + "/" + m.group(3);
                        assertMountedSecretFile(r, settings, file, key);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldBuildTheConfigurationWithFilesAndDirectoriesOnVolumes(String dir) {
        Rendered r = Rendered.of(dir);
        for (Rendered.MsxContainer msx : msxContainers(r)) {
            Settings settings = new Settings(r, msx);
            try {
                msx.component().construct(settings.effective());
            } catch (RuntimeException e) {
                fail(msx.where() + ": the " + msx.component() + " would refuse this configuration: " + e.getMessage()
                        + " " + settings.effective(), e);
            }
            for (String key : List.of("signing.key.file", "trusted.keys.file", "ssl.truststore.location",
                    "ssl.keystore.location", "http.auth.tokens.file", "http.tls.keystore.path")) {
                String file = settings.value(key);
                if (file != null && !file.isBlank()) {
                    assertMountedSecretFile(r, settings, file, key);
                }
            }
            for (String key : List.of("data.dir", "jobs.work.dir", "state.dir")) {
                if (msx.component().isKey(key)) {
                    String directory = settings.value(key);
                    assertThat(directory).as(msx.where() + ": " + key + " must be set: the root file system is "
                            + "read-only").isNotBlank();
                    assertThat(settings.writableMountOf(directory)).as(msx.where() + ": " + key + " " + directory
                            + " is on no writable volume").isPresent();
                }
            }
            assertThat(settings.writableMountOf("/tmp")).as(msx.where() + ": /tmp (java.io.tmpdir; RocksDB "
                    + "unpacks its native library there) must be a writable volume").isPresent();
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldDefineAndMountEveryVolume(String dir) {
        Rendered r = Rendered.of(dir);
        for (Rendered.Workload w : r.workloads()) {
            List<Volume> volumes = w.pod().getVolumes() == null ? List.of() : w.pod().getVolumes();
            List<String> defined = new ArrayList<>(volumes.stream().map(Volume::getName).toList());
            w.claims().forEach(c -> defined.add(c.getMetadata().getName()));
            assertThat(defined).as(w.name() + " volume names").doesNotHaveDuplicates();
            List<String> mounted = new ArrayList<>();
            for (Container c : w.allContainers()) {
                for (VolumeMount m : c.getVolumeMounts() == null ? List.<VolumeMount>of() : c.getVolumeMounts()) {
                    assertThat(defined).as(w.name() + " " + c.getName() + " mounts " + m.getName()
                            + ", which is no volume of the pod").contains(m.getName());
                    mounted.add(m.getName());
                    volumes.stream().filter(v -> v.getName().equals(m.getName()))
                            .filter(v -> v.getSecret() != null || v.getConfigMap() != null)
                            .forEach(v -> assertThat(m.getReadOnly()).as(w.name() + " " + c.getName() + " mounts "
                                    + m.getName() + " read-only").isTrue());
                }
                List<String> paths = (c.getVolumeMounts() == null ? List.<VolumeMount>of() : c.getVolumeMounts())
                        .stream().map(VolumeMount::getMountPath).toList();
                assertThat(paths).as(w.name() + " " + c.getName() + " mount paths").doesNotHaveDuplicates();
            }
            assertThat(mounted).as(w.name() + ": volumes no container mounts").containsAll(defined);
            for (Volume v : volumes) {
                if (v.getConfigMap() != null) {
                    checkConfigMapVolume(r, w, v);
                } else if (v.getSecret() != null) {
                    checkSecretVolume(r, w, v);
                } else {
                    assertThat(v.getEmptyDir()).as(w.name() + " volume " + v.getName() + ": only ConfigMaps, "
                            + "Secrets, emptyDirs and claims are expected").isNotNull();
                    assertThat(v.getEmptyDir().getSizeLimit()).as(w.name() + " emptyDir " + v.getName()
                            + " sizeLimit").isNotNull();
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldRunTheImagesTheBuildProducesAndPinnedPublicOnes(String dir) {
        Rendered r = Rendered.of(dir);
        Map<String, String> thirdParty = Images.thirdParty();
        for (Rendered.Workload w : r.workloads()) {
            for (Container c : w.allContainers()) {
                String image = c.getImage();
                assertThat(image).as(w.name() + " " + c.getName() + " image").isNotBlank();
                if (Images.isMsx(image)) {
                    assertThat(Images.tag(image)).as(w.name() + " " + c.getName() + ": " + image + " is not the "
                            + "image this build produces (msx:" + Images.msxTag() + ")").isEqualTo(Images.msxTag());
                } else {
                    String repository = Images.repository(image);
                    assertThat(thirdParty).as(w.name() + " " + c.getName() + ": " + image + " is neither msx nor "
                            + "one of the public images the manifests may use").containsKey(repository);
                    assertThat(Images.tag(image)).as(w.name() + " " + c.getName() + ": " + image + " has not the "
                            + "version the build uses").isEqualTo(thirdParty.get(repository));
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldBoundEveryContainerWithRequestsAndLimits(String dir) {
        Rendered r = Rendered.of(dir);
        for (Rendered.Workload w : r.workloads()) {
            for (Container c : w.allContainers()) {
                ResourceRequirements res = c.getResources();
                String where = w.name() + " " + c.getName();
                assertThat(res).as(where + " resources").isNotNull();
                for (String kind : List.of("cpu", "memory")) {
                    Quantity request = res.getRequests() == null ? null : res.getRequests().get(kind);
                    Quantity limit = res.getLimits() == null ? null : res.getLimits().get(kind);
                    assertThat(request).as(where + " requests." + kind).isNotNull();
                    assertThat(limit).as(where + " limits." + kind).isNotNull();
                    assertThat(request.getNumericalAmount()).as(where + " " + kind + " request ≤ limit")
                            .isLessThanOrEqualTo(limit.getNumericalAmount());
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldRunEveryContainerNonRootReadOnlyWithoutPrivileges(String dir) {
        Rendered r = Rendered.of(dir);
        for (Rendered.Workload w : r.workloads()) {
            PodSecurityContext pod = w.pod().getSecurityContext();
            assertThat(pod).as(w.name() + " pod securityContext").isNotNull();
            assertThat(w.pod().getAutomountServiceAccountToken()).as(w.name() + ": no Kubernetes API token in the "
                    + "pod").isFalse();
            assertThat(w.pod().getHostNetwork()).as(w.name() + " hostNetwork").isNotEqualTo(Boolean.TRUE);
            assertThat(w.pod().getHostPID()).as(w.name() + " hostPID").isNotEqualTo(Boolean.TRUE);
            for (Container c : w.allContainers()) {
                String where = w.name() + " " + c.getName();
                SecurityContext s = c.getSecurityContext();
                assertThat(s).as(where + " securityContext").isNotNull();
                assertThat(s.getAllowPrivilegeEscalation()).as(where + " allowPrivilegeEscalation").isFalse();
                assertThat(s.getReadOnlyRootFilesystem()).as(where + " readOnlyRootFilesystem").isTrue();
                assertThat(s.getPrivileged()).as(where + " privileged").isNotEqualTo(Boolean.TRUE);
                Capabilities caps = s.getCapabilities();
                assertThat(caps).as(where + " capabilities").isNotNull();
                assertThat(caps.getDrop()).as(where + " drops every capability").contains("ALL");
                assertThat(caps.getAdd() == null ? List.of() : caps.getAdd()).as(where + " adds capabilities")
                        .isEmpty();
                Boolean nonRoot = s.getRunAsNonRoot() != null ? s.getRunAsNonRoot() : pod.getRunAsNonRoot();
                assertThat(nonRoot).as(where + " runAsNonRoot").isTrue();
                Long user = s.getRunAsUser() != null ? s.getRunAsUser() : pod.getRunAsUser();
                assertThat(user).as(where + " runs as a numeric non-root user").isNotNull().isNotZero();
                if (Images.isMsx(c.getImage())) {
                    assertThat(user).as(where + ": the msx image's user").isEqualTo(10001L);
                }
                String seccomp = s.getSeccompProfile() != null ? s.getSeccompProfile().getType()
                        : pod.getSeccompProfile() == null ? null : pod.getSeccompProfile().getType();
                assertThat(seccomp).as(where + " seccompProfile").isEqualTo("RuntimeDefault");
            }
        }
    }

    /**
     * The image's launcher ({@code /usr/local/bin/msx}) passes {@code -XX:+ExitOnOutOfMemoryError} itself and takes
     * {@code JAVA_OPTS} for the rest: JVM options go there, never in variables every JVM of the container would pick
     * up ({@code JAVA_TOOL_OPTIONS}, {@code JDK_JAVA_OPTIONS}, {@code _JAVA_OPTIONS}: also {@code kubectl exec ... msx}
     * CLI calls, each printing "Picked up ..."), and nothing turns the exit on OutOfMemoryError off.
     */
    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldGiveJvmOptionsOnlyThroughJavaOpts(String dir) {
        Rendered r = Rendered.of(dir);
        for (Rendered.MsxContainer msx : msxContainers(r)) {
            Settings settings = new Settings(r, msx);
            for (String variable : List.of("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS")) {
                assertThat(settings.env).as(msx.where() + ": " + variable + " (from " + settings.origin.get(variable)
                        + "); the launcher takes JAVA_OPTS").doesNotContainKey(variable);
            }
            String options = settings.env.getOrDefault("JAVA_OPTS", "");
            assertThat(options).as(msx.where() + " JAVA_OPTS").doesNotContain("-XX:-ExitOnOutOfMemoryError");
            if (!options.isBlank()) {
                // the launcher's default bounds the heap by the container's limit; a JAVA_OPTS of its own must too
                assertThat(options).as(msx.where() + ": JAVA_OPTS replaces -XX:MaxRAMPercentage=70, so it bounds "
                        + "the heap itself").containsAnyOf("-XX:MaxRAMPercentage=", "-Xmx");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldLetPrometheusScrapeEveryMsxProcess(String dir) {
        Rendered r = Rendered.of(dir);
        for (Rendered.MsxContainer msx : msxContainers(r)) {
            Map<String, String> annotations = msx.workload().podAnnotations();
            String port = new Settings(r, msx).value("http.port");
            assertThat(annotations).as(msx.where() + " Prometheus annotations")
                    .containsEntry("prometheus.io/scrape", "true")
                    .containsEntry("prometheus.io/port", port)
                    .containsEntry("prometheus.io/path", "/metrics");
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldFenceEveryMsxPodWithNetworkPoliciesOnDeclaredPorts(String dir) {
        Rendered r = Rendered.of(dir);
        List<NetworkPolicy> policies = r.all(NetworkPolicy.class);
        for (NetworkPolicy p : policies) {
            List<Rendered.Workload> selected = r.workloads().stream()
                    .filter(w -> selects(p.getSpec().getPodSelector(), w.podLabels())).toList();
            assertThat(selected).as("NetworkPolicy " + p.getMetadata().getName() + " selects no pod").isNotEmpty();
            for (NetworkPolicyIngressRule rule : p.getSpec().getIngress()) {
                for (NetworkPolicyPort port : rule.getPorts() == null ? List.<NetworkPolicyPort>of()
                        : rule.getPorts()) {
                    assertThat(selected.stream().anyMatch(w -> hasPort(w.pod().getContainers(), port.getPort())))
                            .as("NetworkPolicy " + p.getMetadata().getName() + " lets in port "
                                    + describe(port.getPort()) + " that no selected pod listens on").isTrue();
                }
            }
        }
        for (Rendered.Workload w : r.workloads()) {
            if (w.msxContainers().isEmpty()) {
                continue;
            }
            for (String type : List.of("Ingress", "Egress")) {
                assertThat(policies.stream().anyMatch(p -> selects(p.getSpec().getPodSelector(), w.podLabels())
                        && p.getSpec().getPolicyTypes().contains(type))).as(w.name() + ": no NetworkPolicy "
                        + "restricts its " + type).isTrue();
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldKeepAPodOfEveryBudgetedWorkloadAvailable(String dir) {
        Rendered r = Rendered.of(dir);
        for (PodDisruptionBudget b : r.all(PodDisruptionBudget.class)) {
            List<Rendered.Workload> selected = r.workloads().stream()
                    .filter(w -> selects(b.getSpec().getSelector(), w.podLabels())).toList();
            assertThat(selected).as("PodDisruptionBudget " + b.getMetadata().getName() + " selects no pod")
                    .isNotEmpty();
            int replicas = selected.stream().mapToInt(w -> w.replicas() == null ? 1 : w.replicas()).sum();
            IntOrString min = b.getSpec().getMinAvailable();
            assertThat(min).as("PodDisruptionBudget " + b.getMetadata().getName() + " minAvailable").isNotNull();
            assertThat(min.getIntVal()).as("PodDisruptionBudget " + b.getMetadata().getName() + ": minAvailable "
                    + "below the " + replicas + " replicas, or no node could ever be drained")
                    .isBetween(1, replicas - 1);
        }
    }

    // ---- helpers ----

    static List<Rendered.MsxContainer> msxContainers(Rendered r) {
        return r.workloads().stream().flatMap(w -> w.msxContainers().stream()).toList();
    }

    static boolean selects(LabelSelector selector, Map<String, String> labels) {
        if (selector == null) {
            return false;
        }
        if (selector.getMatchExpressions() != null && !selector.getMatchExpressions().isEmpty()) {
            throw new AssertionError("matchExpressions are not checked by these tests: " + selector);
        }
        Map<String, String> match = selector.getMatchLabels() == null ? Map.of() : selector.getMatchLabels();
        return selects(match, labels);
    }

    static boolean selects(Map<String, String> match, Map<String, String> labels) {
        return match != null && match.entrySet().stream()
                .allMatch(e -> Objects.equals(labels.get(e.getKey()), e.getValue()));
    }

    static boolean hasPort(List<Container> containers, IntOrString port) {
        return containers.stream().flatMap(c -> c.getPorts() == null ? java.util.stream.Stream.<ContainerPort>empty()
                : c.getPorts().stream()).anyMatch(p -> port.getStrVal() != null ? port.getStrVal().equals(p.getName())
                : port.getIntVal().equals(p.getContainerPort()));
    }

    private static String describe(IntOrString port) {
        return port.getStrVal() != null ? "'" + port.getStrVal() + "'" : String.valueOf(port.getIntVal());
    }

    private static void assertHttpProbe(Rendered.MsxContainer msx, Probe probe, String path, int port) {
        assertThat(probe).as(msx.where() + " probe of " + path).isNotNull();
        assertThat(probe.getHttpGet()).as(msx.where() + ": probe of " + path + " is an HTTP GET").isNotNull();
        assertThat(probe.getHttpGet().getPath()).as(msx.where() + " probe path").isEqualTo(path);
        IntOrString p = probe.getHttpGet().getPort();
        int number = p.getIntVal() != null ? p.getIntVal() : msx.container().getPorts().stream()
                .filter(cp -> p.getStrVal().equals(cp.getName())).findFirst()
                .orElseThrow(() -> new AssertionError(msx.where() + ": no port " + p.getStrVal())).getContainerPort();
        assertThat(number).as(msx.where() + ": probe of " + path + " goes to http.port").isEqualTo(port);
    }

    /** A file setting points into a mounted Secret or ConfigMap, and at a key it has (when the manifests hold it). */
    private static void assertMountedSecretFile(Rendered r, Settings settings, String file, String key) {
        Settings.MountedFile mounted = settings.mountedFile(file).orElseThrow(() -> new AssertionError(
                settings.msx.where() + ": " + key + " names " + file + ", which is in no mounted Secret or "
                        + "ConfigMap"));
        Volume v = mounted.volume();
        assertThat(v.getSecret() != null || v.getConfigMap() != null).as(settings.msx.where() + ": " + file
                + " (" + key + ") comes from a Secret or ConfigMap").isTrue();
        assertThat(mounted.mount().getReadOnly()).as(settings.msx.where() + ": " + file + " mounted read-only")
                .isTrue();
        if (v.getConfigMap() != null) {
            r.configMap(v.getConfigMap().getName()).ifPresent(map -> assertThat(map.getData()).as(
                    settings.msx.where() + ": ConfigMap " + map.getMetadata().getName() + " for " + key)
                    .containsKey(mounted.key()));
        } else if (v.getSecret() != null) {
            String secret = v.getSecret().getSecretName();
            r.secret(secret).ifPresent(s -> assertThat(s.getData() != null ? s.getData() : s.getStringData())
                    .as(settings.msx.where() + ": Secret " + secret + " for " + key).containsKey(mounted.key()));
            if (isKafkaUser(r, secret)) {
                assertThat(Set.of("password", "sasl.jaas.config")).as(settings.msx.where() + ": a Strimzi user "
                        + "Secret has no key " + mounted.key()).contains(mounted.key());
            }
        }
    }

    private static boolean isKafkaUser(Rendered r, String name) {
        return r.custom("KafkaUser").stream().anyMatch(u -> u.getMetadata().getName().equals(name));
    }

    private static void checkConfigMapVolume(Rendered r, Rendered.Workload w, Volume v) {
        String name = v.getConfigMap().getName();
        ConfigMap map = r.configMap(name).orElse(null);
        if (map == null) {
            assertThat(EXTERNAL_CONFIG_MAPS).as(w.name() + " volume " + v.getName() + ": ConfigMap " + name
                    + " is neither part of " + r + " nor one the README tells to create").contains(name);
            return;
        }
        for (KeyToPath item : v.getConfigMap().getItems() == null ? List.<KeyToPath>of()
                : v.getConfigMap().getItems()) {
            assertThat(map.getData()).as(w.name() + " volume " + v.getName() + ": ConfigMap " + name + " item")
                    .containsKey(item.getKey());
        }
    }

    private static void checkSecretVolume(Rendered r, Rendered.Workload w, Volume v) {
        String name = v.getSecret().getSecretName();
        if (r.secret(name).isPresent() || isKafkaUser(r, name) || EXTERNAL_SECRETS.contains(name)) {
            return;
        }
        String target = w.podLabels().get("msx.io/target");
        assertThat(name).as(w.name() + " volume " + v.getName() + ": Secret " + name + " is neither part of " + r
                + ", nor a KafkaUser's, nor one the README tells to create (for target " + target + ")")
                .isEqualTo("msx-agent-" + target + "-signing-key");
    }

    /** Collects fields the typed model did not know (they land in additionalProperties). */
    private static void unknownFields(Object o, String path, List<String> unknown, IdentityHashMap<Object, Object> seen) {
        if (o == null || seen.put(o, o) != null) {
            return;
        }
        if (o instanceof Collection<?> c) {
            int i = 0;
            for (Object item : c) {
                unknownFields(item, path + "[" + i++ + "]", unknown, seen);
            }
            return;
        }
        if (o instanceof Map<?, ?> m) {
            m.forEach((k, v) -> unknownFields(v, path + "." + k, unknown, seen));
            return;
        }
        if (!o.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
            return;
        }
        for (Class<?> type = o.getClass(); type != null && type != Object.class; type = type.getSuperclass()) {
            for (Field f : type.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers())) {
                    continue;
                }
                f.setAccessible(true);
                Object value;
                try {
                    value = f.get(o);
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
                if (f.getName().equals("additionalProperties") && value instanceof Map<?, ?> extra) {
                    extra.keySet().forEach(k -> unknown.add(path + "." + k));
                } else {
                    unknownFields(value, path + "." + f.getName(), unknown, seen);
                }
            }
        }
    }
}
