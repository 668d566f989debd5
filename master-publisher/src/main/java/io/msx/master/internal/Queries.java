package io.msx.master.internal;

import com.fasterxml.jackson.core.type.TypeReference;
import io.msx.avro.JobDefinition;
import io.msx.master.InstructionView;
import io.msx.master.JobRunView;
import io.msx.master.JobDetail;
import io.msx.master.JobView;
import io.msx.master.TargetView;
import io.msx.master.internal.topology.Downloads;
import io.msx.master.internal.topology.History;
import io.msx.master.internal.topology.JsonStore;
import io.msx.master.internal.topology.MasterTopology;
import io.msx.master.internal.topology.Registration;
import io.msx.master.internal.topology.StatusRules;
import io.msx.master.internal.topology.TargetState;
import io.msx.schemas.MsxCodec;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsMetadata;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The REST API's reads: interactive queries of the master's stores. With more than one instance, a view partitioned
 * by target is gathered from every instance that holds part of it, a key is read where its partition is active, and
 * the command sub-topology's stores (jobs, groups) are read where its one task runs; each peer is asked with
 * {@code scope=local}. Thread-safe.
 *
 * @throws org.apache.kafka.streams.errors.InvalidStateStoreException (from every method) while the stores are not
 *                                                                    queryable (starting, rebalancing)
 */
public final class Queries {

    private final KafkaStreams streams;
    private final HostInfo self;
    private final MsxCodec codec;
    private final Clock clock;
    private final UnreadInstructions unread;
    private final Peers peers;

    public Queries(KafkaStreams streams, HostInfo self, MsxCodec codec, Clock clock, UnreadInstructions unread) {
        this(streams, self, codec, clock, unread, new Peers());
    }

    /** @param peers how other instances are asked (HTTPS, the caller's token) */
    public Queries(KafkaStreams streams, HostInfo self, MsxCodec codec, Clock clock, UnreadInstructions unread,
                   Peers peers) {
        this.peers = peers;
        this.streams = streams;
        this.self = self;
        this.codec = codec;
        this.clock = clock;
        this.unread = unread;
    }

    private ReadOnlyKeyValueStore<String, byte[]> store(String name) {
        return streams.store(StoreQueryParameters.fromNameAndType(name, QueryableStoreTypes.keyValueStore()));
    }

    /**
     * Whether the stores of the tasks this instance runs actively answer now (cheap: no scan). An instance running
     * no task (a pure standby) has nothing to answer and passes.
     *
     * @param activeTasks task ids this instance runs (0_0 the command sub-topology, 1_N the views)
     * @throws org.apache.kafka.streams.errors.InvalidStateStoreException when they do not
     */
    public void requireQueryable(java.util.Collection<String> activeTasks) {
        if (activeTasks.stream().anyMatch(t -> t.startsWith("1_"))) {
            store(MasterTopology.TARGET_STATE_STORE).approximateNumEntries();
        }
        if (activeTasks.contains("0_0")) {
            store(MasterTopology.JOBS_STORE).approximateNumEntries();
        }
    }

    /** Registered and not defected, or waiting for an operator to accept the key it presented. */
    private static boolean shown(io.msx.master.internal.topology.TargetState s) {
        return (s.registered && !s.defected) || (s.presentedKey != null && s.acceptedKey == null);
    }

    /** Every registered target this instance's active views hold, as the API shows it. */
    public List<TargetState> localStates() {
        List<TargetState> states = new ArrayList<>();
        if (!here(MasterTopology.TARGET_STATE_STORE)) {
            return states;
        }
        try (KeyValueIterator<String, byte[]> all = store(MasterTopology.TARGET_STATE_STORE).all()) {
            while (all.hasNext()) {
                TargetState s = JsonStore.read(all.next().value, TargetState.class);
                if (shown(s)) {
                    states.add(s);
                }
            }
        }
        return states;
    }

