package io.msx.local;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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

    /** The broker. */
    public EmbeddedKafka kafka() {
        return kafka;
    }

    /** Bootstrap servers and the super-user's credentials (SASL SCRAM): for fixtures and operators' tools. */
    public Map<String, Object> adminClientProperties() {
        return kafka.adminClientProperties();
    }

    /** As {@link #adminClientProperties()}, through the fault-injection proxy. */
    public Map<String, Object> proxiedAdminClientProperties() {
        Map<String, Object> p = new HashMap<>(kafka.adminClientProperties());
        p.put("bootstrap.servers", proxiedBootstrapServers());
        return p;
    }

    /**
     * The super-user's settings as {@code MSX_*}-style configuration keys (security.protocol, sasl.mechanism,
     * sasl.jaas.config) to merge into a master's or an agent's configuration; empty on a plaintext broker.
     */
    public Map<String, String> adminSecuritySettings() {
        Map<String, String> p = new HashMap<>();
        if (kafka.secured()) {
            kafka.security().adminSettings().forEach((k, v) -> p.put(k, v.toString()));
        }
        return p;
    }

    /**
     * Creates (or resets) a SCRAM user and returns its password; it holds no ACL yet.
     *
     * @throws LocalStackException when the broker refuses
     */
    public String createUser(String user) {
        String password = KafkaSecurity.password();
        try (Admin admin = Admin.create(adminClientProperties())) {
            admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(user,
                    new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), password))).all()
                    .get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LocalStackException("interrupted while creating user " + user, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new LocalStackException("cannot create user " + user + ": " + e.getMessage(), e);
        }
        return password;
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
