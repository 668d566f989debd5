package io.msx.master;

import java.time.Instant;
import java.util.List;

/**
 * One row of the master's target table, as served by {@code GET /targets} and shown by {@code msx target list}.
 *
 * @param name target name
 * @param status health, judged on the master's clock
 * @param location where the target is
 * @param groups target groups it belongs to
 * @param agentVersion msx agent version it reported
 * @param timeZone IANA zone of its local time
 * @param pollingIntervalSeconds interval it reported
 * @param enlistedAt when it (last) enlisted, target clock
 * @param lastPoll time of its last check-in, target clock; null before the first
 * @param lastPollReceivedAt when the master received that check-in, master clock
 * @param lastPollTrigger SCHEDULED, FORCED or STARTUP
 * @param lastAnsweredInstructionId the force-poll instruction its last forced check-in answered
 * @param spoolDepth status events waiting in its spool at the last check-in
 * @param spoolFull its spool refused status events (was full) since the check-in before the last
 * @param clockOffsetMillis target clock minus master clock at the last clock sync; null before one
 * @param unreadInstructions instructions posted to it that it has not applied (consumer lag); null when unknown
 * @param lastSeq highest status sequence number seen from its current installation
 * @param epoch id of its current installation (created with its local store); "" from agents that send none, null
 *              before its first event
 * @param staleEvents events ignored since the master started because they came from another installation than the
 *                    current one (a replay of an earlier one, or a clone using the same name)
 * @param resyncReason why it asks for a resync in its last check-in; null when it does not ask
 * @param instructionsLost instructions that expired from its topic before it read them, since its store was created
 * @param deadLetteredEvents status events Kafka refused for good, kept in its local dead-letter store
 * @param undecodableInstructions records on its topic it could not read, acknowledged FAILED and dead-lettered
 * @param keyFingerprint the fingerprint of its accepted status-signing key, or null before one is accepted
 * @param presentedKeyFingerprint the fingerprint of the key it presented last; differs from keyFingerprint while
 *                   PENDING
 * @param spoolOldestAgeMillis age of the oldest event in its spool at the last check-in; null when the spool was
 *                   empty or the agent did not say
 */
public record TargetView(String name, TargetStatus status, String location, List<String> groups, String agentVersion, String timeZone,
                         int pollingIntervalSeconds, Instant enlistedAt, Instant lastPoll, Instant lastPollReceivedAt,
                         String lastPollTrigger, String lastAnsweredInstructionId, long spoolDepth,
                         boolean spoolFull, Long clockOffsetMillis, Long unreadInstructions, long lastSeq,
                         String epoch, long staleEvents, String resyncReason, long instructionsLost,
                         long deadLetteredEvents, long undecodableInstructions, String keyFingerprint,
                         String presentedKeyFingerprint, Long spoolOldestAgeMillis) {

    public TargetView withUnreadInstructions(Long unread) {
        return new TargetView(name, status, location, groups, agentVersion, timeZone, pollingIntervalSeconds, enlistedAt,
                lastPoll, lastPollReceivedAt, lastPollTrigger, lastAnsweredInstructionId, spoolDepth, spoolFull,
                clockOffsetMillis, unread, lastSeq, epoch, staleEvents, resyncReason, instructionsLost,
                deadLetteredEvents, undecodableInstructions, keyFingerprint, presentedKeyFingerprint,
                spoolOldestAgeMillis);
    }
}
