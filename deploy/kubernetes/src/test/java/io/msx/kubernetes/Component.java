package io.msx.kubernetes;

import io.fabric8.kubernetes.api.model.Container;
import io.msx.agent.TargetAgentConfig;
import io.msx.config.ConfigSources;
import io.msx.master.MasterConfig;
import org.apache.kafka.common.config.ConfigDef;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/** The msx process a container runs, chosen by its arguments, with the configuration keys the code defines. */
enum Component {
    MASTER(MasterConfig.CONFIG_DEF, MasterConfig::new),
    AGENT(TargetAgentConfig.CONFIG_DEF, TargetAgentConfig::new);

    final ConfigDef definition;
    private final Function<Map<String, ?>, ?> construct;

    Component(ConfigDef definition, Function<Map<String, ?>, ?> construct) {
        this.definition = definition;
        this.construct = construct;
    }

    /** {@code ["master","run",...]} or {@code ["agent","run",...]}: the image's entrypoint is the msx CLI. */
    static Component of(Container container) {
        List<String> args = container.getArgs() == null ? List.of() : container.getArgs();
        if (container.getCommand() != null && !container.getCommand().isEmpty()) {
            throw new AssertionError(container.getName() + ": an msx container keeps the image's entrypoint (the msx "
                    + "CLI) and selects the role with args, but sets command " + container.getCommand());
        }
        if (args.size() >= 2 && args.get(0).equals("master") && args.get(1).equals("run")) {
            return MASTER;
        }
        if (args.size() >= 2 && args.get(0).equals("agent") && args.get(1).equals("run")) {
            return AGENT;
        }
        throw new AssertionError(container.getName() + ": msx container args " + args + " run neither `master run` "
                + "nor `agent run`");
    }

    /** MSX_* variable name → configuration key, from the code's definition (ConfigSources' mapping). */
    Map<String, String> variables() {
        Map<String, String> byVariable = new TreeMap<>();
        for (String key : definition.names()) {
            byVariable.put(ConfigSources.envName(key), key);
        }
        return byVariable;
    }

    /**
     * Builds the component's configuration from these values, as the process would at start: types, validators and
     * cross-field checks.
     */
    void construct(Map<String, ?> values) {
        construct.apply(values);
    }

    boolean isKey(String key) {
        return definition.names().contains(key);
    }
}
