package io.msx.master.cli;

import io.msx.master.KafkaAccess;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.function.Function;

/**
 * {@code msx access ...}: Kafka users and ACLs of targets, masters and operators (least privilege). Run with the
 * credentials of a Kafka security administrator ({@code --command-config}).
 */
@Command(name = "access", description = "Kafka users and ACLs for targets, masters and operators.",
        subcommands = {AccessCommand.Target.class, AccessCommand.Master.class, AccessCommand.Operator.class,
                AccessCommand.Revoke.class})
public final class AccessCommand {

    /** What the provisioning commands share: connection, where to write the client settings. */
    abstract static class Provisioning implements Callable<Integer> {

        @Spec
        CommandSpec spec;

        @Mixin
        ConnectionOptions connection;

        @Option(names = "--out", paramLabel = "FILE", description = "Write the client settings (with the password) "
                + "to FILE, readable by its owner only, instead of printing them.")
        Path out;

        @Option(names = "--security-protocol", defaultValue = "SASL_SSL",
                description = "security.protocol the client uses (default ${DEFAULT-VALUE}; SASL_PLAINTEXT for the "
                        + "embedded broker).")
        String protocol;

        int provision(String what, Function<KafkaAccess, KafkaAccess.Credentials> action) throws IOException {
            KafkaAccess.Credentials credentials;
            try (KafkaAccess access = new KafkaAccess(connection.kafka(), connection.topics())) {
                credentials = action.apply(access);
            }
            StringBuilder text = new StringBuilder("# Kafka credentials of " + what + " (user " + credentials.user()
                    + ")\n");
            new TreeMap<>(credentials.clientSettings(protocol)).forEach((k, v) -> text.append(k).append('=')
                    .append(v.replace("\\", "\\\\")).append('\n'));
            if (out == null) {
                spec.commandLine().getOut().print(text);
            } else {
                writeOwnerOnly(out, text.toString());
                spec.commandLine().getOut().println(what + ": user " + credentials.user() + ", settings written to "
                        + out);
            }
            spec.commandLine().getOut().flush();
            return ExitCodes.OK;
        }
    }

    @Command(name = "target", description = "Create (or renew) a target's Kafka user and LITERAL ACLs: read its own "
            + "topic and group, write status. Prints its client settings.")
    static class Target extends Provisioning {
        @Parameters(paramLabel = "TARGET", description = "Target name.")
        String target;

        @Override
        public Integer call() throws IOException {
            return provision("target " + target, access -> access.provisionTarget(target));
        }
    }

    @Command(name = "master", description = "Create a master's Kafka user and ACLs.")
    static final class Master extends Provisioning {
        @Parameters(paramLabel = "USER", description = "Kafka user name of the master.")
        String user;

        @Override
        public Integer call() throws IOException {
            return provision("master " + user, access -> access.provisionMaster(user));
        }
    }

    @Command(name = "operator", description = "Create an operator's Kafka user: write commands, read results.")
    static final class Operator extends Provisioning {
        @Parameters(paramLabel = "USER", description = "Kafka user name of the operator or script.")
        String user;

        @Override
        public Integer call() throws IOException {
            return provision("operator " + user, access -> access.provisionOperator(user));
        }
    }

    @Command(name = "revoke", description = "Remove a user's credentials and every ACL naming it (a target: "
            + "--target T).")
    static final class Revoke implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ConnectionOptions connection;

        @Option(names = "--target", paramLabel = "TARGET", description = "Revoke the target's user.")
        String target;

        @Parameters(paramLabel = "USER", arity = "0..1", description = "Kafka user name.")
        String user;

        @Override
        public Integer call() {
            if ((target == null) == (user == null)) {
                spec.commandLine().getErr().println("msx: name either a USER or --target TARGET");
                return ExitCodes.USAGE;
            }
            String name = target != null ? KafkaAccess.targetUser(target) : user;
            try (KafkaAccess access = new KafkaAccess(connection.kafka(), connection.topics())) {
                access.revokeUser(name);
            }
            spec.commandLine().getOut().println(name + "  revoked");
            return ExitCodes.OK;
        }
    }

    /** Writes {@code text} to a new file only its owner can read (where the file system has POSIX permissions). */
    public static void writeOwnerOnly(Path file, String text) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.deleteIfExists(file);
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException notPosix) {
            Files.createFile(file);
        }
        Files.writeString(file, text);
    }
}
