package io.msx.agent.internal.job;

import io.msx.agent.TargetAgentException;
import io.msx.avro.JobDefinition;
import io.msx.avro.JobStep;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

/** Environment, working directory and allow-list decisions, without starting a step process. */
class JobIsolationTest {

    private static final Map<String, String> MARKERS = Map.of("MSX_JOB_ID", "j", "MSX_RUN_ID", "r",
            "MSX_STEP_ID", "1", "MSX_ATTEMPT_SEQ", "1");
    private static final Map<String, String> AGENT_ENV = Map.of(
            "MSX_SASL_JAAS_CONFIG", "org.apache.kafka.common.security.scram.ScramLoginModule required "
                    + "username=\"T1\" password=\"secret\";",
            "MSX_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO", "registry:secret",
            "HTTPS_PROXY", "http://proxy:3128",
            "JAVA_HOME", "/opt/java",
            "PATH", "/opt/agent/bin:/usr/bin");

    @TempDir
    Path dir;

    private JobIsolation isolation(List<String> allowed) {
        return isolation(allowed, List.of());
    }

    private JobIsolation isolation(List<String> allowed, List<String> passthrough) {
        return JobIsolation.prepare(new JobIsolation.Settings(dir.resolve("work"), dir.resolve("data"),
                JobIsolation.DEFAULT_PATH, null, null, passthrough, null, allowed), AGENT_ENV);
    }

    private static JobStep.Builder step(String... command) {
        return JobStep.newBuilder().setStepId(1).setName("s").setCommand(List.of(command));
    }

    private static JobDefinition job(JobStep step) {
        return JobDefinition.newBuilder().setJobId("j").setName("j").setSteps(List.of(step)).build();
    }

    /** An executable script at {@code path}. */
    private static Path script(Path path) throws IOException {
        Files.createDirectories(path.getParent());
        Files.writeString(path, "#!/bin/sh\nexit 0\n");
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rwxr-xr-x"));
        return path;
    }

    private static JobIsolation.Start started(JobIsolation.Launch launch) {
        assertThat(launch).isInstanceOf(JobIsolation.Start.class);
        return (JobIsolation.Start) launch;
    }

    private static JobIsolation.Refused refused(JobIsolation.Launch launch) {
        assertThat(launch).isInstanceOf(JobIsolation.Refused.class);
        return (JobIsolation.Refused) launch;
    }

    @Test
    void shouldBuildTheEnvironmentFromTheMinimalSetThePassthroughTheStepAndTheMarkersOnly() {
        JobIsolation isolation = JobIsolation.prepare(new JobIsolation.Settings(dir.resolve("work"),
                dir.resolve("data"), "/usr/bin:/bin", "C.UTF-8", "Europe/Paris", List.of("HTTPS_PROXY", "ABSENT"),
                null, List.of()), AGENT_ENV);

        Map<String, String> env = isolation.environment(step("true").setEnv(Map.of("FOO", "bar")).build(), MARKERS);

        assertThat(env).containsExactlyInAnyOrderEntriesOf(Map.of(
                "PATH", "/usr/bin:/bin", "HOME", dir.resolve("work").toString(), "LANG", "C.UTF-8",
                "TZ", "Europe/Paris", "HTTPS_PROXY", "http://proxy:3128", "FOO", "bar",
                "MSX_JOB_ID", "j", "MSX_RUN_ID", "r", "MSX_STEP_ID", "1", "MSX_ATTEMPT_SEQ", "1"));
    }

    @Test
    void shouldLeaveLangAndTzUnsetAndTheAgentsPathOutWhenNotConfigured() {
        Map<String, String> env = isolation(List.of()).environment(step("true").build(), MARKERS);

        assertThat(env).containsOnlyKeys("PATH", "HOME", "MSX_JOB_ID", "MSX_RUN_ID", "MSX_STEP_ID",
                "MSX_ATTEMPT_SEQ");
        assertThat(env.get("PATH")).isEqualTo(JobIsolation.DEFAULT_PATH);
        assertThat(env.values()).noneMatch(v -> v.contains("secret"));
    }

