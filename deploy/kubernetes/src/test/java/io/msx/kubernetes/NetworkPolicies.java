package io.msx.kubernetes;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyEgressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeer;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Kubernetes NetworkPolicy semantics evaluated on a rendered kustomization: a pod selected by a policy of a type
 * (Ingress, Egress) is isolated for that direction and takes only what some rule of such a policy allows; traffic
 * flows when the source's egress and the destination's ingress both allow it. Peers: podSelector alone means pods of
 * the policy's namespace, namespaceSelector alone every pod of the matching namespaces, both together the matching
 * pods of the matching namespaces; an ipBlock is taken to match only an address outside the cluster, and only when it
 * covers every address (the tests know no IPs). Ports: number, range (endPort) or a name resolved on the destination
 * pod; protocol TCP unless said.
 *
 * <p>Endpoints the kustomization does not contain (Prometheus, the DNS service, a Kafka cluster elsewhere) are
 * modelled with the labels a cluster gives them for sure: {@code kubernetes.io/metadata.name} on namespaces, and the
 * labels the tests are told; their own policies are unknown, so only the msx side of such traffic is checked.
 */
final class NetworkPolicies {

    /** Where rendered objects without a namespace (the base) would land. */
    static final String DEFAULT_NAMESPACE = "default";

    /**
     * One end of a connection. {@code pod == null}: an address outside the cluster. {@code rendered}: the pod is
     * part of the kustomization, so the policies selecting it are all known.
     */
    record Endpoint(String description, String namespace, Map<String, String> labels, List<ContainerPort> ports,
                    boolean outsideCluster, boolean rendered) {

        static Endpoint of(Rendered.Workload w) {
            List<ContainerPort> ports = new ArrayList<>();
            for (Container c : w.pod().getContainers()) {
                if (c.getPorts() != null) {
                    ports.addAll(c.getPorts());
                }
            }
            return new Endpoint("pod of " + w.name(), namespaceOf(w.owner().getMetadata().getNamespace()),
                    w.podLabels(), ports, false, true);
        }

        /** A pod in the cluster that is not part of the kustomization. */
        static Endpoint clusterPod(String description, String namespace, Map<String, String> labels) {
            return new Endpoint(description, namespace, labels, List.of(), false, false);
        }

        static Endpoint outside(String description) {
            return new Endpoint(description, null, Map.of(), List.of(), true, false);
        }

        @Override
        public String toString() {
            return description + (namespace == null ? "" : " (namespace " + namespace + ", labels " + labels + ")");
        }
    }

    private final Rendered rendered;
    private final Map<String, Map<String, String>> namespaceLabels = new HashMap<>();

    NetworkPolicies(Rendered rendered) {
        this.rendered = rendered;
        for (Namespace ns : rendered.all(Namespace.class)) {
            Map<String, String> labels = new HashMap<>();
            if (ns.getMetadata().getLabels() != null) {
                labels.putAll(ns.getMetadata().getLabels());
            }
            labels.put("kubernetes.io/metadata.name", ns.getMetadata().getName());
            namespaceLabels.put(ns.getMetadata().getName(), labels);
        }
    }

    /** Labels a namespace not part of the kustomization is given (beside its name, which it always has). */
    void declareNamespace(String name, Map<String, String> labels) {
        Map<String, String> all = new HashMap<>(labels);
        all.put("kubernetes.io/metadata.name", name);
        namespaceLabels.merge(name, all, (a, b) -> {
            Map<String, String> merged = new HashMap<>(a);
            merged.putAll(b);
            return merged;
        });
    }

    static String namespaceOf(String namespace) {
        return namespace == null || namespace.isBlank() ? DEFAULT_NAMESPACE : namespace;
    }

    private Map<String, String> namespaceLabels(String name) {
        return namespaceLabels.getOrDefault(name, Map.of("kubernetes.io/metadata.name", name));
    }

    /**
     * Why TCP/UDP traffic from {@code source} to {@code destination} on {@code port} is refused, or empty when the
     * policies allow it. The destination's ingress is checked only when its pod is part of the kustomization.
     */
    Optional<String> refusal(Endpoint source, Endpoint destination, int port, String protocol) {
        List<String> reasons = new ArrayList<>();
        if (!source.outsideCluster()) {
            List<NetworkPolicy> egress = selecting(source, "Egress");
            boolean allowed = egress.isEmpty() || egress.stream().anyMatch(p -> p.getSpec().getEgress() != null
                    && p.getSpec().getEgress().stream().anyMatch(rule -> allows(rule, p, destination, port, protocol)));
            if (!allowed) {
                reasons.add("no egress rule of " + names(egress) + " (selecting " + source.description()
                        + ") lets it out to " + destination + " on " + protocol + " " + port);
            }
        }
        if (destination.rendered()) {
            List<NetworkPolicy> ingress = selecting(destination, "Ingress");
            boolean allowed = ingress.isEmpty() || ingress.stream().anyMatch(p -> p.getSpec().getIngress() != null
                    && p.getSpec().getIngress().stream().anyMatch(rule -> allows(rule, p, source, destination, port,
                    protocol)));
            if (!allowed) {
                reasons.add("no ingress rule of " + names(ingress) + " (selecting " + destination.description()
                        + ") lets in " + source + " on " + protocol + " " + port);
            }
        }
        return reasons.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", reasons));
    }

