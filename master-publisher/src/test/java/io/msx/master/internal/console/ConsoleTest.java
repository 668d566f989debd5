package io.msx.master.internal.console;

import io.msx.avro.command.ForcePoll;
import io.msx.avro.command.SetPollingInterval;
import io.msx.http.BearerTokens;
import io.msx.http.HttpSecurity;
import io.msx.master.TargetStatus;
import io.msx.master.TargetView;
import io.msx.master.internal.FakeRestApi;
import io.msx.master.internal.Json;
import io.msx.master.internal.RestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The console over HTTP against a fake API: login, roles, anti-forgery, escaping, error fragments. No browser. */
class ConsoleTest {

    private static final String READ_TOKEN = "reader-secret";
    private static final String OPERATOR_TOKEN = "operator-secret";
    private static final Instant NOW = Instant.parse("2030-01-31T02:00:00Z");

    @TempDir
    Path dir;

    private final FakeRestApi api = new FakeRestApi();
    private final HttpClient http = HttpClient.newHttpClient();
    private RestServer server;

    static TargetView target(String name, String location, TargetStatus status) {
        return new TargetView(name, status, location, List.of("db"), "0.1.0", "Europe/Berlin", 60, NOW,
                NOW.minusSeconds(5), NOW.minusSeconds(5), "FORCED", null, 3, false, 1250L, 0L, 7, "e1", 0, null, 0,
                0, 0, "SHA256:accepted", "SHA256:presented", 4000L);
    }

    @AfterEach
    void close() {
        if (server != null) {
            server.close();
        }
    }

    private void start(boolean tokens) throws Exception {
        HttpSecurity security = HttpSecurity.none();
        if (tokens) {
            Path file = Files.writeString(dir.resolve("tokens"), "grafana read " + BearerTokens.sha256Hex(READ_TOKEN)
                    + "\nops operator " + BearerTokens.sha256Hex(OPERATOR_TOKEN) + "\n");
            security = security.withTokens(BearerTokens.load(file));
        }
        api.targets = List.of(target("T1", "rack-1 <script>alert(1)</script>", TargetStatus.NORMAL),
                target("T2", "rack-2", TargetStatus.PENDING));
        server = new RestServer("127.0.0.1", 0, "m1", Json.mapper(), api, security, Clock.fixed(NOW, ZoneOffset.UTC));
        server.start();
    }

