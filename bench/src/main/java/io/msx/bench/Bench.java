package io.msx.bench;

/** Entry point: {@code java -jar bench/target/msx-bench.jar spool}. */
public final class Bench {

    private Bench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals("spool")) {
            SpoolBench.main();
            return;
        }
        if (args.length == 1 && args[0].equals("master")) {
            MasterBench.main();
            return;
        }
        if (args.length == 1 && args[0].equals("agent")) {
            AgentBench.main();
            return;
        }
        if (args.length > 0 && args[0].equals("agent-child")) {
            AgentBench.agentChild(args);
            return;
        }
        if (args.length > 0 && args[0].equals("consumer-child")) {
            AgentBench.consumerChild(args);
            return;
        }
        System.err.println("usage: msx-bench spool|agent|master");
        System.exit(2);
    }
}
