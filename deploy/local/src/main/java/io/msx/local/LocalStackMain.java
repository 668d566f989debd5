package io.msx.local;

import java.util.concurrent.CountDownLatch;

/**
 * Runs the local stack alone until interrupted (Ctrl-C): {@code java -cp ... io.msx.local.LocalStackMain}. Prints the
 * addresses to use, one per line, so scripts can read them.
 */
public final class LocalStackMain {

    private LocalStackMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length > 0) {
            System.err.println("usage: LocalStackMain (no arguments; stops on Ctrl-C)");
            System.exit(2);
        }
        LocalStack stack;
        try {
            stack = LocalStack.start();
        } catch (LocalStackException e) {
            System.err.println("msx local stack: " + e.getMessage());
            System.exit(1);
            return;
        }
        System.out.println("MSX_BOOTSTRAP_SERVERS=" + stack.bootstrapServers());
        System.out.println("MSX_SCHEMA_REGISTRY_URL=" + stack.schemaRegistryUrl());
        // the super-user's settings (the broker is secured): for a local try-out only
        stack.adminSecuritySettings().forEach((key, value) -> System.out.println("MSX_"
                + key.toUpperCase(java.util.Locale.ROOT).replace('.', '_') + "='" + value + "'"));
        // The stack's own shutdown hook closes it on Ctrl-C; this thread only keeps the JVM up until then.
        new CountDownLatch(1).await();
    }
}
