package io.msx.master.internal.console;

import io.msx.master.TargetStatus;
import io.msx.master.TargetView;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class TargetRowsTest {

    private final List<TargetView> targets = List.of(
            ConsoleTest.target("db-2", "rack-2", TargetStatus.SUSPECTED_OFFLINE),
            ConsoleTest.target("db-1", "rack-1", TargetStatus.NORMAL),
            ConsoleTest.target("web-1", "dmz", TargetStatus.BLOCKED));

    @Test
    void shouldFilterByStatusAndTextAndSortByName() {
        assertThat(TargetRows.rows(targets, TargetRows.Query.ALL, Set.of()).stream().map(TargetRows.Row::name))
                .containsExactly("db-1", "db-2", "web-1");
        assertThat(TargetRows.rows(targets, TargetRows.Query.of("BLOCKED", null, null, null), Set.of()))
                .extracting(TargetRows.Row::name).containsExactly("web-1");
        assertThat(TargetRows.rows(targets, TargetRows.Query.of(null, null, "RACK", "status"), Set.of()))
                .extracting(TargetRows.Row::name).containsExactly("db-1", "db-2");
        assertThat(TargetRows.rows(targets, TargetRows.Query.of(null, "no-such-group", null, null), Set.of()))
                .isEmpty();
    }

    @Test
    void shouldWriteARowForPeople() {
        TargetRows.Row row = TargetRows.rows(targets, TargetRows.Query.of(null, null, "db-1", null), Set.of("db-1"))
                .get(0);

        assertThat(row.statusLabel()).isEqualTo("Normal");
        assertThat(row.skew()).isEqualTo("+1.250 s");
        assertThat(row.spool()).isEqualTo("3");
        assertThat(row.spoolOldest()).isEqualTo("4 s");
        assertThat(row.interval()).isEqualTo("60 s");
        assertThat(row.lastPoll()).isEqualTo("2030-01-31 01:59:55 UTC");
        assertThat(row.selected()).isTrue();
        assertThat(TargetRows.label(TargetStatus.RESYNC_PENDING)).isEqualTo("Re-sync pending");
        assertThat(TargetRows.Query.of(null, null, null, "evil").sort()).isEqualTo("name");
    }
}
