package io.msx.schemas;

import org.apache.avro.Schema;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Every committed version of the Avro schemas in {@code src/main/avro}, read from git history. Each version is
 * parsed as a whole (shared types under {@code common/} first), as the build does.
 */
final class SchemaHistory {

    static final String AVRO_DIR = "src/main/avro";

    private SchemaHistory() {
    }

    /** True when this module sits in a git work tree with git on the PATH. */
    static boolean available() {
        try {
            return git("rev-parse", "--is-inside-work-tree").strip().equals("true");
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** Commit id to the top-level schemas (by full name) as of that commit, oldest first. */
    static Map<String, Map<String, Schema>> committedVersions() {
        String prefix = git("rev-parse", "--show-prefix").strip();
        List<String> commits = new ArrayList<>(git("log", "--format=%H", "--", AVRO_DIR).lines().toList());
        java.util.Collections.reverse(commits);
        Map<String, Map<String, Schema>> versions = new LinkedHashMap<>();
        for (String commit : commits) {
            List<String> files = git("ls-tree", "-r", "--name-only", "--full-name", commit, "--", AVRO_DIR)
                    .lines().filter(f -> f.endsWith(".avsc"))
                    // shared types first, as the avro-maven-plugin imports them
                    .sorted(Comparator.comparing((String f) -> !f.startsWith(prefix + AVRO_DIR + "/common/")))
                    .toList();
            Map<String, String> texts = new LinkedHashMap<>();
            for (String file : files) {
                texts.put(file, git("show", commit + ":" + file));
            }
            versions.put(commit, parse(texts, prefix + AVRO_DIR + "/common/"));
        }
        return versions;
    }

    /** Parses schema texts in order, returning the top-level (non-common) schemas by full name. */
    static Map<String, Schema> parse(Map<String, String> textsInOrder, String commonPrefix) {
        Schema.Parser parser = new Schema.Parser();
        Map<String, Schema> topLevel = new LinkedHashMap<>();
        textsInOrder.forEach((file, text) -> {
            Schema schema = parser.parse(text);
            if (!file.startsWith(commonPrefix)) {
                topLevel.put(schema.getFullName(), schema);
            }
        });
        return topLevel;
    }

    private static String git(String... args) {
        List<String> command = new ArrayList<>(List.of("git"));
        command.addAll(List.of(args));
        try {
            Process process = new ProcessBuilder(command).directory(Path.of("").toAbsolutePath().toFile())
                    .redirectErrorStream(true).start();
            String out;
            try (InputStream in = process.getInputStream()) {
                out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException("cannot run git: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running git", e);
        }
    }
}
