package io.msx.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Kafka's own latency figure, {@code org.apache.kafka.tools.EndToEndLatency} (one synchronous produce, then a poll
 * for it: one hop, whole milliseconds), run in a child JVM on this JVM's class path (its {@code main} exits the JVM)
 * (bench/pom.xml depends on {@code org.apache.kafka:kafka-tools} for it).
 */
final class KafkaEndToEnd {

    static final String TOOL = "org.apache.kafka.tools.EndToEndLatency";
    private static final Pattern PERCENTILES = Pattern.compile("Percentiles: 50th = (\\d+), 99th = (\\d+)");
    private static final Pattern AVERAGE = Pattern.compile("Avg latency: ([0-9.]+) ms");

    private KafkaEndToEnd() {
    }

    static boolean available() {
        try {
            Class.forName(TOOL, false, KafkaEndToEnd.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    /**
     * One line of what the tool measured, or why it did not run; {@code kafka}: bootstrap servers and the security
     * settings, handed to the tool in its properties file.
     */
    static String run(Map<String, Object> kafka, String topic, int messages, int bytes) {
        if (!available()) {
            return "not available offline: " + TOOL + " (org.apache.kafka:kafka-tools) is not on the bench class "
                    + "path and not in ~/.m2; add it to bench/pom.xml to print Kafka's own figure here";
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path properties = null;
        try {
            properties = Files.createTempFile("msx-bench-e2e-", ".properties");
            Map<String, Object> settings = new HashMap<>(kafka);
            settings.remove("bootstrap.servers");
            Clients.write(settings, properties);
            List<String> command = List.of(java, "-cp", System.getProperty("java.class.path"), TOOL,
                    (String) kafka.get("bootstrap.servers"), topic, Integer.toString(messages), "all",
                    Integer.toString(bytes), properties.toString());
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            List<String> lines = new ArrayList<>();
            try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    lines.add(line);
                }
            }
            if (!process.waitFor(5, TimeUnit.MINUTES)) {
                process.destroyForcibly();
                return "EndToEndLatency did not finish within 5 minutes";
            }
            String output = String.join("\n", lines);
            Matcher p = PERCENTILES.matcher(output);
            Matcher avg = AVERAGE.matcher(output);
            if (process.exitValue() != 0 || !p.find()) {
                return "EndToEndLatency failed (exit " + process.exitValue() + "): "
                        + (lines.isEmpty() ? "no output" : lines.get(lines.size() - 1));
            }
            return String.format("%,d x %d B, acks=all, one hop: p50 %s ms, p99 %s ms%s (whole ms)", messages, bytes,
                    p.group(1), p.group(2), avg.find() ? ", mean " + avg.group(1) + " ms" : "");
        } catch (Exception e) {
            return "EndToEndLatency could not run: " + e;
        } finally {
            if (properties != null) {
                try {
                    Files.deleteIfExists(properties);
                } catch (java.io.IOException e) {
                    // a temporary file left behind
                }
            }
        }
    }
}
