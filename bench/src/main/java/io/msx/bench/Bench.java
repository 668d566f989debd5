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
        System.err.println("usage: msx-bench spool");
        System.exit(2);
    }
}
