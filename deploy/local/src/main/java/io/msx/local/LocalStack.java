package io.msx.local;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The embedded default: one real KRaft broker (in this JVM) and one real Apicurio Registry (child JVM), both on
 * 127.0.0.1 with free ports. Started in parallel; closed in reverse order, also by a JVM shutdown hook so that
 * Ctrl-C never leaves a registry process behind.
 *
 * <p>Thread-safe; {@link #close()} is idempotent.
 */
public final class LocalStack implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LocalStack.class);

    private final EmbeddedKafka kafka;
    private final EmbeddedSchemaRegistry registry;
    private final Thread shutdownHook;
    private final AtomicBoolean closed = new AtomicBoolean();

    private LocalStack(EmbeddedKafka kafka, EmbeddedSchemaRegistry registry) {
        this.kafka = kafka;
        this.registry = registry;
        this.shutdownHook = new Thread(this::closeResources, "msx-local-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /**
     * Starts the broker and the registry, the registry's child JVM booting while the broker formats and starts.
     *
     * @throws LocalStackException if either fails; whatever did start is stopped again
     */
    public static LocalStack start() {
        long started = System.nanoTime();
        var registryStart = new java.util.concurrent.CompletableFuture<EmbeddedSchemaRegistry>();
        Thread registryThread = new Thread(() -> {
            try {
                registryStart.complete(EmbeddedSchemaRegistry.start());
            } catch (Throwable t) {
                registryStart.completeExceptionally(t);
            }
        }, "msx-local-registry-start");
        registryThread.start();
        EmbeddedKafka kafka;
        try {
            kafka = EmbeddedKafka.start();
        } catch (RuntimeException e) {
            registryStart.thenAccept(EmbeddedSchemaRegistry::close);
            throw e;
        }
        EmbeddedSchemaRegistry registry;
        try {
            registry = registryStart.join();
        } catch (java.util.concurrent.CompletionException e) {
            kafka.close();
            throw e.getCause() instanceof RuntimeException re ? re : new LocalStackException(e.getMessage(), e);
        }
        log.info("Local stack ready in {} ms: Kafka {}, schema registry {}",
                (System.nanoTime() - started) / 1_000_000, kafka.bootstrapServers(), registry.url());
        return new LocalStack(kafka, registry);
    }

    public String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    /**
     * Bootstrap servers reached only through {@link #proxy()}: clients using them lose the broker when the proxy is
     * cut, while everything else keeps working.
     */
    public String proxiedBootstrapServers() {
        return kafka.proxiedBootstrapServers();
    }

    /** The fault-injection proxy in front of the broker's PROXIED listener. */
    public TcpProxy proxy() {
        return kafka.proxy();
    }

    /** Base URL of the registry's Confluent-compatible API. */
    public String schemaRegistryUrl() {
        return registry.url();
    }

    /**
     * A topic-name prefix no other test in this JVM uses, e.g. {@code it-3f2a9c1b.}: integration tests share one
     * broker, so each puts its topics under its own prefix.
     */
    public static String uniqueTopicPrefix() {
        return "it-" + UUID.randomUUID().toString().substring(0, 8) + ".";
    }

    @Override
    public void close() {
        closeResources();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or has run: nothing left to remove
        }
    }

    private void closeResources() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            registry.close();
        } finally {
            kafka.close();
        }
    }
}
