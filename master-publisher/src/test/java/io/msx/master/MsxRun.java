package io.msx.master;

import io.msx.local.LocalStack;
import io.msx.master.cli.MsxCli;
import io.msx.schemas.Topics;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * One `msx` CLI call against a master on the local stack, connected as its super-user ({@code --command-config}): its
 * exit code and what it printed.
 */
record MsxRun(int exitCode, String out, String err) {

    static MsxRun of(LocalStack stack, Topics topics, MasterPublisher master, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(Configs.cli(stack, topics.prefix(), master));
        int code = new CommandLine(new MsxCli()).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
                .execute(all.toArray(String[]::new));
        return new MsxRun(code, out.toString(), err.toString());
    }
}
