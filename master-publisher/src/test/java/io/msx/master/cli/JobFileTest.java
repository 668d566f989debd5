package io.msx.master.cli;

import io.msx.avro.JobDefinition;
import io.msx.avro.StepAction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JobFileTest {

    @TempDir
    Path dir;

    private Path write(String text) throws Exception {
        Path file = dir.resolve("job.yaml");
        Files.writeString(file, text);
        return file;
    }

    @Test
    void shouldReadAYamlJobWithDefaultsFilledIn() throws Exception {
        JobDefinition job = JobFile.read(write("""
                id: backup
                targets: [db-1, db-2]
                steps:
                  - name: dump
                    command: [sh, -c, "echo dump"]
                    retryAttempts: 2
                    onFailure: go-to-step
                    onFailureGoToStep: 2
                  - command: [true]
                schedules:
                  - name: nightly
                    cron: "0 2 * * *"
                    timeZone: Europe/Berlin
                  - name: once
                    runOnceAt: 2026-12-01T10:00:00Z
                """));
        assertThat(job.getJobId()).isEqualTo("backup");
        assertThat(job.getName()).isEqualTo("backup");
        assertThat(job.getTargets()).containsExactly("db-1", "db-2");
        assertThat(job.getSteps()).hasSize(2);
        assertThat(job.getSteps().get(0).getStepId()).isEqualTo(1);
        assertThat(job.getSteps().get(0).getOnFailure()).isEqualTo(StepAction.GO_TO_STEP);
        assertThat(job.getSteps().get(1).getName()).isEqualTo("step 2");
        assertThat(job.getSteps().get(1).getOnSuccess()).isEqualTo(StepAction.NEXT_STEP);
        assertThat(job.getSchedules().get(1).getRunOnceAt()).isEqualTo(Instant.parse("2026-12-01T10:00:00Z"));
    }

    @Test
    void shouldReadJsonToo() throws Exception {
        JobDefinition job = JobFile.read(write("{\"id\":\"j\",\"targets\":[\"T1\"],"
                + "\"steps\":[{\"command\":[\"true\"]}]}"));
        assertThat(job.getSteps()).singleElement().satisfies(s -> assertThat(s.getCommand()).containsExactly("true"));
    }

    @Test
    void shouldNameTyposAndMissingKeys() throws Exception {
        assertThatThrownBy(() -> JobFile.read(write("id: j\nstepz: []\n")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("stepz");
        assertThatThrownBy(() -> JobFile.read(write("id: j\n")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'steps' is required");
        assertThatThrownBy(() -> JobFile.read(write("id: j\nsteps:\n  - command: [x]\n    onFailure: explode\n")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown step action 'explode'");
    }

    @Test
    void shouldApplyTheJobRulesSoABadFileFailsBeforeAnythingIsSent() throws Exception {
        assertThatThrownBy(() -> JobFile.read(write("id: j\ntargets: [T1]\nsteps:\n  - command: [x]\n"
                + "    retryAttempts: 2147483647\n")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("job file ")
                .hasMessageContaining("retryAttempts is 2147483647, allowed 0 to 9999");
        assertThatThrownBy(() -> JobFile.read(write("id: j\ntargets: [C_1]\nsteps:\n  - command: [x]\n")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("would collide with 'C.1'");
        assertThatThrownBy(() -> JobFile.read(write("id: j\ntargets: [T1]\nmaxStepExecutions: 0\nsteps:\n"
                + "  - command: [x]\n")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxStepExecutions is 0");
        assertThat(JobFile.read(write("id: j\ntargets: [T1]\nmaxStepExecutions: 50\nsteps:\n  - command: [x]\n"))
                .getMaxStepExecutions()).isEqualTo(50);
    }

    @Test
    void shouldExitTwoNamingTheRuleForABadFile() throws Exception {
        Path file = write("id: j\ntargets: [T1]\nsteps:\n  - command: [x]\n    timeoutSeconds: -1\n");
        java.io.StringWriter err = new java.io.StringWriter();

        int code = new picocli.CommandLine(new MsxCli()).setErr(new java.io.PrintWriter(err, true))
                .setExecutionExceptionHandler(MsxCli.EXCEPTION_HANDLER).execute("job", "create", "-f", file.toString());

        assertThat(code).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("timeoutSeconds is -1, allowed 1 to 604800");
    }
}