    private static List<String> names(List<NetworkPolicy> policies) {
        return policies.stream().map(p -> "NetworkPolicy " + p.getMetadata().getName()).toList();
    }

    /** The policies of the endpoint's namespace that select it and restrict this direction. */
    List<NetworkPolicy> selecting(Endpoint endpoint, String type) {
        if (endpoint.outsideCluster()) {
            return List.of();
        }
        return rendered.all(NetworkPolicy.class).stream()
                .filter(p -> namespaceOf(p.getMetadata().getNamespace()).equals(endpoint.namespace()))
                .filter(p -> matches(p.getSpec().getPodSelector(), endpoint.labels()))
                .filter(p -> policyTypes(p).contains(type))
                .toList();
    }

    private static List<String> policyTypes(NetworkPolicy p) {
        if (p.getSpec().getPolicyTypes() != null && !p.getSpec().getPolicyTypes().isEmpty()) {
            return p.getSpec().getPolicyTypes();
        }
        // the API server's default: Ingress always, Egress when there are egress rules
        List<String> types = new ArrayList<>(List.of("Ingress"));
        if (p.getSpec().getEgress() != null && !p.getSpec().getEgress().isEmpty()) {
            types.add("Egress");
        }
        return types;
    }

    private boolean allows(NetworkPolicyEgressRule rule, NetworkPolicy policy, Endpoint destination, int port,
                           String protocol) {
        return peersMatch(rule.getTo(), policy, destination) && portsMatch(rule.getPorts(), destination, port,
                protocol);
    }

    private boolean allows(NetworkPolicyIngressRule rule, NetworkPolicy policy, Endpoint source, Endpoint destination,
                           int port, String protocol) {
        return peersMatch(rule.getFrom(), policy, source) && portsMatch(rule.getPorts(), destination, port, protocol);
    }

    private boolean peersMatch(List<NetworkPolicyPeer> peers, NetworkPolicy policy, Endpoint other) {
        if (peers == null || peers.isEmpty()) {
            return true;
        }
        return peers.stream().anyMatch(peer -> peerMatches(peer, policy, other));
    }

    private boolean peerMatches(NetworkPolicyPeer peer, NetworkPolicy policy, Endpoint other) {
        if (peer.getIpBlock() != null) {
            String cidr = peer.getIpBlock().getCidr();
            boolean everything = ("0.0.0.0/0".equals(cidr) || "::/0".equals(cidr))
                    && (peer.getIpBlock().getExcept() == null || peer.getIpBlock().getExcept().isEmpty());
            return other.outsideCluster() && everything;
        }
        if (other.outsideCluster()) {
            return false;
        }
        boolean namespaceMatches = peer.getNamespaceSelector() == null
                ? namespaceOf(policy.getMetadata().getNamespace()).equals(other.namespace())
                : matches(peer.getNamespaceSelector(), namespaceLabels(other.namespace()));
        boolean podMatches = peer.getPodSelector() == null || matches(peer.getPodSelector(), other.labels());
        return namespaceMatches && podMatches;
    }

    private static boolean portsMatch(List<NetworkPolicyPort> ports, Endpoint destination, int port, String protocol) {
        if (ports == null || ports.isEmpty()) {
            return true;
        }
        for (NetworkPolicyPort p : ports) {
            String ruleProtocol = p.getProtocol() == null ? "TCP" : p.getProtocol();
            if (!ruleProtocol.equals(protocol)) {
                continue;
            }
            IntOrString rulePort = p.getPort();
            if (rulePort == null) {
                return true;
            }
            if (rulePort.getStrVal() != null) {
                // a named port is looked up on the destination pod
                boolean named = destination.ports().stream().anyMatch(cp -> rulePort.getStrVal().equals(cp.getName())
                        && cp.getContainerPort() == port
                        && (cp.getProtocol() == null ? "TCP" : cp.getProtocol()).equals(protocol));
                if (named) {
                    return true;
                }
                continue;
            }
            int from = rulePort.getIntVal();
            int to = p.getEndPort() == null ? from : p.getEndPort();
            if (port >= from && port <= to) {
                return true;
            }
        }
        return false;
    }

