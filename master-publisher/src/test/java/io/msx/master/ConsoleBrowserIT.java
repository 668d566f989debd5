package io.msx.master;

import com.fasterxml.jackson.databind.JsonNode;
import io.msx.agent.TargetAgent;
import io.msx.agent.TargetAgentConfig;
import io.msx.http.BearerTokens;
import io.msx.local.LocalStack;
import io.msx.local.LocalStackExtension;
import io.msx.master.cli.MsxCli;
import io.msx.master.internal.Json;
import io.msx.schemas.Topics;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import picocli.CommandLine;

import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The web console in a real browser (headless Chromium from Debian's {@code chromium} and {@code chromium-driver},
 * driven by Selenium) against the real local stack: a master in a child JVM (so it can be stopped and started again)
 * with a tokens file, and two agents. The targets table shows both; Force Poll on T1 updates T1's last poll in place
 * (no reload) and leaves T2's; a job started from the page shows its history with step detail and the truncation
 * marker; a read-only login sees no action buttons and its forged action is refused with 403; with the master stopped
 * the page says so and recovers when it returns. Screenshots go to {@code target/screenshots/}.
 */
@ExtendWith(LocalStackExtension.class)
class ConsoleBrowserIT {

    private static final String READ_TOKEN = "console-it-read-token";
    private static final String OPERATOR_TOKEN = "console-it-operator-token";
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Path SCREENSHOTS = Path.of("target", "screenshots");
    private static final Duration PAGE = Duration.ofSeconds(30);

    @TempDir
    Path data;

    private final List<AutoCloseable> open = new ArrayList<>();
    private ChromeDriver browser;
    private String base;

    @AfterEach
    void close() throws Exception {
        if (browser != null) {
            browser.quit();
        }
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private static ChromeDriver chromium() {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            throw new AssertionError("ConsoleBrowserIT needs headless Chromium and its driver at " + CHROMIUM + " and "
                    + CHROMEDRIVER + ": apt-get install -y chromium chromium-driver (Debian packages; .ci/run "
                    + "installs them)");
        }
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile());
        try {
            Path profile = Files.createTempDirectory("msx-console-chromium-");
            options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1600,900", "--user-data-dir=" + profile);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        return new ChromeDriver(service, options);
    }

    private TargetAgent agent(LocalStack stack, Topics topics, String name, String location, String zone) {
        Map<String, Object> config = Configs.agent(stack, topics.prefix(), name, data.resolve(name));
        config.put(TargetAgentConfig.LOCATION_CONFIG, location);
        config.put(TargetAgentConfig.TIME_ZONE_CONFIG, zone);
        // no scheduled check-in during the test: only a force poll changes a last poll
        config.put(TargetAgentConfig.POLL_INTERVAL_MS_CONFIG, Duration.ofMinutes(30).toMillis());
        TargetAgent agent = new TargetAgent(new TargetAgentConfig(config), Clock.systemUTC());
        open.add(agent);
        agent.start();
        return agent;
    }

