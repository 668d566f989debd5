package io.msx.local;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension giving integration tests one {@link LocalStack} per test JVM: started by the first test class
 * that uses it, shared by all others, closed when the whole run ends. Declare it with
 * {@code @ExtendWith(LocalStackExtension.class)} and take a {@code LocalStack} parameter.
 */
public final class LocalStackExtension implements BeforeAllCallback, ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(LocalStackExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        stack(context);
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == LocalStack.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return stack(extensionContext);
    }

    /** The run's shared stack, started on first use; other extensions of this module reuse its registry. */
    static LocalStack stack(ExtensionContext context) {
        // The root store outlives every test class and closes its AutoCloseable values when the run ends.
        return context.getRoot().getStore(NAMESPACE)
                .getOrComputeIfAbsent(LocalStack.class, key -> LocalStack.start(), LocalStack.class);
    }
}
