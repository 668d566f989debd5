package io.msx.kubernetes;

import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.msx.agent.TargetAgentConfig;
import io.msx.master.MasterConfig;
import io.msx.schemas.Topics;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** How the master and the agents are laid out: stable identities, state on volumes, one pod per target. */
class MasterAndAgentsTest {

    static java.util.stream.Stream<String> kustomizations() {
        return Rendered.kustomizations();
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldRunTwoMastersWithStableIdsStaticMembershipAndAStateVolume(String dir) {
        Rendered r = Rendered.of(dir);
        List<Rendered.MsxContainer> masters = ManifestsTest.msxContainers(r).stream()
                .filter(m -> m.component() == Component.MASTER).toList();
        assertThat(masters).as(dir + ": one master StatefulSet").hasSize(1);
        Rendered.MsxContainer master = masters.get(0);
        assertThat(master.workload().owner()).as("the master is a StatefulSet: stable pod names")
                .isInstanceOf(StatefulSet.class);
        StatefulSet set = (StatefulSet) master.workload().owner();
        assertThat(set.getSpec().getReplicas()).as("active + standby").isEqualTo(2);

        // master.id names the static group member (group.instance.id) and the transactional id: one per pod, stable
        // across restarts, so it is the pod's name
        Settings settings = new Settings(r, master);
        assertThat(settings.msxVariables().get("MSX_MASTER_ID")).as("MSX_MASTER_ID is the pod's name")
                .isEqualTo("<metadata.name>");
        String advertised = settings.msxVariables().get("MSX_ADVERTISED_HOST");
        String peers = set.getSpec().getServiceName();
        assertThat(advertised).as("the other instance reaches this one by its stable DNS name")
                .startsWith("<metadata.name>." + peers + ".");
        Service peerService = r.all(Service.class).stream().filter(s -> s.getMetadata().getName().equals(peers))
                .findFirst().orElseThrow();
        assertThat(peerService.getSpec().getPublishNotReadyAddresses()).as("peers resolve while not ready").isTrue();
        int standbys = Integer.parseInt(settings.value("num.standby.replicas") == null
                ? master.component().definition.defaultValues().get("num.standby.replicas").toString()
                : settings.value("num.standby.replicas"));
        assertThat(standbys).as("a warm standby on the other instance").isBetween(1, set.getSpec().getReplicas() - 1);

        String stateDir = settings.value("state.dir");
        VolumeMount mount = settings.writableMountOf(stateDir).orElseThrow();
        assertThat(settings.isClaim(mount.getName())).as("state.dir " + stateDir + " is on a claim of its own, so a "
                + "restart starts from its checkpoint").isTrue();

        assertThat(r.all(PodDisruptionBudget.class).stream().anyMatch(b -> ManifestsTest.selects(
                b.getSpec().getSelector(), master.workload().podLabels()))).as("a PodDisruptionBudget for the master")
                .isTrue();
        // the only variable allowed to vary per pod is the one from the downward API
        EnvVar id = master.container().getEnv().stream().filter(e -> e.getName().equals("POD_NAME")).findFirst()
                .orElseThrow();
        assertThat(id.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("metadata.name");
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldRunEveryTargetInOnePodWithItsOwnNameKeyAndClaim(String dir) {
        Rendered r = Rendered.of(dir);
        Set<String> names = new HashSet<>();
        for (Rendered.MsxContainer agent : ManifestsTest.msxContainers(r)) {
            if (agent.component() != Component.AGENT) {
                continue;
            }
            Settings settings = new Settings(r, agent);
            String target = settings.value("target.name");
            assertThat(target).as(agent.where() + ": MSX_TARGET_NAME").isNotBlank();
            Topics.requireValidTargetName(target);
            assertThat(names.add(target)).as(dir + ": target " + target + " runs twice (a cloned installation)")
                    .isTrue();
            Rendered.Workload w = agent.workload();
            assertThat(w.owner()).as(agent.where() + " is in a StatefulSet (a claim of its own)")
                    .isInstanceOf(StatefulSet.class);
            assertThat(w.replicas()).as(agent.where() + ": one pod per target").isEqualTo(1);
            assertThat(w.podLabels()).as(agent.where() + " labels").containsEntry("msx.io/target", target)
                    .containsEntry("msx.io/agent", "true");
            if (w.pod().getContainers().size() == 1) {
                assertThat(w.owner().getMetadata().getName()).as("an agent's own StatefulSet is named after its "
                        + "target").isEqualTo("msx-agent-" + target);
            }
            String dataDir = settings.value("data.dir");
            VolumeMount data = settings.writableMountOf(dataDir).orElseThrow();
            assertThat(settings.isClaim(data.getName())).as(agent.where() + ": data.dir " + dataDir + " (RocksDB "
                    + "job store and spool) is on a PersistentVolumeClaim, not an emptyDir").isTrue();
            String key = settings.value("signing.key.file");
            assertThat(key).as(agent.where() + ": its own signing key, outside its data directory").isNotBlank()
                    .doesNotStartWith(dataDir + "/");
            Volume keyVolume = settings.mountedFile(key).orElseThrow().volume();
            assertThat(keyVolume.getSecret().getSecretName()).as(agent.where() + ": the Secret of "
                    + target + "'s key").isEqualTo("msx-agent-" + target + "-signing-key");
            assertThat(settings.value("trusted.keys.file")).as(agent.where() + " pins the master's key")
                    .isNotBlank();
        }
    }

    /** The agent's /health and /metrics port: the one the image exposes beside the master's, and the README's. */
    static final int AGENT_HTTP_PORT = 9780;

    @ParameterizedTest
    @MethodSource("kustomizations")
    void shouldServeEveryAgentsHealthOnPort9780AndTheMastersOn8780(String dir) {
        Rendered r = Rendered.of(dir);
        List<Integer> exposed = imagePorts();
        int masterPort = (Integer) MasterConfig.CONFIG_DEF.defaultValues().get(MasterConfig.HTTP_PORT_CONFIG);
        assertThat(exposed).as("the ports the msx image exposes (dist/pom.xml)")
                .containsExactlyInAnyOrder(masterPort, AGENT_HTTP_PORT);
        assertThat(TargetAgentConfig.CONFIG_DEF.defaultValues().get(TargetAgentConfig.HTTP_PORT_CONFIG))
                .as("an agent serves no HTTP unless told: every agent container must set it").isEqualTo(-1);
        for (Rendered.MsxContainer msx : ManifestsTest.msxContainers(r)) {
            Settings settings = new Settings(r, msx);
            int expected = msx.component() == Component.AGENT ? AGENT_HTTP_PORT : masterPort;
            String port = settings.value("http.port");
            assertThat(port).as(msx.where() + ": http.port (MSX_HTTP_PORT or the --config file) is set").isNotNull();
            assertThat(Integer.parseInt(port)).as(msx.where() + ": the " + msx.component() + "'s HTTP port")
                    .isEqualTo(expected);
            assertThat(msx.container().getPorts()).as(msx.where() + " container ports")
                    .anyMatch(p -> p.getContainerPort() == expected);
        }
    }

    /** The {@code <port>}s of Jib's {@code <ports>} in dist/pom.xml: what the image declares it listens on. */
    private static List<Integer> imagePorts() {
        Path pom = Rendered.root().resolve("../../dist/pom.xml").normalize();
        String text;
        try {
            text = Files.readString(pom);
        } catch (IOException e) {
            throw new AssertionError("cannot read " + pom, e);
        }
        Matcher ports = Pattern.compile("<ports>(.*?)</ports>", Pattern.DOTALL).matcher(text);
        assertThat(ports.find()).as(pom + " declares the image's <ports>").isTrue();
        Matcher port = Pattern.compile("<port>\\s*(\\d+)\\s*</port>").matcher(ports.group(1));
        List<Integer> list = new java.util.ArrayList<>();
        while (port.find()) {
            list.add(Integer.parseInt(port.group(1)));
        }
        return list;
    }
}
