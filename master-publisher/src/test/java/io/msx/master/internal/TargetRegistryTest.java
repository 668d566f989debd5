package io.msx.master.internal;

import io.msx.avro.StatusHeader;
import io.msx.avro.status.AckStatus;
import io.msx.avro.status.CheckIn;
import io.msx.avro.status.CheckInTrigger;
import io.msx.avro.status.Enlist;
import io.msx.avro.status.InstructionAck;
import io.msx.master.TargetStatus;
import io.msx.master.TargetView;
import io.msx.local.ManualClock;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TargetRegistryTest {

    private final ManualClock clock = new ManualClock(Instant.parse("2026-11-25T10:00:00Z"));
    private final TargetRegistry registry = new TargetRegistry(clock);

    /** A status event: the body with its header set for {@code target} and {@code seq}, without an epoch. */
    private static SpecificRecord event(String target, long seq, SpecificRecord body) {
        return event(target, null, seq, body);
    }

    /** A status event of the installation {@code epoch}. */
    private static SpecificRecord event(String target, String epoch, long seq, SpecificRecord body) {
        body.put(0, StatusHeader.newBuilder().setTarget(target).setSeq(seq).setEpoch(epoch)
                .setOccurredAt(Instant.parse("2026-11-25T10:00:00Z")).build());
        return body;
    }

    private static final StatusHeader UNSET = StatusHeader.newBuilder().setTarget("-").setSeq(0)
            .setOccurredAt(Instant.EPOCH).build();

    private static Enlist enlist(int intervalSeconds) {
        return Enlist.newBuilder().setHeader(UNSET).setAgentVersion("1").setTimeZone("UTC")
                .setPollingIntervalSeconds(intervalSeconds).setCapabilities(List.of()).build();
    }

    private static CheckIn checkIn(CheckInTrigger trigger, Instant at, long spool) {
        return CheckIn.newBuilder().setHeader(UNSET).setTrigger(trigger).setLocalTime(at).setTimeZone("UTC")
                .setAgentVersion("1").setPollingIntervalSeconds(60).setSpoolDepth(spool).build();
    }

    @Test
    void shouldIgnoreReplayedSequenceNumbers() {
        registry.apply(event("T1", 1, enlist(60)));
        Instant first = Instant.parse("2026-11-25T10:00:01Z");
        assertThat(registry.apply(event("T1", 2, checkIn(CheckInTrigger.FORCED, first, 0)))).isTrue();
        assertThat(registry.apply(event("T1", 2, checkIn(CheckInTrigger.SCHEDULED, first.plusSeconds(9), 5))))
                .as("same seq again").isFalse();
        assertThat(registry.apply(event("T1", 1, enlist(30)))).as("older seq").isFalse();

        TargetView view = registry.view("T1").orElseThrow();
        assertThat(view.lastPoll()).isEqualTo(first);
        assertThat(view.lastPollTrigger()).isEqualTo("FORCED");
        assertThat(view.pollingIntervalSeconds()).isEqualTo(60);
        assertThat(view.lastSeq()).isEqualTo(2);
    }

    @Test
    void shouldSuspectATargetOfflineAfterThreeMissedPollsAndClearItOnTheNextCheckIn() {
        registry.apply(event("T1", 1, enlist(60)));
        registry.apply(event("T1", 2, checkIn(CheckInTrigger.STARTUP, clock.instant(), 0)));
        clock.advance(Duration.ofSeconds(180));
        assertThat(registry.view("T1").orElseThrow().status()).isEqualTo(TargetStatus.NORMAL);

        clock.advance(Duration.ofSeconds(1));
        assertThat(registry.view("T1").orElseThrow().status()).isEqualTo(TargetStatus.SUSPECTED_OFFLINE);

        registry.apply(event("T1", 3, checkIn(CheckInTrigger.FORCED, clock.instant(), 0)));
        assertThat(registry.view("T1").orElseThrow().status()).isEqualTo(TargetStatus.NORMAL);
    }

    @Test
    void shouldIgnoreEventsOfTargetsThatNeverEnlisted() {
        assertThat(registry.apply(event("ghost", 1, checkIn(CheckInTrigger.SCHEDULED, clock.instant(), 0)))).isFalse();
        assertThat(registry.names()).isEmpty();
    }

    @Test
    void shouldShowResyncPendingUntilTheLastInstructionIsAcknowledgedAndBlockedWhileTheSpoolIsFull() {
        registry.apply(event("T1", 1, enlist(60)));
        registry.apply(event("T1", 2, checkIn(CheckInTrigger.STARTUP, clock.instant(), 0)));
        java.util.UUID last = java.util.UUID.randomUUID();
        registry.resyncPosted("T1", last.toString());
        assertThat(registry.view("T1").orElseThrow().status()).isEqualTo(TargetStatus.RESYNC_PENDING);

        registry.apply(event("T1", 3, InstructionAck.newBuilder().setHeader(UNSET).setInstructionId(last)
                .setOffset(4).setStatus(AckStatus.APPLIED).setAppliedAt(clock.instant()).build()));
        assertThat(registry.view("T1").orElseThrow().status()).isEqualTo(TargetStatus.NORMAL);

        registry.apply(event("T1", 4, CheckIn.newBuilder(checkIn(CheckInTrigger.SCHEDULED, clock.instant(), 900))
                .setSpoolFull(true).build()));
        assertThat(registry.view("T1").orElseThrow().status()).isEqualTo(TargetStatus.BLOCKED);
    }

    @Test
    void shouldRefuseTargetNamesThatCannotBeTopicNames() {
        assertThatThrownBy(() -> registry.apply(event("C_1", 1, enlist(60))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("would collide with 'C.1'");
        assertThatThrownBy(() -> registry.preRegister("T1.dlq", null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dead-letter");
        assertThat(registry.names()).isEmpty();
    }

    @Test
    void shouldForgetOnlyPreRegisteredTargetsThatKafkaDoesNotHold() {
        registry.apply(event("T1", 1, enlist(60)));
        registry.preRegister("T2", "rack-2");
        registry.preRegister("T3", "rack-3");

        registry.forgetUnregistered(java.util.Set.of("T3"));

        assertThat(registry.names()).as("T1 enlisted itself, T3 is registered").containsExactly("T1", "T3");
    }

    @Test
    void shouldSwitchToANewInstallationWhenItEnlistsAndIgnoreTheOldOnesEventsAfterwards() {
        registry.apply(event("T1", "old", 1, enlist(60)));
        registry.apply(event("T1", "old", 1000, checkIn(CheckInTrigger.SCHEDULED, clock.instant(), 0)));

        assertThat(registry.apply(event("T1", "new", 1, enlist(30)))).as("reinstalled T1 enlists").isTrue();
        Instant polled = clock.instant().plusSeconds(5);
        assertThat(registry.apply(event("T1", "new", 2, checkIn(CheckInTrigger.STARTUP, polled, 0)))).isTrue();
        assertThat(registry.apply(event("T1", "new", 3, checkIn(CheckInTrigger.FORCED, polled.plusSeconds(1), 0))))
                .isTrue();
        assertThat(registry.apply(event("T1", "old", 1001, checkIn(CheckInTrigger.SCHEDULED, polled.plusSeconds(9),
                7)))).as("the old installation's event after the switch").isFalse();

        TargetView view = registry.view("T1").orElseThrow();
        assertThat(view.epoch()).isEqualTo("new");
        assertThat(view.lastSeq()).isEqualTo(3);
        assertThat(view.lastPoll()).isEqualTo(polled.plusSeconds(1));
        assertThat(view.lastPollTrigger()).isEqualTo("FORCED");
        assertThat(view.spoolDepth()).isZero();
        assertThat(view.staleEvents()).isEqualTo(1);
    }

    @Test
    void shouldTreatAMissingEpochAsItsOwnInstallation() {
        registry.apply(event("T1", null, 1, enlist(60)));
        registry.apply(event("T1", null, 50, checkIn(CheckInTrigger.SCHEDULED, clock.instant(), 0)));

        assertThat(registry.apply(event("T1", "e1", 1, enlist(60)))).as("upgraded agent with an epoch").isTrue();
        assertThat(registry.apply(event("T1", null, 51, checkIn(CheckInTrigger.SCHEDULED, clock.instant(), 0))))
                .isFalse();
        assertThat(registry.view("T1").orElseThrow().epoch()).isEqualTo("e1");
    }

    @Test
    void shouldAcceptAnUpgradedStoreWhoseFirstEpochKeepsCountingFromItsOldSeq() {
        long old = 3 * TargetRegistry.MAX_SEQ_JUMP;
        registry.apply(event("T1", null, old, enlist(60))); // the first event seen is taken as it is

        assertThat(registry.apply(event("T1", "e1", old + 1, enlist(60)))).as("same store, now with an epoch").isTrue();
        assertThat(registry.apply(event("T1", "e1", old + 2, checkIn(CheckInTrigger.SCHEDULED, clock.instant(), 0))))
                .isTrue();
        assertThat(registry.view("T1").orElseThrow().epoch()).isEqualTo("e1");
    }

    @Test
    void shouldAcceptARestoredInstallationWhoseSeqIsBelowTheLastOneSeen() {
        long last = 3 * TargetRegistry.MAX_SEQ_JUMP;
        registry.apply(event("T1", "e1", last, enlist(60)));

        assertThat(registry.apply(event("T1", "e2", last - 1000, enlist(60)))).as("restored from a backup").isTrue();
        assertThat(registry.apply(event("T1", "e2", last - 999, checkIn(CheckInTrigger.SCHEDULED, clock.instant(),
                0)))).isTrue();
        assertThat(registry.view("T1").orElseThrow().epoch()).isEqualTo("e2");
    }

    @Test
    void shouldRefuseAnImplausibleSeqJumpWithoutAdvancingTheSeq() {
        registry.apply(event("T1", "e1", 1, enlist(60)));
        registry.apply(event("T1", "e1", 5, checkIn(CheckInTrigger.SCHEDULED, clock.instant(), 0)));

        assertThatThrownBy(() -> registry.apply(event("T1", "e1", Long.MAX_VALUE,
                checkIn(CheckInTrigger.FORCED, clock.instant(), 0))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("target T1")
                .hasMessageContaining("refused as forged or corrupt");
        assertThatThrownBy(() -> registry.apply(event("T1", "e2", 5 + TargetRegistry.MAX_SEQ_JUMP + 1, enlist(60))))
                .as("a new installation counts from 1, or on from the last seq of the one it replaces")
                .isInstanceOf(IllegalArgumentException.class);

        assertThat(registry.apply(event("T1", "e1", 6, checkIn(CheckInTrigger.FORCED, clock.instant(), 0)))).isTrue();
        assertThat(registry.apply(event("T1", "e1", 6 + TargetRegistry.MAX_SEQ_JUMP,
                checkIn(CheckInTrigger.SCHEDULED, clock.instant(), 0)))).as("the largest plausible jump").isTrue();
        TargetView view = registry.view("T1").orElseThrow();
        assertThat(view.epoch()).isEqualTo("e1");
        assertThat(view.lastSeq()).isEqualTo(6 + TargetRegistry.MAX_SEQ_JUMP);
    }

    @Test
    void shouldBeResyncPendingWhileTheTargetAsksAndClaimTheResyncOncePerThreePollingIntervals() {
        registry.apply(event("T1", "e1", 1, enlist(60)));
        registry.apply(event("T1", "e1", 2, asking(clock.instant())));
        TargetView view = registry.view("T1").orElseThrow();
        assertThat(view.status()).isEqualTo(TargetStatus.RESYNC_PENDING);
        assertThat(view.resyncReason()).isEqualTo("new installation");
        assertThat(view.instructionsLost()).isEqualTo(4);

        assertThat(registry.claimRequestedResync("T1")).isTrue();
        clock.advance(Duration.ofSeconds(179));
        registry.apply(event("T1", "e1", 3, asking(clock.instant())));
        assertThat(registry.claimRequestedResync("T1")).as("within 3 polling intervals").isFalse();
        clock.advance(Duration.ofSeconds(1));
        assertThat(registry.claimRequestedResync("T1")).as("still asking after 3 polling intervals").isTrue();

        registry.apply(event("T1", "e1", 4, checkIn(CheckInTrigger.SCHEDULED, clock.instant(), 0)));
        assertThat(registry.view("T1").orElseThrow().status()).isEqualTo(TargetStatus.NORMAL);
        clock.advance(Duration.ofMinutes(10));
        assertThat(registry.claimRequestedResync("T1")).as("no longer asking").isFalse();
    }

    @Test
    void shouldNotClaimAResyncRightAfterOnePosted() {
        registry.apply(event("T1", "e1", 1, enlist(60)));
        registry.resyncPosted("T1", java.util.UUID.randomUUID().toString());
        registry.apply(event("T1", "e1", 2, asking(clock.instant())));

        assertThat(registry.claimRequestedResync("T1")).isFalse();
    }

    private static CheckIn asking(Instant at) {
        return CheckIn.newBuilder(checkIn(CheckInTrigger.SCHEDULED, at, 0)).setResyncRequested(true)
                .setResyncReason("new installation").setInstructionsLost(4).build();
    }
}