    public List<TargetView> targets(boolean local) {
        Instant now = clock.instant();
        List<TargetView> views = new ArrayList<>(localStates().stream()
                .map(s -> StatusRules.view(s, now, unread.of(s.name))).toList());
        if (!local) {
            for (HostInfo peer : others(MasterTopology.TARGET_STATE_STORE)) {
                views.addAll(peers.get(peer, "/targets?scope=local", new TypeReference<List<TargetView>>() { })
                        .orElse(List.of()));
            }
        }
        views.sort(Comparator.comparing(TargetView::name));
        return views;
    }

    public Optional<TargetView> target(String name, boolean local) {
        HostInfo owner = local ? self : owner(MasterTopology.TARGET_STATE_STORE, name);
        if (!owner.equals(self)) {
            return peers.get(owner, "/targets/" + encode(name) + "?scope=local", new TypeReference<>() { });
        }
        byte[] bytes = store(MasterTopology.TARGET_STATE_STORE).get(name);
        if (bytes == null) {
            return Optional.empty();
        }
        TargetState s = JsonStore.read(bytes, TargetState.class);
        return shown(s) ? Optional.of(StatusRules.view(s, clock.instant(), unread.of(name)))
                : Optional.empty();
    }

    public List<JobView> jobs(boolean local) {
        HostInfo owner = local ? self : owner(MasterTopology.JOBS_STORE, "");
        if (!owner.equals(self)) {
            return peers.get(owner, "/jobs?scope=local", new TypeReference<List<JobView>>() { }).orElse(List.of());
        }
        List<JobView> jobs = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> all = store(MasterTopology.JOBS_STORE).all()) {
            while (all.hasNext()) {
                var entry = all.next();
                JobDefinition j = codec.decodeAs(JobDefinition.class, "store jobs (" + entry.key + ")", 0, -1,
                        entry.value);
                jobs.add(new JobView(j.getJobId(), j.getName(), j.getVersion(), j.getEnabled(), j.getTargets(),
                        j.getSteps().size(), j.getSchedules().stream().map(io.msx.avro.JobSchedule::getName)
                        .toList()));
            }
        }
        return jobs;
    }

    /** A job's whole definition, or empty when no such job is defined. */
    public Optional<JobDetail> job(String jobId, boolean local) {
        HostInfo owner = local ? self : owner(MasterTopology.JOBS_STORE, "");
        if (!owner.equals(self)) {
            return peers.get(owner, "/jobs/" + encode(jobId) + "?scope=local", new TypeReference<>() { });
        }
        byte[] bytes = store(MasterTopology.JOBS_STORE).get(jobId);
        return bytes == null ? Optional.empty() : Optional.of(JobDetail.of(codec.decodeAs(JobDefinition.class,
                "store jobs (" + jobId + ")", 0, -1, bytes)));
    }

    public SortedMap<String, List<String>> groups(boolean local) {
        HostInfo owner = local ? self : owner(MasterTopology.REGISTRATIONS_STORE, "");
        if (!owner.equals(self)) {
            return peers.get(owner, "/groups?scope=local", new TypeReference<TreeMap<String, List<String>>>() { })
                    .map(m -> (SortedMap<String, List<String>>) m).orElse(new TreeMap<>());
        }
        SortedMap<String, List<String>> groups = new TreeMap<>();
        try (KeyValueIterator<String, byte[]> all = store(MasterTopology.REGISTRATIONS_STORE).all()) {
            while (all.hasNext()) {
                Registration r = JsonStore.read(all.next().value, Registration.class);
                if (r.enlisted()) {
                    r.groups().forEach(g -> groups.computeIfAbsent(g, k -> new ArrayList<>()).add(r.target()));
                }
            }
        }
        return groups;
    }

    /**
     * A job's newest {@code limit} runs on every target, oldest first; empty when the master knows no such job and no
     * runs of it.
     */
    public Optional<List<JobRunView>> history(String jobId, int limit, boolean local) {
        List<JobRunView> runs = new ArrayList<>(here(MasterTopology.HISTORY_STORE)
                ? History.of(store(MasterTopology.HISTORY_STORE), jobId) : List.of());
        if (local) {
            return Optional.of(newest(runs, limit));
        }
        for (HostInfo peer : others(MasterTopology.HISTORY_STORE)) {
            peers.get(peer, "/jobs/" + encode(jobId) + "/history?scope=local&limit=" + limit,
                    new TypeReference<List<JobRunView>>() { }).ifPresent(runs::addAll);
        }
        boolean known = !runs.isEmpty() || jobs(false).stream().anyMatch(j -> j.jobId().equals(jobId));
        return known ? Optional.of(newest(runs, limit)) : Optional.empty();
    }

    /** The newest {@code limit} runs, oldest first. */
    private static List<JobRunView> newest(List<JobRunView> runs, int limit) {
        runs.sort(Comparator.comparing(JobRunView::startedAt));
        return runs.size() <= limit ? runs : new ArrayList<>(runs.subList(runs.size() - limit, runs.size()));
    }

    /**
     * The download list, newest first, at most {@code limit} rows; optionally for one target, one job, one
     * instruction id.
     */
    public List<InstructionView> instructions(String target, String job, String id, int limit, boolean local) {
        Comparator<InstructionView> newestFirst = Comparator.comparing((InstructionView v) -> v.postedAt() != null
                ? v.postedAt() : java.util.Objects.requireNonNullElse(v.appliedAt(), Instant.EPOCH)).reversed();
        PriorityQueue<InstructionView> top = new PriorityQueue<>(newestFirst.reversed());
        java.util.function.Consumer<InstructionView> keep = v -> {
            if ((job == null || job.equals(v.object())) && (id == null || id.equals(v.instructionId()))) {
                top.add(v);
                if (top.size() > limit) {
                    top.poll();
                }
            }
        };
        boolean here = target == null ? here(MasterTopology.DOWNLOADS_STORE)
                : local || owner(MasterTopology.DOWNLOADS_STORE, target).equals(self);
        if (here) {
            if (id != null && target != null) {
                InstructionView v = Downloads.find(store(MasterTopology.DOWNLOADS_STORE),
                        store(MasterTopology.DOWNLOAD_INDEX_STORE), id);
                if (v != null && v.target().equals(target)) {
                    keep.accept(v);
                }
            } else {
                Downloads.scan(store(MasterTopology.DOWNLOADS_STORE), target, keep);
            }
        }
        if (!local) {
            List<HostInfo> asked = target == null ? others(MasterTopology.DOWNLOADS_STORE)
                    : here ? List.of() : List.of(owner(MasterTopology.DOWNLOADS_STORE, target));
            String query = "?scope=local&limit=" + limit + param("target", target) + param("job", job)
                    + param("id", id);
            for (HostInfo peer : asked) {
                peers.get(peer, "/instructions" + query, new TypeReference<List<InstructionView>>() { })
                        .ifPresent(rows -> rows.forEach(keep));
            }
        }
        List<InstructionView> rows = new ArrayList<>(top);
        rows.sort(newestFirst);
        return rows;
    }

    private static String param(String name, String value) {
        return value == null ? "" : "&" + name + "=" + encode(value);
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /**
     * The instance where a key of a store is active.
     *
     * @throws InvalidStateStoreException while no instance runs its partition (a rebalance): answered 503
     */
    private HostInfo owner(String store, String key) {
        KeyQueryMetadata metadata = streams.queryMetadataForKey(store, key, Serdes.String().serializer());
        if (metadata == null || metadata.activeHost() == null || metadata.activeHost().port() < 0) {
            throw new InvalidStateStoreException("no master instance runs the partition of '" + key + "' of store "
                    + store + " now (rebalancing)");
        }
        return metadata.activeHost();
    }

    /** The other instances running part of a store actively (standby-only instances cannot answer for it). */
    private List<HostInfo> others(String store) {
        return streams.streamsMetadataForStore(store).stream().filter(m -> m.stateStoreNames().contains(store))
                .map(StreamsMetadata::hostInfo).filter(h -> !h.equals(self)).distinct().toList();
    }

    /** Whether this instance runs part of a store actively. */
    private boolean here(String store) {
        return streams.streamsMetadataForStore(store).stream().anyMatch(m -> m.hostInfo().equals(self)
                && m.stateStoreNames().contains(store));
    }

}
