package io.msx.local;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;

/**
 * JUnit 5 extension giving each test method that asks for it a {@link KafkaProcessStack}: a child-JVM broker of its
 * own (fresh data directory, deleted afterwards) and the run's shared registry from {@link LocalStackExtension}.
 * Declare it with {@code @ExtendWith(KafkaProcessExtension.class)} and take a {@code KafkaProcessStack} (or a
 * {@code KafkaProcess}) parameter in a test or {@code @BeforeEach} method; both resolve to the same broker within one
 * test, which is killed when the test ends.
 */
public final class KafkaProcessExtension implements ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE =
            ExtensionContext.Namespace.create(KafkaProcessExtension.class);

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        Class<?> type = parameterContext.getParameter().getType();
        return type == KafkaProcessStack.class || type == KafkaProcess.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        // The method's store closes the stack when the test (including its @AfterEach methods) is done.
        KafkaProcessStack stack = extensionContext.getStore(NAMESPACE).getOrComputeIfAbsent(KafkaProcessStack.class,
                key -> start(extensionContext), KafkaProcessStack.class);
        return parameterContext.getParameter().getType() == KafkaProcess.class ? stack.kafka() : stack;
    }

    private static KafkaProcessStack start(ExtensionContext context) {
        String registryUrl = LocalStackExtension.stack(context).schemaRegistryUrl();
        try {
            return new KafkaProcessStack(KafkaProcess.start(Files.createTempDirectory("msx-kafka-process-")),
                    registryUrl);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a data directory for the Kafka child process", e);
        }
    }
}
