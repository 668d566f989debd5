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

    /** The cookies a page set (an anonymous caller's nonce). */
    private static String cookiesOf(HttpResponse<String> page) {
        return String.join("; ", page.headers().allValues("Set-Cookie").stream()
                .map(c -> c.substring(0, c.indexOf(';'))).toList());
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

    @Test
    void shouldShowAJobsWholeDefinitionEscapedWithEnvironmentNamesOnly() throws Exception {
        start(false);

        String page = send("GET", "/console/jobs/backup", null, null, null).body();

        assertThat(page).contains("id=\"job-steps\"")
                .contains("<code>pg_dump --all &lt;db&gt;</code>")
                .contains("<code>sh -c upload.sh</code>")
                .contains("/var/backups").contains("3600 s").contains("2 every 30 s")
                .contains("GO_TO_NEXT_STEP").contains("QUIT_WITH_FAILURE").contains("[0, 1]")
                .contains("PGPASSWORD")
                .contains("dumps &lt;the&gt; databases")
                .contains("id=\"job-schedules\"").contains("cron 0 2 * * *").contains("Europe/Berlin");
    }

    @Test
    void shouldRefreshTheTableFromTheFiltersAloneAndDisableActionButtonsWhileTheyRun() throws Exception {
        start(false);

        HttpResponse<String> page = send("GET", "/console/targets?target=T1", null, null, null);
        HttpResponse<String> rows = send("GET", "/console/targets/rows?target=T1&target=T2", null, null, null);

        assertThat(page.body()).contains("hx-include=\"#filter-bar\"").doesNotContain("hx-include=\"#targets-form\"")
                .contains("value=\"T1\" id=\"sel-T1\" aria-label=\"Select T1\" checked");
        assertThat(rows.statusCode()).isEqualTo(200);
        assertThat(rows.body()).contains("sel-T1").doesNotContain("checked");
        Matcher buttons = Pattern.compile("<button[^>]*hx-post[^>]*>").matcher(page.body());
        int count = 0;
        while (buttons.find()) {
            count++;
            assertThat(buttons.group()).contains("hx-disabled-elt=\"this\"")
                    .contains("hx-sync=\"closest form:drop\"");
        }
        assertThat(count).isEqualTo(6); // five actions and T2's Accept
        assertThat(page.body()).contains("\"timeout\":20000").contains("includeIndicatorStyles");
    }

    @Test
    void shouldWaitLessThanTheBrowserAndDefectAllTargetsWithinOneDeadline() throws Exception {
        start(false);
        api.submitDelay = java.time.Duration.ofSeconds(30); // the master decides nothing in time
        HttpResponse<String> page = send("GET", "/console/targets", null, null, null);
        String csrf = csrfOf(page.body());
        String cookies = cookiesOf(page);

        long started = System.nanoTime();
        HttpResponse<String> defect = send("POST", "/console/targets/actions", cookies, csrf,
                "action=defect&target=T1&target=T2&target=T3");
        long took = java.time.Duration.ofNanos(System.nanoTime() - started).toMillis();

        assertThat(Console.ACTION_WAIT).isLessThanOrEqualTo(java.time.Duration.ofSeconds(10));
        assertThat(defect.statusCode()).as(defect.body()).isEqualTo(200);
        assertThat(api.submitted).hasSize(3);
        assertThat(took).as("three commands waited for together").isLessThan(Console.ACTION_WAIT.toMillis() + 3000);
        for (var command : api.submitted) {
            String id = ((io.msx.avro.command.DefectTarget) command).getHeader().getCommandId().toString();
            assertThat(defect.body()).contains("PENDING").contains("(command " + id + ")");
        }
    }

    @Test
    void shouldClampTheCheckInWatchAndStopItWith286() throws Exception {
        start(false);
        String id = "&id=T1:" + java.util.UUID.randomUUID();

        HttpResponse<String> first = send("GET", "/console/targets/polls?n=-5" + id + id + id, null, null, null);
        HttpResponse<String> beyond = send("GET", "/console/targets/polls?n=100000" + id, null, null, null);
        StringBuilder many = new StringBuilder("/console/targets/polls?n=1");
        for (int i = 0; i < 300; i++) {
            many.append("&id=T").append(i).append(":x");
        }
        HttpResponse<String> capped = send("GET", many.toString(), null, null, null);

        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(first.body()).contains("polls?n=1&amp;id=T1").contains("every 1s");
        assertThat(first.body().split("data-target=").length - 1).isEqualTo(1);
        assertThat(beyond.statusCode()).isEqualTo(286);
        assertThat(beyond.body()).doesNotContain("hx-get").contains("have not checked in yet");
        assertThat(capped.body().split("data-target=").length - 1).isEqualTo(Console.POLL_WATCH_MAX);
        assertThat(capped.body()).contains("100 more force polls");
    }

    @Test
    void shouldKeepTheWatchsUrlWithinTheHeaderLimit() {
        List<Models.PollWatch> polls = new java.util.ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            polls.add(new Models.PollWatch("T" + "x".repeat(240) + i, java.util.UUID.randomUUID().toString(), null));
        }

        Models.Polls watch = Console.watch(polls, 0, 1);

        assertThat(watch.next().length()).isLessThanOrEqualTo(Console.POLL_WATCH_URL_MAX);
        assertThat(watch.polls().size() + watch.more()).isEqualTo(2000);
        assertThat(watch.more()).isPositive();
    }

    @Test
    void shouldRequireAScopeAndTargetsForStartAndStop() throws Exception {
        start(false);
        HttpResponse<String> page = send("GET", "/console/targets", null, null, null);
        String csrf = csrfOf(page.body());
        String cookies = cookiesOf(page);

        HttpResponse<String> noScope = send("POST", "/console/jobs/backup/actions", cookies, csrf, "action=start");
        HttpResponse<String> odd = send("POST", "/console/jobs/backup/actions", cookies, csrf,
                "action=start&scope=ALL");
        HttpResponse<String> noneSelected = send("POST", "/console/jobs/backup/actions", cookies, csrf,
                "action=stop&scope=selected");
        HttpResponse<String> all = send("POST", "/console/jobs/backup/actions", cookies, csrf,
                "action=stop&scope=all&target=T1");
        HttpResponse<String> job = send("GET", "/console/jobs/backup", null, null, null);

        assertThat(noScope.statusCode()).isEqualTo(400);
        assertThat(odd.statusCode()).isEqualTo(400);
        assertThat(noneSelected.statusCode()).isEqualTo(400);
        assertThat(all.statusCode()).isEqualTo(200);
        assertThat(api.submitted).hasSize(1);
        assertThat(((io.msx.avro.command.StopJob) api.submitted.get(0)).getTargets()).isEmpty();
        assertThat(job.body()).contains("hx-confirm=\"Stop backup on every one of its targets?\"");
    }

    @Test
    void shouldSendTheSecurityHeadersOnEveryConsoleResponse() throws Exception {
        start(true);
        String cookies = login(OPERATOR_TOKEN);

        for (HttpResponse<String> r : List.of(send("GET", "/console/targets", cookies, null, null),
                send("GET", "/console/targets/rows", cookies, null, null),
                send("GET", "/console/assets/console.js", cookies, null, null),
                send("GET", "/console/login", null, null, null),
                send("GET", "/console/targets", null, null, null),
                send("POST", "/console/targets/actions", cookies, null, "action=force-poll&target=T1"),
                send("POST", "/console/targets/actions", null, null, "action=force-poll&target=T1"))) {
            assertThat(r.headers().firstValue("Content-Security-Policy")).as(r.uri() + " " + r.statusCode())
                    .contains("default-src 'self'; frame-ancestors 'none'");
            assertThat(r.headers().firstValue("X-Frame-Options")).contains("DENY");
            assertThat(r.headers().firstValue("Referrer-Policy")).contains("no-referrer");
        }
    }

    @Test
    void shouldShowEachTargetsNewestRunsHoweverOftenTheOthersRan() {
        List<io.msx.master.JobRunView> runs = new java.util.ArrayList<>();
        for (int i = 0; i < 200; i++) {
            runs.add(new io.msx.master.JobRunView("T1", "r1-" + i, "backup", 1, "SCHEDULE", "SUCCEEDED", null,
                    NOW.plusSeconds(i), NOW.plusSeconds(i), 0, List.of()));
        }
        for (int i = 0; i < 3; i++) {
            runs.add(new io.msx.master.JobRunView("T2", "r2-" + i, "backup", 1, "SCHEDULE", "SUCCEEDED", null,
                    NOW.minusSeconds(100 + i), NOW, 0, List.of()));
        }

        List<io.msx.master.JobRunView> any = Console.newestPerTarget(runs, null, 50);
        List<io.msx.master.JobRunView> t2 = Console.newestPerTarget(runs, "T2", 50);

        assertThat(any).hasSize(53);
        assertThat(any.get(0).runId()).isEqualTo("r1-199");
        assertThat(any.stream().filter(r -> r.target().equals("T2"))).hasSize(3);
        assertThat(t2).extracting(io.msx.master.JobRunView::runId).containsExactly("r2-0", "r2-1", "r2-2");
    }
}
