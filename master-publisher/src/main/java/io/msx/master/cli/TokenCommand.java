package io.msx.master.cli;

import io.msx.http.BearerTokens;
import io.msx.http.Role;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code msx token ...}: bearer tokens of the REST API (and the agents' endpoints). */
@Command(name = "token", description = "Manage bearer tokens of the REST API.",
        subcommands = {TokenCommand.Create.class})
public final class TokenCommand {

    /**
     * {@code msx token create --name N --role read|operator [--tokens-file F]}: a new random token on stdout, and
     * its tokens-file line (name, role, SHA-256 of the token) on stderr, or appended to {@code F}.
     */
    @Command(name = "create", description = {"Create a bearer token: prints the token on stdout and the line for the "
            + "tokens file (http.auth.tokens.file) on stderr, or appends it with --tokens-file.",
            "The file holds only the token's SHA-256; keep the token itself secret. Servers read the file at start."})
    static final class Create implements Callable<Integer> {

        @Spec
        CommandSpec spec;

        @Option(names = "--name", required = true, description = "Who uses the token (shown as issuedBy "
                + "rest:<name> on commands): letters, digits, '.', '_', '@', '-'.")
        String name;

        @Option(names = "--role", required = true, converter = RoleConverter.class,
                description = "read (views, history, metrics, health) or operator (also commands).")
        Role role;

        @Option(names = "--tokens-file", paramLabel = "FILE", description = "Append the line to this tokens file "
                + "(created if missing) instead of printing it.")
        Path tokensFile;

        @Override
        public Integer call() throws IOException {
            BearerTokens.NewToken created = BearerTokens.create(name, role, new SecureRandom());
            if (tokensFile == null) {
                spec.commandLine().getErr().println(created.line());
            } else {
                append(created.line());
                spec.commandLine().getErr().println("added token '" + name + "' (" + role.wireName() + ") to "
                        + tokensFile + "; servers read it at start");
            }
            spec.commandLine().getErr().flush();
            spec.commandLine().getOut().println(created.token());
            spec.commandLine().getOut().flush();
            return ExitCodes.OK;
        }

        private void append(String line) throws IOException {
            String existing = Files.exists(tokensFile) ? Files.readString(tokensFile, StandardCharsets.UTF_8) : "";
            for (String old : existing.lines().toList()) {
                List<String> fields = List.of(old.replaceAll("#.*", "").strip().split("\\s+"));
                if (fields.get(0).equals(name)) {
                    throw new IllegalArgumentException("tokens file " + tokensFile + " already has a token named '"
                            + name + "'; remove its line first or choose another name");
                }
            }
            String prefix = existing.isEmpty() || existing.endsWith("\n") ? "" : "\n";
            Files.writeString(tokensFile, prefix + line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        }
    }

    static final class RoleConverter implements ITypeConverter<Role> {
        @Override
        public Role convert(String value) {
            try {
                return Role.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
