package io.msx.kubernetes;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;

import java.io.IOException;
import java.io.StringReader;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What an msx container is configured with: its variables (env over envFrom) and its --config file. */
final class Settings {

    private static final Pattern REFERENCE = Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)");
    /** Kafka config-provider references: {@code ${provider:path:key}}. */
    static final Pattern PROVIDER_REFERENCE = Pattern.compile("\\$\\{([^:}]+):([^:}]*):([^}]+)}");

    final Rendered rendered;
    final Rendered.MsxContainer msx;
    /** Variables as the process sees them; values from the downward API stand as {@code <fieldPath>}. */
    final Map<String, String> env;
    /** Where each variable came from, for messages. */
    final Map<String, String> origin;
    /** The --config file's path and contents, when there is one. */
    final String configPath;
    final Properties file;

    Settings(Rendered rendered, Rendered.MsxContainer msx) {
        this.rendered = rendered;
        this.msx = msx;
        this.env = new LinkedHashMap<>();
        this.origin = new LinkedHashMap<>();
        Container c = msx.container();
        if (c.getEnvFrom() != null) {
            for (EnvFromSource from : c.getEnvFrom()) {
                if (from.getConfigMapRef() == null) {
                    throw new AssertionError(msx.where() + ": envFrom other than a ConfigMap: " + from);
                }
                String name = from.getConfigMapRef().getName();
                ConfigMap map = rendered.configMap(name).orElseThrow(() -> new AssertionError(msx.where()
                        + ": envFrom ConfigMap " + name + " is not part of " + rendered));
                String prefix = from.getPrefix() == null ? "" : from.getPrefix();
                map.getData().forEach((k, v) -> {
                    env.put(prefix + k, v);
                    origin.put(prefix + k, "ConfigMap " + name);
                });
            }
        }
        if (c.getEnv() != null) {
            for (EnvVar var : c.getEnv()) {
                String value;
                if (var.getValueFrom() != null) {
                    if (var.getValueFrom().getFieldRef() == null) {
                        throw new AssertionError(msx.where() + ": " + var.getName() + " from something other than "
                                + "the downward API");
                    }
                    value = "<" + var.getValueFrom().getFieldRef().getFieldPath() + ">";
                } else {
                    value = expand(var.getValue() == null ? "" : var.getValue());
                }
                env.put(var.getName(), value);
                origin.put(var.getName(), "env");
            }
        }
        List<String> args = c.getArgs();
        int i = args.indexOf("--config");
        if (i >= 0) {
            if (i + 1 >= args.size()) {
                throw new AssertionError(msx.where() + ": --config without a file");
            }
            configPath = args.get(i + 1);
            file = readMountedProperties(configPath);
        } else {
            configPath = null;
            file = new Properties();
        }
    }

    /** Kubernetes' $(VAR) expansion with the variables defined before. */
    private String expand(String value) {
        Matcher m = REFERENCE.matcher(value);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String replacement = env.get(m.group(1));
            if (replacement == null) {
                throw new AssertionError(msx.where() + ": $(" + m.group(1) + ") refers to no variable defined "
                        + "before it (Kubernetes would leave it as it is)");
            }
            m.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** The MSX_* variables of this container. */
    Map<String, String> msxVariables() {
        Map<String, String> vars = new LinkedHashMap<>();
        env.forEach((k, v) -> {
            if (k.startsWith("MSX_")) {
                vars.put(k, v);
            }
        });
        return vars;
    }

    /**
     * The configuration the process builds: the file, then the variables over it (ConfigSources' precedence).
     * Values that Kafka's config providers resolve at run time are left out; the downward API's values are sample
     * ones.
     */
    Map<String, Object> effective() {
        Map<String, Object> values = new LinkedHashMap<>();
        for (String key : file.stringPropertyNames()) {
            String value = file.getProperty(key);
            if (!key.startsWith("config.providers") && !PROVIDER_REFERENCE.matcher(value).find()) {
                values.put(key, value);
            }
        }
        Map<String, String> byVariable = msx.component().variables();
        msxVariables().forEach((k, v) -> {
            String key = byVariable.get(k);
            if (key != null) {
                values.put(key, v.replace("<metadata.name>", "pod-0").replace("<metadata.namespace>", "ns"));
            }
        });
        return values;
    }

    /** The configuration key's value as the process sees it, or null. */
    String value(String key) {
        Object v = effective().get(key);
        return v == null ? null : v.toString();
    }

    private Properties readMountedProperties(String path) {
        MountedFile mounted = mountedFile(path).orElseThrow(() -> new AssertionError(msx.where() + ": --config "
                + path + " is on no mounted volume"));
        if (mounted.volume().getConfigMap() == null) {
            throw new AssertionError(msx.where() + ": --config " + path + " should come from a ConfigMap");
        }
        String name = mounted.volume().getConfigMap().getName();
        ConfigMap map = rendered.configMap(name).orElseThrow(() -> new AssertionError(msx.where() + ": ConfigMap "
                + name + " (--config " + path + ") is not part of " + rendered));
        String key = mounted.key();
        String text = map.getData() == null ? null : map.getData().get(key);
        if (text == null) {
            throw new AssertionError(msx.where() + ": ConfigMap " + name + " has no key " + key + " (--config "
                    + path + ")");
        }
        Properties properties = new Properties();
        try {
            properties.load(new StringReader(text));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return properties;
    }

    /** A file at {@code path} inside a mounted volume, with the ConfigMap or Secret key it comes from. */
    record MountedFile(VolumeMount mount, Volume volume, String key) {
    }

    /** The ConfigMap or Secret volume a file path lies in, and the key that file is made of. */
    Optional<MountedFile> mountedFile(String path) {
        for (VolumeMount mount : mounts()) {
            String dir = mount.getMountPath().endsWith("/") ? mount.getMountPath() : mount.getMountPath() + "/";
            if (!path.startsWith(dir)) {
                continue;
            }
            String relative = path.substring(dir.length());
            Volume volume = volume(mount.getName()).orElse(null);
            if (volume == null) {
                return Optional.empty();
            }
            List<KeyToPath> items = volume.getConfigMap() != null ? volume.getConfigMap().getItems()
                    : volume.getSecret() != null ? volume.getSecret().getItems() : null;
            String key = relative;
            if (items != null && !items.isEmpty()) {
                key = items.stream().filter(item -> item.getPath().equals(relative)).map(KeyToPath::getKey)
                        .findFirst().orElse(null);
                if (key == null) {
                    throw new AssertionError(msx.where() + ": " + path + " is not among the items " + items
                            + " of volume " + volume.getName());
                }
            }
            return Optional.of(new MountedFile(mount, volume, key));
        }
        return Optional.empty();
    }

    /** The writable mount a directory lies in (an emptyDir or a claim), if any. */
    Optional<VolumeMount> writableMountOf(String directory) {
        for (VolumeMount mount : mounts()) {
            String dir = mount.getMountPath().endsWith("/") ? mount.getMountPath() : mount.getMountPath() + "/";
            if ((directory + "/").startsWith(dir) && !Boolean.TRUE.equals(mount.getReadOnly())) {
                return Optional.of(mount);
            }
        }
        return Optional.empty();
    }

    List<VolumeMount> mounts() {
        List<VolumeMount> mounts = msx.container().getVolumeMounts();
        return mounts == null ? List.of() : mounts;
    }

    Optional<Volume> volume(String name) {
        List<Volume> volumes = msx.workload().pod().getVolumes();
        return volumes == null ? Optional.empty() : volumes.stream().filter(v -> v.getName().equals(name)).findFirst();
    }

    boolean isClaim(String volumeName) {
        return msx.workload().claims().stream().anyMatch(c -> c.getMetadata().getName().equals(volumeName));
    }
}