    private HttpResponse<String> send(String method, String path, String cookies, String csrf, String form)
            throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .method(method, form == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(form))
                .header("Content-Type", "application/x-www-form-urlencoded");
        if (cookies != null) {
            request.header("Cookie", cookies);
        }
        if (csrf != null) {
            request.header(ConsoleSession.CSRF_HEADER, csrf);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Logs in through the form; returns the Cookie header the browser would send. */
    private String login(String token) throws Exception {
        HttpResponse<String> response = send("POST", "/console/login", null, null, "token=" + token);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(303);
        List<String> set = response.headers().allValues("Set-Cookie");
        assertThat(set).allSatisfy(c -> assertThat(c).contains("HttpOnly").contains("SameSite=Strict")
                .contains("Path=/console"));
        return String.join("; ", set.stream().map(c -> c.substring(0, c.indexOf(';'))).toList());
    }

    private static String csrfOf(String page) {
        Matcher m = Pattern.compile("X-CSRF-Token&#34;: &#34;([0-9a-f]+)|X-CSRF-Token\": \"([0-9a-f]+)").matcher(page);
        assertThat(m.find()).as("the page carries the anti-forgery value").isTrue();
        return m.group(1) != null ? m.group(1) : m.group(2);
    }

    @Test
    void shouldSendAVisitorWithoutALoginToTheLoginFormAndRefuseAWrongToken() throws Exception {
        start(true);

        HttpResponse<String> page = send("GET", "/console/targets", null, null, null);
        HttpResponse<String> rows = send("GET", "/console/targets/rows", null, null, null);
        HttpResponse<String> wrong = send("POST", "/console/login", null, null, "token=nope");

        assertThat(page.statusCode()).isEqualTo(302);
        assertThat(page.headers().firstValue("Location")).contains("/console/login");
        assertThat(rows.statusCode()).isEqualTo(401);
        assertThat(rows.headers().firstValue("HX-Redirect")).contains("/console/login");
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(wrong.body()).contains("not known here").doesNotContain("nope");
        assertThat(send("GET", "/", null, null, null).headers().firstValue("Location")).contains("/console/targets");
    }

    @Test
    void shouldShowAReadLoginNoActionButtonsAndRefuseItsForgedAction() throws Exception {
        start(true);
        String cookies = login(READ_TOKEN);

        HttpResponse<String> page = send("GET", "/console/targets", cookies, null, null);
        HttpResponse<String> forged = send("POST", "/console/targets/actions", cookies, csrfOf(page.body()),
                "action=force-poll&target=T1");

        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("grafana (read, read only)").contains("T1").contains("T2")
                .doesNotContain("Force Poll").doesNotContain("name=\"target\"").doesNotContain(">Accept<");
        assertThat(forged.statusCode()).isEqualTo(403);
        assertThat(api.submitted).isEmpty();
    }

    @Test
    void shouldActForAnOperatorOnlyWithTheAntiForgeryValueAsTheTokensName() throws Exception {
        start(true);
        String cookies = login(OPERATOR_TOKEN);
        HttpResponse<String> page = send("GET", "/console/targets", cookies, null, null);
        String csrf = csrfOf(page.body());

        HttpResponse<String> noCsrf = send("POST", "/console/targets/actions", cookies, null,
                "action=force-poll&target=T1");
        HttpResponse<String> otherCsrf = send("POST", "/console/targets/actions", cookies,
                ConsoleSession.csrfToken(READ_TOKEN, "x"), "action=force-poll&target=T1");
        HttpResponse<String> poll = send("POST", "/console/targets/actions", cookies, csrf,
                "action=force-poll&target=T1");
        HttpResponse<String> interval = send("POST", "/console/targets/actions", cookies, csrf,
                "action=set-interval&target=T1&target=T2&intervalSeconds=30");
        HttpResponse<String> none = send("POST", "/console/targets/actions", cookies, csrf, "action=resync");

        assertThat(page.body()).contains("Force Poll").contains(">Accept<").contains("SHA256:presented");
        assertThat(noCsrf.statusCode()).isEqualTo(403);
        assertThat(noCsrf.body()).contains("anti-forgery");
        assertThat(otherCsrf.statusCode()).isEqualTo(403);
        assertThat(poll.statusCode()).as(poll.body()).isEqualTo(200);
        assertThat(interval.statusCode()).isEqualTo(200);
        assertThat(none.statusCode()).isEqualTo(400);
        assertThat(none.body()).contains("Select one or more targets");
        assertThat(api.submitted).hasSize(2);
        ForcePoll forcePoll = (ForcePoll) api.submitted.get(0);
        assertThat(forcePoll.getTargets()).containsExactly("T1");
        assertThat(forcePoll.getHeader().getIssuedBy()).isEqualTo("rest:ops");
        SetPollingInterval set = (SetPollingInterval) api.submitted.get(1);
        assertThat(set.getTargets()).containsExactly("T1", "T2");
        assertThat(set.getIntervalSeconds()).isEqualTo(30);
        assertThat(poll.body()).contains("PENDING"); // the fake decides nothing
    }

    @Test
    void shouldEscapeWhatTargetsReportAndFilterAndAnswer204WhenUnchanged() throws Exception {
        start(false);

        HttpResponse<String> page = send("GET", "/console/targets", null, null, null);
        HttpResponse<String> rows = send("GET", "/console/targets/rows?status=PENDING", null, null, null);
        String version = rows.headers().firstValue("X-Msx-Version").orElseThrow();
        HttpResponse<String> again = send("GET", "/console/targets/rows?status=PENDING&seen=" + version, null, null,
                null);

        assertThat(page.body()).doesNotContain("<script>alert(1)</script>")
                .contains("rack-1 &lt;script&gt;alert(1)&lt;/script&gt;")
                .contains("anonymous operator").contains("Force Poll");
        assertThat(rows.body()).contains("row-T2").doesNotContain("row-T1").contains("Pending acceptance");
        assertThat(again.statusCode()).isEqualTo(204);
    }

    @Test
    void shouldAnswerAClearFragmentWhenTheViewsFail() throws Exception {
        start(false);
        api.failure = new IllegalStateException("secret internals");

        HttpResponse<String> rows = send("GET", "/console/targets/rows", null, null, null);
        HttpResponse<String> page = send("GET", "/console/jobs", null, null, null);

        assertThat(rows.statusCode()).isEqualTo(500);
        assertThat(rows.body()).contains("role=\"alert\"").contains("reference").doesNotContain("secret internals")
                .doesNotContain("at io.msx");
        assertThat(page.statusCode()).isEqualTo(500);
    }

    @Test
    void shouldShowAJobAndRefuseAnUnknownOne() throws Exception {
        start(false);

        HttpResponse<String> job = send("GET", "/console/jobs/backup", null, null, null);
        HttpResponse<String> unknown = send("GET", "/console/jobs/nope", null, null, null);

        assertThat(job.body()).contains("Nightly backup").contains("Start on all targets").contains("No run yet.");
        assertThat(unknown.statusCode()).isEqualTo(404);
    }
}
