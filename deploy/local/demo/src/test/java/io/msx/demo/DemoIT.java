package io.msx.demo;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;

/** The demo as README shows it: the local stack, a master, two targets, and the job run on both. */
class DemoIT {

    @Test
    void shouldRunTheJobOnBothTargetsAndShowItsHistory() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = new CommandLine(new DemoCommand()).setExecutionExceptionHandler(DemoCommand.EXCEPTION_HANDLER)
                .setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true)).execute();

        assertThat(code).as("exit code; stderr: %s", err).isZero();
        String history = out.toString().substring(out.toString().indexOf("$ msx job history hello"));
        assertThat(history.lines().filter(l -> l.matches("T[12] +hello +SUCCEEDED .*"))).hasSize(2);
        assertThat(history.lines().filter(l -> l.contains("2.1 flaky  RETRY"))).hasSize(2);
        assertThat(history.lines().filter(l -> l.contains("2.2 flaky  SUCCEEDED"))).hasSize(2);
    }
}