    @Test
    void shouldKeepTheRunsMarkersWhenAStepSetsThemAndRefuseSuchAJobWhenStored() {
        JobStep forging = step("true").setEnv(Map.of("MSX_RUN_ID", "someone-else", "MSX_ATTEMPT_SEQ", "9",
                "PATH", "/opt/tools")).build();
        JobIsolation isolation = isolation(List.of());

        Map<String, String> env = isolation.environment(forging, MARKERS);

        assertThat(env).containsEntry("MSX_RUN_ID", "r").containsEntry("MSX_ATTEMPT_SEQ", "1")
                .as("the step's own PATH wins over the default").containsEntry("PATH", "/opt/tools");
        assertThatThrownBy(() -> isolation.check(job(forging))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("job 'j' step 1: env sets MSX_").hasMessageContaining("reserved");
    }

    @Test
    void shouldNeverHandLoaderVariablesToTheRootRunWrappersAndRefuseJobsSettingThem() {
        JobStep preload = step("true").setEnv(Map.of("LD_PRELOAD", "/tmp/evil.so", "GCONV_PATH", "/tmp",
                "GREETING", "hi")).build();
        JobIsolation isolation = isolation(List.of());

        Map<String, String> env = isolation.environment(preload, MARKERS);

        assertThat(env).doesNotContainKeys("LD_PRELOAD", "GCONV_PATH").containsEntry("GREETING", "hi");
        assertThatThrownBy(() -> isolation.check(job(preload))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("dynamic loader");
    }

    @Test
    void shouldRefusePassingThroughTheAgentsOwnSettings() {
        assertThatThrownBy(() -> isolation(List.of(), List.of("MSX_SASL_JAAS_CONFIG")))
                .isInstanceOf(TargetAgentException.class).hasMessageContaining("MSX_SASL_JAAS_CONFIG");
    }

    @Test
    void shouldRefuseAnAbsoluteProgramNotInTheAllowListWithoutStartingIt() {
        JobIsolation isolation = isolation(List.of("/usr/bin/env"));

        JobIsolation.Refused refused = refused(isolation.launch(step("/usr/bin/touch", "x").build(), MARKERS));

        assertThat(refused.reason()).isEqualTo("/usr/bin/touch is not in jobs.allowed.commands: step not started");
        assertThat(refused.retriable()).isFalse();
    }

    @Test
    void shouldFindARelativeProgramOnTheStepsPathAndStartItByThatPath() throws IOException {
        Path tool = script(dir.resolve("tools/backup"));
        JobIsolation isolation = isolation(List.of(dir.resolve("tools").toRealPath() + "/*"));
        JobStep step = step("backup", "--full").setEnv(Map.of("PATH", "/nowhere:" + dir.resolve("tools"))).build();

        JobIsolation.Start start = started(isolation.launch(step, MARKERS));

        assertThat(start.command()).containsExactly(tool.toString(), "--full");
        assertThat(refused(isolation(List.of("/usr/bin/*")).launch(step, MARKERS)).reason())
                .isEqualTo(tool.toRealPath() + " is not in jobs.allowed.commands (the step's program backup "
                        + "resolves to it): step not started");
    }

    @Test
    void shouldResolveABareNameThroughTheDefaultPath() {
        // touch is in /usr/bin (or /bin) on every machine this runs on; its real path must match, not its name
        JobIsolation.Refused refused = refused(isolation(List.of("/usr/bin/env")).launch(step("touch", "x").build(),
                MARKERS));

        assertThat(refused.reason()).matches(".*/touch is not in jobs.allowed.commands \\(the step's program touch "
                + "resolves to it\\): step not started");
    }

    @Test
    void shouldRefuseASymlinkInAnAllowedDirectoryThatPointsToAForbiddenBinary() throws IOException {
        Path allowedDir = Files.createDirectories(dir.resolve("allowed"));
        Path link = Files.createSymbolicLink(allowedDir.resolve("harmless"), Path.of("/usr/bin/touch"));
        JobIsolation isolation = isolation(List.of(allowedDir.toRealPath() + "/*"));

        JobIsolation.Refused refused = refused(isolation.launch(step(link.toString(), "x").build(), MARKERS));

        assertThat(refused.reason()).startsWith(Path.of("/usr/bin/touch").toRealPath()
                + " is not in jobs.allowed.commands (the step's program " + link + " resolves to it)");
    }

    @Test
    void shouldAllowASymlinkWhoseRealPathIsAllowedAndStartTheRealPathItChecked() throws IOException {
        Path real = Path.of("/usr/bin/touch").toRealPath();
        Path link = Files.createSymbolicLink(dir.resolve("touch-link"), real);

        JobIsolation.Start start = started(isolation(List.of(real.toString())).launch(step(link.toString(), "x")
                .build(), MARKERS));

        // started by the real path that was checked: a link switched between the check and the exec runs nothing
        // else (multi-call binaries that read argv[0] see their real name)
        assertThat(start.command()).containsExactly(real.toString(), "x");
    }

    @Test
    void shouldMatchGlobPatternsOnTheRealPath() throws IOException {
        Path tool = script(dir.resolve("opt/jobs/nightly/report.sh"));
        String root = dir.toRealPath().toString();
        JobStep step = step(tool.toString()).build();

        assertThat(isolation(List.of(root + "/opt/jobs/*")).launch(step, MARKERS))
                .as("* stays within one directory").isInstanceOf(JobIsolation.Refused.class);
        assertThat(isolation(List.of(root + "/opt/jobs/**")).launch(step, MARKERS))
                .isInstanceOf(JobIsolation.Start.class);
        assertThat(isolation(List.of(root + "/opt/jobs/*/*.sh")).launch(step, MARKERS))
                .isInstanceOf(JobIsolation.Start.class);
        assertThat(isolation(List.of(root + "/opt/jobs/*/*.py", "/usr/bin/env")).launch(step, MARKERS))
                .isInstanceOf(JobIsolation.Refused.class);
    }

    @Test
    void shouldStartTheStepAsWrittenWhenNoAllowListIsSet() {
        JobIsolation.Start start = started(isolation(List.of()).launch(step("touch", "x").build(), MARKERS));

        assertThat(start.command()).containsExactly("touch", "x");
        assertThat(start.directory()).isEqualTo(dir.resolve("work"));
    }

    @Test
    void shouldSayAProgramCannotBeFoundAndLetTheStepBeRetried() {
        JobIsolation.Refused refused = refused(isolation(List.of("/usr/bin/*"))
                .launch(step("no-such-program-here").build(), MARKERS));

        assertThat(refused.reason()).startsWith("cannot start [no-such-program-here]: no-such-program-here is not "
                + "an executable file");
        assertThat(refused.retriable()).isTrue();
    }

    @Test
    void shouldRefuseToStartWhenTheWorkDirectoryIsTheDataDirectoryOrInsideIt() {
        for (Path work : List.of(dir.resolve("data"), dir.resolve("data/work"), dir.resolve("data/x/../work"))) {
            assertThatThrownBy(() -> JobIsolation.prepare(new JobIsolation.Settings(work, dir.resolve("data"),
                    JobIsolation.DEFAULT_PATH, null, null, List.of(), null, List.of()), Map.of()))
                    .as(work.toString()).isInstanceOf(TargetAgentException.class)
                    .hasMessageContaining(work.toAbsolutePath().normalize().toString())
                    .hasMessageContaining(dir.resolve("data").toString());
        }
        assertThat(dir.resolve("data")).as("nothing created").doesNotExist();
    }

    @Test
    void shouldRefuseToStartWhenTheWorkDirectoryHoldsTheDataDirectory() {
        assertThatThrownBy(() -> JobIsolation.prepare(new JobIsolation.Settings(dir, dir.resolve("agent/data"),
                JobIsolation.DEFAULT_PATH, null, null, List.of(), null, List.of()), Map.of()))
                .isInstanceOf(TargetAgentException.class).hasMessageContaining("overlaps");
    }

    @Test
    void shouldRefuseToStartWhenTheWorkDirectoryIsASymlinkIntoTheDataDirectory() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.createDirectories(data.resolve("work"));
        Path work = Files.createSymbolicLink(dir.resolve("jobs"), data.resolve("work"));

        assertThatThrownBy(() -> JobIsolation.prepare(new JobIsolation.Settings(work, data, JobIsolation.DEFAULT_PATH,
                null, null, List.of(), null, List.of()), Map.of()))
                .isInstanceOf(TargetAgentException.class).hasMessageContaining(work.toString())
                .hasMessageContaining(data.toString());
    }

    @Test
    void shouldCreateTheWorkDirectoryOwnerOnlyBesideTheDataDirectoryByDefault() throws IOException {
        Path work = JobIsolation.defaultWorkDir(dir.resolve("data"));
        assertThat(work).isEqualTo(dir.resolve("data-jobs"));

        JobIsolation.prepare(new JobIsolation.Settings(work, dir.resolve("data"), JobIsolation.DEFAULT_PATH, null,
                null, List.of(), null, List.of()), Map.of());

        assertThat(Files.getPosixFilePermissions(work)).isEqualTo(PosixFilePermissions.fromString("rwx------"));
    }

    @Test
    void shouldRefuseAStepWhoseWorkingDirectoryIsInTheDataDirectory() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data/spool"));
        Path link = Files.createSymbolicLink(dir.resolve("innocent"), data);
        JobIsolation isolation = isolation(List.of());

        for (String workingDirectory : List.of(dir.resolve("data").toString(), data.toString(), "../data/spool",
                link.toString(), link + "/new/dir")) {
            JobStep step = step("true").setWorkingDirectory(workingDirectory).build();
            JobIsolation.Refused refused = refused(isolation.launch(step, MARKERS));
            assertThat(refused.reason()).as(workingDirectory).contains("is inside the agent's data directory "
                    + dir.resolve("data")).endsWith("step not started");
            assertThat(refused.retriable()).isFalse();
            assertThatThrownBy(() -> isolation.check(job(step))).as(workingDirectory)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("data directory");
        }
        assertThat(started(isolation.launch(step("true").setWorkingDirectory("sub").build(), MARKERS)).directory())
                .as("relative to the work directory").isEqualTo(dir.resolve("work/sub"));
    }

    @Test
    void shouldRefuseAtStoreTimeAProgramFoundNowThatIsNotAllowedButNotOneNotThereYet() {
        JobIsolation isolation = isolation(List.of("/usr/bin/env"));

        assertThatThrownBy(() -> isolation.check(job(step("/usr/bin/touch", "x").build())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("job 'j' step 1: /usr/bin/touch is not in jobs.allowed.commands");
        isolation.check(job(step("/opt/deployed-later/tool").build()));
        isolation.check(job(step("/usr/bin/env").build()));
    }

    @Test
    void shouldRefuseAnUnknownRunAsUser() {
        assumeThat(JobIsolation.SETPRIV).as("util-linux setpriv installed").isNotNull();

        assertThatThrownBy(() -> JobIsolation.prepare(new JobIsolation.Settings(dir.resolve("work"),
                dir.resolve("data"), JobIsolation.DEFAULT_PATH, null, null, List.of(), "msx-no-such-user",
                List.of()), Map.of()))
                .isInstanceOf(TargetAgentException.class).hasMessageContaining("no such user 'msx-no-such-user'");
    }
}
