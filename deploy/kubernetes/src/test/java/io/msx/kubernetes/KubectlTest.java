package io.msx.kubernetes;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Without kubectl the manifest tests fail, saying so: CI always has it, so a skip would hide a broken setup. */
class KubectlTest {

    @Test
    void shouldFailNamingKubectlWhenItIsMissing() {
        assertThatThrownBy(() -> Rendered.kustomize("/nonexistent/kubectl", Rendered.root().resolve("base")))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("need kubectl");
    }

    @Test
    void shouldFailWithKubectlsMessageOnABrokenKustomization() {
        assertThatThrownBy(() -> Rendered.kustomize(System.getProperty("msx.kubectl", "kubectl"),
                Rendered.root().resolve("src")))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("kustomize");
    }
}
