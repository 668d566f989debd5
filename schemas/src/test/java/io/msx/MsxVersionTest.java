package io.msx;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class MsxVersionTest {

    @Test
    void shouldBeDevWhenRunFromClassesWithoutAManifest() {
        // unit tests run from target/classes: no jar, so no Implementation-Version
        assertThat(MsxVersion.current()).isEqualTo("dev");
    }
}
