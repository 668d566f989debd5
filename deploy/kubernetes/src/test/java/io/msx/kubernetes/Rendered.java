package io.msx.kubernetes;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One kustomization rendered with {@code kubectl kustomize} and parsed into fabric8's typed model (kinds the model
 * does not know, such as Strimzi's, as {@link GenericKubernetesResource}). Renders are cached per directory.
 */
final class Rendered {

    /** The kustomization directories every test runs on: the base and each overlay. */
    static Stream<String> kustomizations() {
        try (Stream<Path> overlays = Files.list(root().resolve("overlays"))) {
            List<String> dirs = new ArrayList<>(List.of("base"));
            overlays.filter(p -> Files.exists(p.resolve("kustomization.yaml")))
                    .map(p -> "overlays/" + p.getFileName()).sorted().forEach(dirs::add);
            return dirs.stream();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static Path root() {
        return Path.of(System.getProperty("msx.kubernetes.dir", ".")).toAbsolutePath().normalize();
    }

    private static final Map<String, Rendered> CACHE = new ConcurrentHashMap<>();
    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    final String dir;
    final List<HasMetadata> objects;

    private Rendered(String dir, List<HasMetadata> objects) {
        this.dir = dir;
        this.objects = objects;
    }

    static Rendered of(String dir) {
        return CACHE.computeIfAbsent(dir, d -> parse(d, kustomize(System.getProperty("msx.kubectl", "kubectl"),
                root().resolve(d))));
    }

    /**
     * Runs {@code <kubectl> kustomize <dir>}.
     *
     * @throws AssertionError naming kubectl when it cannot be run, or with kubectl's output when it fails
     */
    static String kustomize(String kubectl, Path dir) {
        Process process;
        try {
            process = new ProcessBuilder(kubectl, "kustomize", dir.toString()).redirectErrorStream(false).start();
        } catch (IOException e) {
            throw new AssertionError("cannot run '" + kubectl + "': the Kubernetes manifest tests need kubectl (with "
                    + "its built-in kustomize) on the PATH, or -Dmsx.kubectl=/path/to/kubectl (" + e.getMessage()
                    + ")", e);
        }
        try (InputStream out = process.getInputStream(); InputStream err = process.getErrorStream()) {
            process.getOutputStream().close();
            byte[] stdout = out.readAllBytes();
            String stderr = new String(err.readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(kubectl + " kustomize " + dir + " did not finish within 60 s");
            }
            if (process.exitValue() != 0) {
                throw new AssertionError(kubectl + " kustomize " + dir + " failed (exit " + process.exitValue()
                        + "): " + stderr);
            }
            return new String(stdout, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError("reading the output of " + kubectl + " kustomize " + dir + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    static Rendered parse(String dir, String yaml) {
        List<HasMetadata> objects = new ArrayList<>();
        for (String document : yaml.split("(?m)^---$")) {
            if (document.isBlank()) {
                continue;
            }
            KubernetesResource resource = SERIALIZATION.unmarshal(document, KubernetesResource.class);
            if (!(resource instanceof HasMetadata object)) {
                throw new AssertionError(dir + ": not a Kubernetes object: " + document);
            }
            objects.add(object);
        }
        return new Rendered(dir, List.copyOf(objects));
    }

    <T extends HasMetadata> List<T> all(Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    List<GenericKubernetesResource> custom(String kind) {
        return all(GenericKubernetesResource.class).stream().filter(r -> kind.equals(r.getKind())).toList();
    }

    Optional<ConfigMap> configMap(String name) {
        return all(ConfigMap.class).stream().filter(c -> c.getMetadata().getName().equals(name)).findFirst();
    }

    Optional<Secret> secret(String name) {
        return all(Secret.class).stream().filter(c -> c.getMetadata().getName().equals(name)).findFirst();
    }

    /** Every object that runs pods, with its pod template. */
    List<Workload> workloads() {
        List<Workload> workloads = new ArrayList<>();
        for (HasMetadata o : objects) {
            if (o instanceof Deployment d) {
                workloads.add(new Workload(o, d.getSpec().getSelector(), d.getSpec().getTemplate(),
                        d.getSpec().getReplicas(), List.of()));
            } else if (o instanceof StatefulSet s) {
                workloads.add(new Workload(o, s.getSpec().getSelector(), s.getSpec().getTemplate(),
                        s.getSpec().getReplicas(), s.getSpec().getVolumeClaimTemplates()));
            } else if (o instanceof DaemonSet d) {
                workloads.add(new Workload(o, d.getSpec().getSelector(), d.getSpec().getTemplate(), null, List.of()));
            } else if (o instanceof Job j) {
                workloads.add(new Workload(o, j.getSpec().getSelector(), j.getSpec().getTemplate(), null, List.of()));
            }
        }
        return workloads;
    }

    @Override
    public String toString() {
        return dir;
    }

    /** A Deployment, StatefulSet, DaemonSet or Job. */
    record Workload(HasMetadata owner, LabelSelector selector, PodTemplateSpec template, Integer replicas,
                    List<PersistentVolumeClaim> claims) {

        PodSpec pod() {
            return template.getSpec();
        }

        Map<String, String> podLabels() {
            Map<String, String> labels = template.getMetadata() == null ? null : template.getMetadata().getLabels();
            return labels == null ? Map.of() : labels;
        }

        Map<String, String> podAnnotations() {
            Map<String, String> a = template.getMetadata() == null ? null : template.getMetadata().getAnnotations();
            return a == null ? Map.of() : a;
        }

        List<Container> allContainers() {
            List<Container> all = new ArrayList<>(pod().getContainers());
            if (pod().getInitContainers() != null) {
                all.addAll(pod().getInitContainers());
            }
            return all;
        }

        /** The msx containers, each with the component its arguments select. */
        List<MsxContainer> msxContainers() {
            return allContainers().stream().filter(c -> Images.isMsx(c.getImage()))
                    .map(c -> new MsxContainer(this, c, Component.of(c))).toList();
        }

        String name() {
            return owner.getKind() + "/" + owner.getMetadata().getName();
        }
    }

    record MsxContainer(Workload workload, Container container, Component component) {
        String where() {
            return workload.name() + " container " + container.getName();
        }
    }
}
