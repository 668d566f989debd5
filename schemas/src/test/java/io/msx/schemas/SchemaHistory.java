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

    /** True when this module sits in a git checkout (a {@code .git} here or in a parent directory). */
    static boolean inGitCheckout() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (java.nio.file.Files.exists(dir.resolve(".git"))) {
                return true;
            }
        }
        return false;
    }

    /**
     * @throws IllegalStateException when git cannot be run here, or the clone is shallow (its history would be
     *                               incomplete, so a breaking change to an older version would go unnoticed)
     */
    static void requireReadableHistory() {
        if (!git("rev-parse", "--is-inside-work-tree").strip().equals("true")) {
            throw new IllegalStateException("git does not see a work tree here");
        }
        if (git("rev-parse", "--is-shallow-repository").strip().equals("true")) {
            throw new IllegalStateException("this clone is shallow, so earlier schema versions cannot be read; run "
                    + "'git fetch --unshallow' (or clone without --depth)");
        }
    }

    /** Commit id to every schema file's record (by full name) as of that commit, oldest first. */
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
            versions.put(commit, parse(texts));
        }
        return versions;
    }

    /** Parses schema texts in order, returning each file's schema by full name. */
    static Map<String, Schema> parse(Map<String, String> textsInOrder) {
        Schema.Parser parser = new Schema.Parser();
        Map<String, Schema> schemas = new LinkedHashMap<>();
        textsInOrder.forEach((file, text) -> {
            Schema schema = parser.parse(text);
            schemas.put(schema.getFullName(), schema);
        });
        return schemas;
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
