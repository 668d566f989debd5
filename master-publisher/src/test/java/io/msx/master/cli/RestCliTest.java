package io.msx.master.cli;

import io.msx.avro.CommandResult;
import io.msx.avro.CommandStatus;
import io.msx.avro.PostedInstruction;
import io.msx.avro.command.ForcePoll;
import io.msx.http.BearerTokens;
import io.msx.http.HttpSecurity;
import io.msx.http.Principal;
import io.msx.http.Role;
import io.msx.http.TlsKeyStore;
import io.msx.local.LocalCa;
import io.msx.master.internal.FakeRestApi;
import io.msx.master.internal.Json;
import io.msx.master.internal.RestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** The CLI against a real REST server (with a fake API behind it): tokens, TLS, commands over REST, token create. */
class RestCliTest {

    private static final String READ_TOKEN = "reader-secret";
    private static final String OPERATOR_TOKEN = "operator-secret";

    @TempDir
    Path dir;

    private final FakeRestApi api = new FakeRestApi();
    private RestServer server;

    @AfterEach
    void close() {
        if (server != null) {
            server.close();
        }
    }

    private record Run(int exitCode, String out, String err) {
    }

    private static Run msx(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = new CommandLine(new MsxCli()).setExecutionExceptionHandler(MsxCli.EXCEPTION_HANDLER)
                .setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true)).execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /** A master API over HTTPS (LocalCa) with a read and an operator token; returns the CA file. */
    private Path startSecured() throws Exception {
        LocalCa.ServerFiles tls = LocalCa.writeLocalhost(dir.resolve("tls"));
        Path tokens = Files.writeString(dir.resolve("tokens"), "grafana read " + BearerTokens.sha256Hex(READ_TOKEN)
                + "\nops operator " + BearerTokens.sha256Hex(OPERATOR_TOKEN) + "\n");
        server = new RestServer("127.0.0.1", 0, "m1", Json.mapper(), api, HttpSecurity.none()
                .withTokens(BearerTokens.load(tokens))
                .withTls(new TlsKeyStore(tls.keystore(), tls.password(), tls.type())), Clock.systemUTC());
        server.start();
        return tls.caPem();
    }

    private String url() {
        return "https://localhost:" + server.port();
    }

    private Path tokenFile(String token) throws Exception {
        return Files.writeString(dir.resolve("token-" + token), token + "\n");
    }

    @Test
    void shouldReadViewsOverHttpsWithATokenFileAndTheCa() throws Exception {
        Path ca = startSecured();

        Run run = msx("job", "list", "--master-url", url(), "--token-file", tokenFile(READ_TOKEN).toString(),
                "--ca-file", ca.toString());

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("backup").contains("Nightly backup");
    }

    @Test
    void shouldNameTheProblemWhenTheTokenOrTheCaIsMissing() throws Exception {
        Path ca = startSecured();

        Run noToken = msx("job", "list", "--master-url", url(), "--ca-file", ca.toString());
        assertThat(noToken.exitCode()).isEqualTo(ExitCodes.FAILED);
        assertThat(noToken.err()).startsWith("msx: the master refused the request (HTTP 401, not authenticated): "
                + "no token was sent; pass --token-file FILE or set MSX_TOKEN");

        Run noCa = msx("job", "list", "--master-url", url(), "--token-file", tokenFile(READ_TOKEN).toString());
        assertThat(noCa.exitCode()).isEqualTo(ExitCodes.FAILED);
        assertThat(noCa.err()).contains("cannot establish TLS with the master at " + url())
                .contains("pass --ca-file");

        Run plainHttp = msx("job", "list", "--master-url", "http://localhost:" + server.port(), "--token-file",
                tokenFile(READ_TOKEN).toString());
        assertThat(plainHttp.exitCode()).isEqualTo(ExitCodes.FAILED);
        assertThat(plainHttp.err()).contains("needs an https:// URL");

        Files.writeString(dir.resolve("empty"), "\n");
        Run emptyToken = msx("job", "list", "--master-url", url(), "--token-file", dir.resolve("empty").toString());
        assertThat(emptyToken.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(emptyToken.err()).contains("token file " + dir.resolve("empty") + " is empty");
    }

    @Test
    void shouldSubmitCommandsOverRestWithAnOperatorTokenOnly() throws Exception {
        Path ca = startSecured();
        UUID instruction = UUID.randomUUID();
        api.result = Optional.of(CommandResult.newBuilder().setCommandId(UUID.randomUUID()).setProcessedAt(
                Instant.now()).setStatus(CommandStatus.ACCEPTED).setInstructions(List.of(PostedInstruction
                .newBuilder().setTarget("T1").setInstructionId(instruction).setOperation("POLL").build())).build());
        List<String> common = List.of("--master-url", url(), "--ca-file", ca.toString(), "--submit-via", "rest",
                "--timeout", "10s");

        Run reader = msx(with(common, "target", "poll", "T1", "--token-file", tokenFile(READ_TOKEN).toString()));
        assertThat(reader.exitCode()).isEqualTo(ExitCodes.FAILED);
        assertThat(reader.err()).contains("HTTP 403, not allowed")
                .contains("token 'grafana' has the read role; POST /commands needs operator");
        assertThat(api.submitted).isEmpty();

        Run operator = msx(with(common, "target", "poll", "T1", "--token-file", tokenFile(OPERATOR_TOKEN).toString()));
        assertThat(operator.exitCode()).as(operator.err()).isZero();
        assertThat(operator.out()).contains("T1  poll posted  instruction " + instruction);
        ForcePoll sent = (ForcePoll) api.submitted.get(0);
        assertThat(sent.getTargets()).containsExactly("T1");
        assertThat(sent.getHeader().getIssuedBy()).isEqualTo("rest:ops");

        api.result = Optional.of(CommandResult.newBuilder().setCommandId(UUID.randomUUID())
                .setProcessedAt(Instant.now()).setStatus(CommandStatus.REJECTED).setReason("unknown target T9")
                .build());
        Run rejected = msx(with(common, "target", "poll", "T9", "--token-file",
                tokenFile(OPERATOR_TOKEN).toString()));
        assertThat(rejected.exitCode()).isEqualTo(ExitCodes.FAILED);
        assertThat(rejected.err()).contains("msx: rejected: unknown target T9");
    }

    private static String[] with(List<String> common, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(common);
        return all.toArray(String[]::new);
    }

    @Test
    void shouldCreateATokenPrintingItAndItsLine() {
        Run run = msx("token", "create", "--name", "ci-bot", "--role", "read");

        assertThat(run.exitCode()).as(run.err()).isZero();
        String token = run.out().strip();
        assertThat(token).matches("[A-Za-z0-9_-]{43}");
        assertThat(run.err().strip()).isEqualTo("ci-bot read " + BearerTokens.sha256Hex(token));
        assertThat(BearerTokens.parse(List.of(run.err().strip()), "stderr").authenticate(token))
                .contains(new Principal("ci-bot", Role.READ));
    }

    @Test
    void shouldAppendTheLineToATokensFileRefusingADuplicateName() throws Exception {
        Path file = Files.writeString(dir.resolve("tokens"), "# tokens\ngrafana read "
                + BearerTokens.sha256Hex("x"));

        Run created = msx("token", "create", "--name", "ops", "--role", "operator", "--tokens-file", file.toString());
        assertThat(created.exitCode()).as(created.err()).isZero();
        assertThat(created.err()).contains("added token 'ops' (operator) to " + file);
        assertThat(BearerTokens.load(file).authenticate(created.out().strip()))
                .contains(new Principal("ops", Role.OPERATOR));

        Run again = msx("token", "create", "--name", "ops", "--role", "read", "--tokens-file", file.toString());
        assertThat(again.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(again.err()).contains("already has a token named 'ops'");
        assertThat(BearerTokens.load(file).size()).isEqualTo(2);

        Run badRole = msx("token", "create", "--name", "x", "--role", "admin");
        assertThat(badRole.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(badRole.err()).contains("unknown role 'admin' (use read or operator)");
    }
}
