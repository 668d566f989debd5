package io.msx.kubernetes;

import io.msx.config.MsxClientConfig;
import io.msx.master.MasterConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every connection an msx process needs, evaluated against the rendered NetworkPolicies as an enforcing CNI would
 * (see {@link NetworkPolicies}): from each msx pod (master, agents, sidecars) to Kafka's bootstrap servers, the schema
 * registry and DNS; from each master to the other's REST port (interactive queries); and into the msx pods from
 * Prometheus (a namespace labelled {@code msx.io/monitoring=true}) and from a pod labelled
 * {@code msx.io/master-client=true} (the README's CLI pod). Where the destination runs in the cluster as part of the
 * overlay (dev's Kafka and Apicurio) its ingress policies are checked too; elsewhere (prod's Strimzi cluster, an
 * external registry) the msx side: egress to the declared host and port.
 */
class NetworkReachabilityTest {

    static java.util.stream.Stream<String> kustomizations() {
        return Rendered.kustomizations();
    }

    private static final String MONITORING_NAMESPACE = "monitoring";

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldLetEveryMsxPodReachKafkaTheRegistryAndDns(String dir) {
        Rendered r = Rendered.of(dir);
        NetworkPolicies network = new NetworkPolicies(r);
        List<String> refused = new ArrayList<>();
        for (Rendered.MsxContainer msx : ManifestsTest.msxContainers(r)) {
            NetworkPolicies.Endpoint pod = NetworkPolicies.Endpoint.of(msx.workload());
            Settings settings = new Settings(r, msx);
            for (HostPort kafka : bootstrapServers(msx, settings)) {
                check(network, pod, network.resolve(kafka.host(), kafka.port(), pod.namespace()), "TCP",
                        msx.where() + " → Kafka bootstrap server " + kafka, refused);
            }
            HostPort registry = registry(msx, settings);
            check(network, pod, network.resolve(registry.host(), registry.port(), pod.namespace()), "TCP",
                    msx.where() + " → schema registry " + registry, refused);
            NetworkPolicies.Endpoint dns = NetworkPolicies.Endpoint.clusterPod("the cluster DNS", "kube-system",
                    Map.of("k8s-app", "kube-dns"));
            for (String protocol : List.of("UDP", "TCP")) {
                network.refusal(pod, dns, 53, protocol).ifPresent(why -> refused.add(msx.where() + " → DNS "
                        + protocol + " 53: " + why));
            }
        }
        assertThat(refused).as(dir + ": connections the NetworkPolicies refuse").isEmpty();
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldLetTheMasterInstancesQueryEachOther(String dir) {
        Rendered r = Rendered.of(dir);
        NetworkPolicies network = new NetworkPolicies(r);
        List<String> refused = new ArrayList<>();
        List<Rendered.MsxContainer> masters = ManifestsTest.msxContainers(r).stream()
                .filter(m -> m.component() == Component.MASTER).toList();
        assertThat(masters).as(dir + " masters").isNotEmpty();
        for (Rendered.MsxContainer master : masters) {
            NetworkPolicies.Endpoint pod = NetworkPolicies.Endpoint.of(master.workload());
            Settings settings = new Settings(r, master);
            // Streams' application.server: <advertised.host>:<http.port>, asked by the other instance
            String advertised = settings.msxVariables().get("MSX_ADVERTISED_HOST");
            assertThat(advertised).as(master.where() + " MSX_ADVERTISED_HOST").isNotBlank();
            String host = advertised.replace("<metadata.name>", master.workload().owner().getMetadata().getName()
                    + "-0").replace("<metadata.namespace>", pod.namespace());
            int port = Integer.parseInt(settings.value(MasterConfig.HTTP_PORT_CONFIG));
            NetworkPolicies.Destination peer = network.resolve(host, port, pod.namespace());
            assertThat(peer.endpoints()).as(master.where() + ": " + host + " is a master pod of " + dir)
                    .allMatch(NetworkPolicies.Endpoint::rendered);
            check(network, pod, peer, "TCP", master.where() + " → peer " + host + ":" + port, refused);
        }
        assertThat(refused).as(dir + ": connections the NetworkPolicies refuse").isEmpty();
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldLetPrometheusScrapeAndMasterClientsCallTheRestApi(String dir) {
        Rendered r = Rendered.of(dir);
        NetworkPolicies network = new NetworkPolicies(r);
        network.declareNamespace(MONITORING_NAMESPACE, Map.of("msx.io/monitoring", "true"));
        NetworkPolicies.Endpoint prometheus = NetworkPolicies.Endpoint.clusterPod("Prometheus",
                MONITORING_NAMESPACE, Map.of("app.kubernetes.io/name", "prometheus"));
        List<String> refused = new ArrayList<>();
        for (Rendered.MsxContainer msx : ManifestsTest.msxContainers(r)) {
            NetworkPolicies.Endpoint pod = NetworkPolicies.Endpoint.of(msx.workload());
            String port = msx.workload().podAnnotations().get("prometheus.io/port");
            assertThat(port).as(msx.where() + " prometheus.io/port").isNotBlank();
            network.refusal(prometheus, pod, Integer.parseInt(port), "TCP").ifPresent(why -> refused.add(
                    "Prometheus → " + msx.where() + " /metrics on " + port + ": " + why));
            if (msx.component() == Component.MASTER) {
                // the README: kubectl run msx-cli --labels=msx.io/master-client=true ... MSX_MASTER_URL=http://msx-master:8780
                NetworkPolicies.Endpoint cli = NetworkPolicies.Endpoint.clusterPod("the CLI pod", pod.namespace(),
                        Map.of("msx.io/master-client", "true"));
                check(network, cli, network.resolve("msx-master", 8780, pod.namespace()), "TCP",
                        "CLI → Service msx-master:8780", refused);
            }
        }
        assertThat(refused).as(dir + ": connections the NetworkPolicies refuse").isEmpty();
    }

    /** The dev overlay runs Kafka and the registry itself: the checks above then see their ingress policies too. */
    @Test
    void shouldResolveDevsKafkaAndRegistryToPodsOfTheOverlay() {
        Rendered r = Rendered.of("overlays/dev");
        NetworkPolicies network = new NetworkPolicies(r);
        List<Rendered.MsxContainer> all = ManifestsTest.msxContainers(r);
        assertThat(all).extracting(m -> m.workload().owner().getMetadata().getName())
                .as("the dev overlay's msx pods").contains("msx-master", "msx-agent-t1", "msx-agent-t2", "web-1");
        for (Rendered.MsxContainer msx : all) {
            Settings settings = new Settings(r, msx);
            String namespace = NetworkPolicies.namespaceOf(msx.workload().owner().getMetadata().getNamespace());
            for (HostPort hp : List.of(bootstrapServers(msx, settings).get(0), registry(msx, settings))) {
                NetworkPolicies.Destination d = network.resolve(hp.host(), hp.port(), namespace);
                assertThat(d.endpoints()).as(msx.where() + ": " + hp + " runs in the dev overlay").isNotEmpty()
                        .allMatch(NetworkPolicies.Endpoint::rendered);
            }
        }
    }

    // ---- helpers ----

    record HostPort(String host, int port) {
        @Override
        public String toString() {
            return host + ":" + port;
        }
    }

    private static void check(NetworkPolicies network, NetworkPolicies.Endpoint source,
                              NetworkPolicies.Destination destination, String protocol, String what,
                              List<String> refused) {
        for (NetworkPolicies.Endpoint e : destination.endpoints()) {
            Optional<String> why = network.refusal(source, e, destination.port(), protocol);
            why.ifPresent(reason -> refused.add(what + " (" + destination.how() + ", port " + destination.port()
                    + " on the pod): " + reason));
        }
    }

    private static List<HostPort> bootstrapServers(Rendered.MsxContainer msx, Settings settings) {
        String servers = settings.value(MsxClientConfig.BOOTSTRAP_SERVERS_CONFIG);
        assertThat(servers).as(msx.where() + " bootstrap.servers").isNotBlank();
        List<HostPort> list = new ArrayList<>();
        for (String server : servers.split("\\s*,\\s*")) {
            int colon = server.lastIndexOf(':');
            assertThat(colon).as(msx.where() + ": bootstrap server " + server + " has a port").isPositive();
            list.add(new HostPort(server.substring(0, colon), Integer.parseInt(server.substring(colon + 1))));
        }
        return list;
    }

    private static HostPort registry(Rendered.MsxContainer msx, Settings settings) {
        String url = settings.value(MsxClientConfig.SCHEMA_REGISTRY_URL_CONFIG);
        assertThat(url).as(msx.where() + " schema.registry.url").isNotBlank();
        URI uri = URI.create(url.split(",")[0].trim());
        int port = uri.getPort() >= 0 ? uri.getPort() : "https".equals(uri.getScheme()) ? 443 : 80;
        return new HostPort(uri.getHost(), port);
    }
}