    private JsonNode api(String path) {
        try {
            HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base
                    + path)).header("Authorization", "Bearer " + READ_TOKEN).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 ? Json.mapper().readTree(response.body()) : null;
        } catch (java.io.IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private void screenshot(String name) throws Exception {
        Files.createDirectories(SCREENSHOTS);
        File shot = browser.getScreenshotAs(OutputType.FILE);
        Files.copy(shot.toPath(), SCREENSHOTS.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
    }

    private void login(String token) {
        browser.get(base + "/console/login");
        browser.findElement(By.id("token")).sendKeys(token);
        browser.findElement(By.id("login")).click();
        await().atMost(PAGE).alias("the targets page after login").until(() -> browser.getCurrentUrl()
                .endsWith("/console/targets") && !browser.findElements(By.id("target-rows")).isEmpty());
    }

    /** A cell's text; rows are replaced when their target changes, so a stale row is looked up again. */
    private String cell(String target, String css) {
        return await().atMost(PAGE).ignoreException(StaleElementReferenceException.class).until(() -> browser
                .findElement(By.cssSelector("#row-" + target + " " + css)).getText(), text -> true);
    }

    /** Clicks what {@code by} finds, again if the live table replaced it in between (the click did not happen). */
    private void click(By by) {
        await().atMost(PAGE).ignoreException(StaleElementReferenceException.class).until(() -> {
            browser.findElement(by).click();
            return true;
        });
    }

    /** Ticks a checkbox of the live table. */
    private void tick(By by) {
        await().atMost(PAGE).ignoreException(StaleElementReferenceException.class).until(() -> {
            if (!browser.findElement(by).isSelected()) {
                browser.findElement(by).click();
            }
            return browser.findElement(by).isSelected();
        });
    }

    /** The text of what {@code by} finds, looked up again when htmx replaced it in between. */
    private String text(By by) {
        return await().atMost(PAGE).ignoreException(StaleElementReferenceException.class).until(() -> browser
                .findElement(by).getText(), t -> true);
    }

    /** Waits for the targets table to be refreshed (the page's "data as of" advancing) {@code cycles} times. */
    private void refreshCycles(int cycles) {
        java.util.regex.Pattern asOf = java.util.regex.Pattern.compile("Live: data as of (\\S+)");
        for (int i = 0; i < cycles; i++) {
            java.util.regex.Matcher before = asOf.matcher(text(By.id("freshness")));
            assertThat(before.find()).as("the page is live").isTrue();
            String seen = before.group(1);
            await().atMost(PAGE).alias("the table refreshed").until(() -> {
                java.util.regex.Matcher now = asOf.matcher(text(By.id("freshness")));
                return now.find() && !now.group(1).equals(seen);
            });
        }
    }

    private Object js(String script, Object... args) {
        return ((JavascriptExecutor) browser).executeScript(script, args);
    }

    @Test
    void shouldManageTargetsAndJobsInABrowser(LocalStack stack) throws Exception {
        long began = System.nanoTime();
        browser = chromium(); // first: without a browser the test fails at once, naming the packages
        Topics topics = new Topics(LocalStack.uniqueTopicPrefix());
        Path tokens = Files.writeString(data.resolve("tokens"), "viewer read " + BearerTokens.sha256Hex(READ_TOKEN)
                + "\nops operator " + BearerTokens.sha256Hex(OPERATOR_TOKEN) + "\n");
        ChildMaster master = new ChildMaster(stack, topics, "console", data.resolve("master"),
                Map.of(MasterConfig.HTTP_AUTH_TOKENS_FILE_CONFIG, tokens.toString())).start();
        open.add(master);
        base = "http://127.0.0.1:" + master.port;
        agent(stack, topics, "T1", "rack-1", "Europe/Berlin");
        agent(stack, topics, "T2", "rack-2", "America/New_York");
        await().atMost(Duration.ofSeconds(120)).alias("the master lists T1 and T2 as NORMAL").until(() -> {
            JsonNode targets = api("/targets");
            if (targets == null) {
                return false;
            }
            int normal = 0;
            for (JsonNode t : targets) {
                normal += "NORMAL".equals(t.path("status").asText()) ? 1 : 0;
            }
            return normal == 2;
        });
        Path job = Files.writeString(data.resolve("job.yaml"), """
                id: hello
                name: Hello from every target
                targets: [T1, T2]
                steps:
                  - id: 1
                    name: greet
                    command: [sh, -c, 'echo "hello from job $MSX_JOB_ID"']
                  - id: 2
                    name: chatty
                    command: [sh, -c, 'seq 1 5000']
                    maxOutputBytes: 1024
                """);
        Path operatorToken = Files.writeString(data.resolve("operator.token"), OPERATOR_TOKEN + "\n");
        StringWriter out = new StringWriter();
        int created = new CommandLine(new MsxCli()).setOut(new PrintWriter(out, true))
                .setErr(new PrintWriter(out, true)).execute("job", "create", "-f", job.toString(), "--submit-via",
                        "rest", "--master-url", base, "--token-file", operatorToken.toString());
        assertThat(created).as("msx job create: %s", out).isZero();
        int grouped = new CommandLine(new MsxCli()).setOut(new PrintWriter(out, true))
                .setErr(new PrintWriter(out, true)).execute("group", "add", "databases", "T1", "--submit-via",
                        "rest", "--master-url", base, "--token-file", operatorToken.toString());
        assertThat(grouped).as("msx group add: %s", out).isZero();

        // an operator logs in: both targets, action buttons
        login(OPERATOR_TOKEN);
        await().atMost(PAGE).alias("T1 and T2 in the table").until(() -> browser.findElements(
                By.cssSelector("#target-rows tr[data-target]")).size() == 2);
        assertThat(cell("T1", ".status")).contains("Normal");
        assertThat(cell("T2", ".status")).contains("Normal");
        assertThat(browser.findElement(By.id("action-force-poll")).isDisplayed()).isTrue();
        await().atMost(PAGE).alias("the page says it is live")
                .until(() -> browser.findElement(By.id("freshness")).getText().startsWith("Live: data as of"));

        // Force Poll on T1: T1's last poll changes in place, T2's does not
        String t1Before = cell("T1", ".lastpoll time");
        String t2Before = cell("T2", ".lastpoll time");
        js("window.msxNoReload = 'still here';");
        tick(By.id("sel-T1"));
        browser.findElement(By.id("action-force-poll")).click();
        await().atMost(PAGE).alias("the force poll's result")
                .until(() -> text(By.id("action-result")).contains("ForcePoll: ACCEPTED"));
        assertThat(text(By.id("action-result"))).as("the command named T1 alone").contains("posted POLL to T1")
                .doesNotContain("T2");
        await().atMost(PAGE).alias("the check-in arrives in the action's result").until(() ->
                text(By.id("action-result")).contains("T1: checked in at"));
        await().atMost(PAGE).alias("T1's last poll updates in the table").until(() -> !cell("T1", ".lastpoll time")
                .equals(t1Before));
        assertThat(cell("T1", ".trigger")).isEqualTo("FORCED");
        refreshCycles(2);
        assertThat(cell("T2", ".lastpoll time")).as("T2 was not polled (two refreshes later)").isEqualTo(t2Before);
        assertThat(js("return window.msxNoReload;")).as("no page reload").isEqualTo("still here");
        assertThat(await().atMost(PAGE).ignoreException(StaleElementReferenceException.class).until(() -> browser
                .findElement(By.id("sel-T1")).isSelected(), v -> true)).as("the selection survives refreshes")
                .isTrue();
        screenshot("targets-force-poll");

        // filter by group, then Sync Clocks on every target shown
        new org.openqa.selenium.support.ui.Select(browser.findElement(By.id("filter-group")))
                .selectByVisibleText("databases");
        await().atMost(PAGE).alias("only T1 is in group databases").until(() -> browser.findElements(
                By.cssSelector("#target-rows tr[data-target]")).size() == 1);
        new org.openqa.selenium.support.ui.Select(browser.findElement(By.id("filter-group"))).selectByIndex(0);
        await().atMost(PAGE).until(() -> browser.findElements(By.cssSelector("#target-rows tr[data-target]"))
                .size() == 2);
        tick(By.id("select-all"));
        browser.findElement(By.id("action-sync-clocks")).click();
        await().atMost(PAGE).alias("Sync Clocks accepted").until(() -> text(By.id("action-result"))
                .contains("SyncClocks: ACCEPTED"));
        await().atMost(PAGE).alias("both clock skews measured").until(() -> !cell("T1", ".skew").contains("not")
                && !cell("T2", ".skew").contains("not"));
        screenshot("targets");

        // the download list shows the POLL instruction applied
        browser.get(base + "/console/instructions?target=T1");
        await().atMost(PAGE).alias("T1's POLL in the download list").until(() -> text(By.id("instruction-rows"))
                .contains("POLL"));
        assertThat(text(By.id("instruction-rows"))).contains("JOB_INSERT")
                .doesNotContain("T2");

        // a job started from the page: its history with every step attempt
        browser.get(base + "/console/jobs");
        browser.findElement(By.linkText("hello")).click();
        await().atMost(PAGE).until(() -> !browser.findElements(By.id("start-all")).isEmpty());
        assertThat(browser.findElement(By.id("job-definition")).getText()).contains("Hello from every target");
        assertThat(browser.findElement(By.id("job-steps")).getText()).as("the job's definition, step by step")
                .contains("sh -c echo \"hello from job $MSX_JOB_ID\"").contains("sh -c seq 1 5000");
        browser.findElement(By.id("start-all")).click();
        await().atMost(PAGE).alias("the start's result").until(() -> text(By.id("action-result"))
                .contains("StartJob: ACCEPTED"));
        await().atMost(Duration.ofSeconds(60)).alias("both runs SUCCEEDED in the history, with their steps")
                .ignoreException(StaleElementReferenceException.class).until(() -> browser.findElements(By.cssSelector("#history tbody.run")).size() == 2
                        && browser.findElements(By.cssSelector("#history tbody.run .run-row")).stream()
                        .allMatch(r -> r.getText().contains("SUCCEEDED")));
        assertThat(text(By.cssSelector("#history tbody.run[data-target='T1']"))).contains("1.1 greet").contains("hello from job hello").contains("2.1 chatty")
                .contains("exit 0").contains("[output truncated by the agent]").contains("[msx: output truncated");
        screenshot("job-history");

        // the master stops: the page says so; it comes back: the page recovers without a reload, and is live
        browser.get(base + "/console/targets");
        await().atMost(PAGE).until(() -> browser.findElements(By.cssSelector("#target-rows tr[data-target]"))
                .size() == 2 && text(By.id("freshness")).startsWith("Live: data as of"));
        js("window.msxNoReload = 'still here';");
        master.kill();
        await().atMost(PAGE).alias("the page says the master is unreachable").until(() -> {
            WebElement banner = browser.findElement(By.id("offline"));
            return banner.isDisplayed() && banner.getText().contains("The master is unreachable");
        });
        assertThat(browser.findElement(By.id("freshness")).getText()).startsWith("Not live: data as of");
        assertThat(browser.findElements(By.cssSelector("#target-rows tr[data-target]"))).as("the last data stays")
                .hasSize(2);
        screenshot("master-unreachable");
        master.start();
        await().atMost(Duration.ofSeconds(120)).alias("the page recovers when the master is back").until(() ->
                !browser.findElement(By.id("offline")).isDisplayed()
                        && browser.findElement(By.id("freshness")).getText().startsWith("Live: data as of")
                        && browser.findElements(By.cssSelector("#target-rows tr[data-target]")).size() == 2);
        String t2BeforeRestartPoll = cell("T2", ".lastpoll time");
        tick(By.id("sel-T2"));
        click(By.id("action-force-poll"));
        // pressed again only when the master refused it (its command gateway may still be starting)
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(2))
                .alias("the recovered page's Force Poll of T2").until(() -> {
                    String result = text(By.id("action-result"));
                    if (!result.contains("ForcePoll") && !result.isEmpty()) {
                        click(By.id("action-force-poll"));
                    }
                    return result.contains("posted POLL to T2");
                });
        assertThat(text(By.id("action-result"))).doesNotContain("to T1");
        await().atMost(PAGE).alias("T2's row changes in the recovered page").until(() -> !cell("T2", ".lastpoll time")
                .equals(t2BeforeRestartPoll));
        assertThat(js("return window.msxNoReload;")).isEqualTo("still here");
        screenshot("master-back");

        // a read-only login: no action buttons, and a forged action is refused
        click(By.cssSelector("form[action='/console/logout'] button"));
        await().atMost(PAGE).until(() -> browser.getCurrentUrl().endsWith("/console/login"));
        login(READ_TOKEN);
        await().atMost(PAGE).until(() -> browser.findElements(By.cssSelector("#target-rows tr[data-target]"))
                .size() == 2);
        assertThat(browser.findElements(By.cssSelector("button[hx-post]"))).as("no action buttons").isEmpty();
        assertThat(browser.findElements(By.cssSelector("input[name=target]"))).as("no selection").isEmpty();
        assertThat(browser.findElement(By.id("who")).getText()).contains("viewer").contains("read only");
        browser.get(base + "/console/jobs/hello");
        assertThat(browser.findElements(By.id("start-all"))).isEmpty();
        browser.get(base + "/console/targets");
        Object forged = ((JavascriptExecutor) browser).executeAsyncScript("""
                const done = arguments[arguments.length - 1];
                const csrf = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token'];
                fetch('/console/targets/actions', {method: 'POST', headers: {'X-CSRF-Token': csrf,
                    'Content-Type': 'application/x-www-form-urlencoded'}, body: 'action=force-poll&target=T2'})
                  .then(r => done(r.status), e => done(String(e)));
                """);
        assertThat(forged).as("a read login's forged Force Poll").isEqualTo(403L);
        screenshot("read-only");

        System.out.println("ConsoleBrowserIT took " + Duration.ofNanos(System.nanoTime() - began).toSeconds()
                + " s");
    }
}
