package io.msx.local;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EmbeddedSchemaRegistryTest {

    @Test
    void shouldNameTheMissingRunnerAndTheFixWhenApicurioHomeIsWrong() {
        String previous = System.setProperty("msx.apicurio.home", "/nonexistent/apicurio");
        try {
            assertThatThrownBy(EmbeddedSchemaRegistry::runnerJar)
                    .isInstanceOf(LocalStackException.class)
                    .hasMessageContaining("/nonexistent/apicurio")
                    .hasMessageContaining("MSX_APICURIO_HOME");
        } finally {
            if (previous == null) {
                System.clearProperty("msx.apicurio.home");
            } else {
                System.setProperty("msx.apicurio.home", previous);
            }
        }
    }

    @Test
    void shouldFindTheApicurioBuildUnpackedByThisModule() {
        assertThat(EmbeddedSchemaRegistry.runnerJar()).isRegularFile();
    }
}
