package io.msx.master.internal;

import io.msx.avro.CommandHeader;
import io.msx.avro.CommandResult;
import io.msx.master.InstructionView;
import io.msx.master.JobDetail;
import io.msx.master.JobRunView;
import io.msx.master.JobView;
import io.msx.master.TargetView;
import io.msx.schemas.MessageFamily;
import org.apache.avro.specific.SpecificRecord;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A REST API answering from fields the test sets, recording the commands it was given. */
public final class FakeRestApi implements RestServer.Api {
    public final List<SpecificRecord> submitted = java.util.Collections.synchronizedList(new ArrayList<>());
    public final List<Boolean> localFlags = java.util.Collections.synchronizedList(new ArrayList<>());
    public volatile RuntimeException failure;
    public volatile Optional<CommandResult> result = Optional.empty();
    public volatile Duration lastWait;
    public volatile List<TargetView> targets = List.of();

    private void maybeFail() {
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public List<TargetView> targets(boolean local) {
        maybeFail();
        localFlags.add(local);
        return targets;
    }

    @Override
    public Optional<TargetView> target(String name, boolean local) {
        maybeFail();
        return Optional.empty();
    }

    @Override
    public List<JobView> jobs(boolean local) {
        maybeFail();
        localFlags.add(local);
        return List.of(new JobView("backup", "Nightly backup", 3, true, List.of("T1"), 2, List.of("nightly")));
    }

    @Override
    public Optional<JobDetail> job(String jobId, boolean local) {
        maybeFail();
        localFlags.add(local);
        if (!jobId.equals("backup")) {
            return Optional.empty();
        }
        return Optional.of(new JobDetail("backup", "Nightly backup", "dumps <the> databases", 3, true, List.of("T1"),
                List.of(), List.of(
                        new JobDetail.Step(1, "dump", List.of("pg_dump", "--all", "<db>"), null, 3600, 2, 30,
                                "GO_TO_NEXT_STEP", null, "QUIT_WITH_FAILURE", null, List.of(0), 65536,
                                List.of("PGPASSWORD")),
                        new JobDetail.Step(2, "upload", List.of("sh", "-c", "upload.sh"), "/var/backups", null, 0, 0,
                                "QUIT_WITH_SUCCESS", null, "QUIT_WITH_FAILURE", null, List.of(0, 1), 65536,
                                List.of())),
                List.of(new JobDetail.Schedule("nightly", "0 2 * * *", "Europe/Berlin", null, true))));
    }

    @Override
    public Optional<List<JobRunView>> history(String jobId, int limit, boolean local) {
        maybeFail();
        return jobId.equals("backup") ? Optional.of(List.of()) : Optional.empty();
    }

    @Override
    public List<InstructionView> instructions(String target, String job, String id, int limit, boolean local) {
        maybeFail();
        return List.of();
    }

    @Override
    public Map<String, List<String>> groups(boolean local) {
        maybeFail();
        return Map.of("databases", List.of("T1", "T2"));
    }

    @Override
    public RestServer.Health health() {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("state", "RUNNING");
        body.put("masterId", "m1");
        body.put("ready", false);
        body.put("reason", "Kafka Streams is REBALANCING");
        return new RestServer.Health(true, false, body);
    }

    @Override
    public String metrics() {
        return "msx_master_up 1.0\n";
    }

    /** How long {@link #submit} takes at most (it waits this long, or {@code wait} when shorter, then answers). */
    public volatile Duration submitDelay = Duration.ZERO;

    @Override
    public Optional<CommandResult> submit(SpecificRecord command, Duration wait) throws InterruptedException {
        long sleep = Math.min(submitDelay.toMillis(), wait.toMillis());
        if (sleep > 0) {
            Thread.sleep(sleep);
        }
        return record(command, wait);
    }

    private synchronized Optional<CommandResult> record(SpecificRecord command, Duration wait) {
        maybeFail();
        submitted.add(command);
        lastWait = wait;
        return result.map(r -> CommandResult.newBuilder(r)
                .setCommandId(MessageFamily.COMMAND.<CommandHeader>header(command).getCommandId()).build());
    }
}