    /** Label selector semantics, matchExpressions included; an empty selector selects everything. */
    static boolean matches(LabelSelector selector, Map<String, String> labels) {
        if (selector == null) {
            return false;
        }
        if (selector.getMatchLabels() != null) {
            for (Map.Entry<String, String> e : selector.getMatchLabels().entrySet()) {
                if (!e.getValue().equals(labels.get(e.getKey()))) {
                    return false;
                }
            }
        }
        if (selector.getMatchExpressions() != null) {
            for (LabelSelectorRequirement r : selector.getMatchExpressions()) {
                String value = labels.get(r.getKey());
                List<String> values = r.getValues() == null ? List.of() : r.getValues();
                boolean ok = switch (r.getOperator()) {
                    case "In" -> value != null && values.contains(value);
                    case "NotIn" -> value == null || !values.contains(value);
                    case "Exists" -> value != null;
                    case "DoesNotExist" -> value == null;
                    default -> throw new AssertionError("unknown selector operator " + r.getOperator());
                };
                if (!ok) {
                    return false;
                }
            }
        }
        return true;
    }

    /** A connection's destination: the endpoints a host name reaches and the port on them. */
    record Destination(List<Endpoint> endpoints, int port, String how) {
    }

    /**
     * Where {@code host:port}, as a process in {@code namespace} would resolve it, leads: the pods of a Service of
     * the kustomization (a ClusterIP Service's port mapped to its targetPort; a headless one's names are the pods'
     * own addresses, so the port is the pod's), a pod elsewhere in the cluster ({@code <service>.<namespace>.svc}),
     * or an address outside the cluster.
     */
    Destination resolve(String host, int port, String namespace) {
        String name = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
        List<String> parts;
        if (name.endsWith(".svc.cluster.local")) {
            parts = List.of(name.substring(0, name.length() - ".svc.cluster.local".length()).split("\\."));
        } else if (name.endsWith(".svc")) {
            parts = List.of(name.substring(0, name.length() - ".svc".length()).split("\\."));
        } else if (!name.contains(".")) {
            parts = List.of(name);
        } else {
            return new Destination(List.of(Endpoint.outside(host + " (outside the cluster)")), port,
                    "outside the cluster");
        }
        String service;
        String ns;
        switch (parts.size()) {
            case 1 -> {
                service = parts.get(0);
                ns = namespace;
            }
            case 2 -> {
                service = parts.get(0);
                ns = parts.get(1);
            }
            case 3 -> {
                service = parts.get(1);
                ns = parts.get(2);
            }
            default -> throw new AssertionError("cannot read " + host + " as a Service's DNS name");
        }
        Optional<Service> found = rendered.all(Service.class).stream()
                .filter(s -> s.getMetadata().getName().equals(service))
                .filter(s -> namespaceOf(s.getMetadata().getNamespace()).equals(ns))
                .findFirst();
        if (found.isEmpty()) {
            return new Destination(List.of(Endpoint.clusterPod("a pod behind Service " + service + " of namespace "
                    + ns + " (not part of " + rendered + ")", ns, Map.of())), port, "Service elsewhere");
        }
        Service s = found.get();
        List<Rendered.Workload> pods = rendered.workloads().stream()
                .filter(w -> namespaceOf(w.owner().getMetadata().getNamespace()).equals(ns))
                .filter(w -> ManifestsTest.selects(s.getSpec().getSelector(), w.podLabels()))
                .toList();
        if (pods.isEmpty()) {
            throw new AssertionError("Service " + service + " (" + host + ") selects no pod of " + rendered);
        }
        int podPort = port;
        if (!"None".equals(s.getSpec().getClusterIP())) {
            ServicePort servicePort = s.getSpec().getPorts().stream().filter(p -> p.getPort() == port).findFirst()
                    .orElseThrow(() -> new AssertionError("Service " + service + " has no port " + port + " (" + host
                            + ":" + port + ")"));
            IntOrString target = servicePort.getTargetPort() == null ? new IntOrString(port)
                    : servicePort.getTargetPort();
            if (target.getIntVal() != null) {
                podPort = target.getIntVal();
            } else {
                podPort = pods.stream().flatMap(w -> w.pod().getContainers().stream())
                        .flatMap(c -> c.getPorts() == null ? java.util.stream.Stream.<ContainerPort>empty()
                                : c.getPorts().stream())
                        .filter(cp -> target.getStrVal().equals(cp.getName())).map(ContainerPort::getContainerPort)
                        .findFirst().orElseThrow(() -> new AssertionError("Service " + service + " port " + port
                                + " targets port '" + target.getStrVal() + "', which its pods do not declare"));
            }
        }
        return new Destination(pods.stream().map(Endpoint::of).toList(), podPort, "Service " + service);
    }
}
