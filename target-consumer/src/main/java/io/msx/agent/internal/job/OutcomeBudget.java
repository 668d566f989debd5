package io.msx.agent.internal.job;

import io.msx.avro.StatusHeader;
import io.msx.avro.status.JobOutcome;
import io.msx.avro.status.RunStatus;
import io.msx.avro.status.StepOutcome;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Keeps a {@link JobOutcome} under a byte budget, so that one status event never comes near Kafka's request size
 * (1 MiB) and blocks the target's status relay. The size is Avro's binary encoding of the outcome with a worst-case
 * {@link StatusHeader} (longest target name, largest sequence number and time, a 64-character epoch): the header the
 * reporter sets later can only be smaller.
 *
 * <p>An outcome over the budget is cut in this order, stopping as soon as it fits:
 * <ol>
 *   <li>messages (of the run and of each attempt) longer than {@value #MAX_MESSAGE_CHARS} characters are cut, marked
 *       {@code [msx: message truncated]};</li>
 *   <li>outputs are cut fairly: every attempt keeps its output up to one common length, chosen as large as the budget
 *       allows (short outputs are kept whole, long ones cut to that length), each cut output ending with
 *       {@code [msx: output truncated, N more bytes dropped]} (N counts what the capture dropped too) and marked
 *       {@code outputTruncated};</li>
 *   <li>every output is dropped (empty, {@code outputTruncated} true) and messages are cut to
 *       {@value #SHORT_MESSAGE_CHARS} characters;</li>
 *   <li>only when even the bare attempts do not fit (thousands of them): the first and the last attempts are kept, as
 *       many as fit, half from each end, and the middle ones are dropped; the run's message then ends with one
 *       {@code [msx: attempts #i to #j dropped ...]} summary naming the first and last dropped attempt (step and
 *       attempt number), their count and how many of them failed. No invented step entry stands for them, so every
 *       {@link StepOutcome} kept is a real attempt.</li>
 * </ol>
 * Up to the last stage every attempt keeps its step id, attempt number, status and exit code (and its name and
 * times). An outcome within the budget is returned unchanged.
 *
 * <p>Stateless and thread-safe; the builders passed in are changed in place.
 */
public final class OutcomeBudget {

    /** Budget of one outcome unless configured: a quarter of Kafka's default request size. */
    public static final int DEFAULT_MAX_BYTES = 256 * 1024;
    /** Smallest budget accepted: room for the run's fields and a few bare attempts. */
    public static final int MIN_MAX_BYTES = 16 * 1024;
    static final int MAX_MESSAGE_CHARS = 2_000;
    static final int SHORT_MESSAGE_CHARS = 200;
    static final String MESSAGE_MARK = " [msx: message truncated]";

    private static final Pattern OUTPUT_MARK = Pattern.compile("\n?\\[msx: output truncated, (\\d+) more bytes "
            + "dropped]$");
    /** Longest marker: a 19-digit count, plus the string length's own varint growth. */
    private static final int MARKER_BYTES_MAX = marker(Long.MAX_VALUE).getBytes(StandardCharsets.UTF_8).length + 3;
    private static final StatusHeader WORST_HEADER = StatusHeader.newBuilder().setTarget("x".repeat(100))
            .setSeq(Long.MAX_VALUE).setOccurredAt(Instant.ofEpochMilli(Long.MAX_VALUE)).setEpoch("x".repeat(64))
            .build();

    private OutcomeBudget() {
    }

    /** The text that ends a cut output. */
    public static String marker(long droppedBytes) {
        return "\n[msx: output truncated, " + droppedBytes + " more bytes dropped]";
    }

    /** Encoded size of the outcome with the largest header a reporter may give it. */
    public static int encodedSize(JobOutcome.Builder outcome) {
        StatusHeader header = outcome.hasHeader() ? outcome.getHeader() : null;
        outcome.setHeader(WORST_HEADER);
        try {
            return encode(new SpecificDatumWriter<>(JobOutcome.class), outcome.build());
        } finally {
            if (header == null) {
                outcome.clearHeader();
            } else {
                outcome.setHeader(header);
            }
        }
    }

    /**
     * Cuts the outcome until {@link #encodedSize} is at most {@code maxBytes}, as the class comment says.
     *
     * @return {@code outcome}, changed in place
     */
    public static JobOutcome.Builder fit(JobOutcome.Builder outcome, int maxBytes) {
        if (!trimAttempts(outcome, maxBytes)) {
            dropMiddle(outcome, outcome.getSteps(), maxBytes);
        }
        return outcome;
    }

    /**
     * The first three stages of {@link #fit}: cuts messages and outputs, keeps every attempt.
     *
     * @return whether the outcome now fits
     */
    static boolean trimAttempts(JobOutcome.Builder outcome, int maxBytes) {
        if (encodedSize(outcome) <= maxBytes) {
            return true;
        }
        List<StepOutcome.Builder> steps = new ArrayList<>(outcome.getSteps().size());
        outcome.getSteps().forEach(s -> steps.add(StepOutcome.newBuilder(s)));
        outcome.setMessage(cut(outcome.getMessage(), MAX_MESSAGE_CHARS));
        steps.forEach(s -> s.setMessage(cut(s.getMessage(), MAX_MESSAGE_CHARS)));
        if (size(outcome, steps) <= maxBytes || cutOutputs(outcome, steps, maxBytes)) {
            return true;
        }
        for (StepOutcome.Builder s : steps) {
            if (!s.getOutput().isEmpty()) {
                s.setOutput("");
                s.setOutputTruncated(true);
            }
            s.setMessage(cut(s.getMessage(), SHORT_MESSAGE_CHARS));
        }
        return size(outcome, steps) <= maxBytes;
    }

    /** Sets the outcome's attempts and measures it. */
    private static int size(JobOutcome.Builder outcome, List<StepOutcome.Builder> steps) {
        outcome.setSteps(steps.stream().map(StepOutcome.Builder::build).toList());
        return encodedSize(outcome);
    }

    /** Cuts every output to one common length; false when even empty outputs with markers do not fit. */
    private static boolean cutOutputs(JobOutcome.Builder outcome, List<StepOutcome.Builder> steps, int maxBytes) {
        int n = steps.size();
        byte[][] texts = new byte[n][];
        long[] dropped = new long[n];
        long[] full = new long[n];
        for (int i = 0; i < n; i++) {
            String output = steps.get(i).getOutput();
            full[i] = utf8Length(output);
            Matcher mark = OUTPUT_MARK.matcher(output);
            if (mark.find()) {
                dropped[i] = Long.parseLong(mark.group(1));
                output = output.substring(0, mark.start());
            }
            texts[i] = output.getBytes(StandardCharsets.UTF_8);
        }
        List<String> outputs = steps.stream().map(StepOutcome.Builder::getOutput).toList();
        steps.forEach(s -> s.setOutput(""));
        long base = size(outcome, steps);
        for (int i = 0; i < n; i++) {
            steps.get(i).setOutput(outputs.get(i));
        }
        // the largest common length whose upper bound of the encoded size fits
        int low = -1;
        int high = 0;
        for (byte[] text : texts) {
            high = Math.max(high, text.length);
        }
        while (low < high) {
            int mid = (int) (((long) low + high + 1) / 2);
            if (bound(base, full, texts, mid) <= maxBytes) {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        if (low < 0) {
            size(outcome, steps);
            return false;
        }
        for (int i = 0; i < n; i++) {
            if (full[i] > low) {
                int cut = utf8Boundary(texts[i], Math.min(low, texts[i].length));
                StepOutcome.Builder s = steps.get(i);
                s.setOutput(new String(texts[i], 0, cut, StandardCharsets.UTF_8)
                        + marker(dropped[i] + texts[i].length - cut));
                s.setOutputTruncated(true);
            }
        }
        return size(outcome, steps) <= maxBytes;
    }

    /** Upper bound of the encoded size with outputs cut to {@code length} bytes (0: each cut output a marker only). */
    private static long bound(long base, long[] full, byte[][] texts, int length) {
        long total = base;
        for (int i = 0; i < full.length; i++) {
            // the empty output counted in base is one byte (its length, 0)
            total += full[i] <= length ? full[i] + varintLength(full[i]) - 1
                    : Math.min(length, texts[i].length) + MARKER_BYTES_MAX;
        }
        return total;
    }

    /** Keeps the first and last attempts that fit, drops the middle ones and says so in the run's message. */
    private static void dropMiddle(JobOutcome.Builder outcome, List<StepOutcome> steps, int maxBytes) {
        String message = outcome.getMessage();
        int n = steps.size();
        if (n == 0) {
            return;
        }
        SpecificDatumWriter<StepOutcome> writer = new SpecificDatumWriter<>(StepOutcome.class);
        int[] sizes = new int[n];
        for (int i = 0; i < n; i++) {
            sizes[i] = encode(writer, steps.get(i));
        }
        // the summary at its longest (every number of 10 digits) stands in while the attempts kept are chosen
        long x = Integer.MAX_VALUE;
        outcome.setSteps(List.of());
        outcome.setMessage(withSummary(message, summary(x, x, x, x, x, x, x, x, maxBytes)));
        long room = maxBytes - encodedSize(outcome) - 10L; // the array's block count
        int head = 0;
        int tail = 0;
        boolean fromHead = true;
        while (head + tail < n) {
            int next = fromHead ? sizes[head] : sizes[n - 1 - tail];
            if (next > room) {
                break;
            }
            room -= next;
            if (fromHead) {
                head++;
            } else {
                tail++;
            }
            fromHead = !fromHead;
        }
        if (head + tail == n) {
            outcome.setSteps(steps);
            outcome.setMessage(message);
            return;
        }
        List<StepOutcome> kept = new ArrayList<>(steps.subList(0, head));
        kept.addAll(steps.subList(n - tail, n));
        List<StepOutcome> dropped = steps.subList(head, n - tail);
        long failed = dropped.stream()
                .filter(s -> s.getStatus() == RunStatus.FAILED || s.getStatus() == RunStatus.RETRY).count();
        StepOutcome first = dropped.get(0);
        StepOutcome last = dropped.get(dropped.size() - 1);
        outcome.setSteps(kept);
        outcome.setMessage(withSummary(message, summary(head + 1, n - tail, first.getStepId(), first.getAttempt(),
                last.getStepId(), last.getAttempt(), dropped.size(), failed, maxBytes)));
    }

    private static String summary(long first, long last, long firstStep, long firstAttempt, long lastStep,
                                  long lastAttempt, long count, long failed, int maxBytes) {
        return "[msx: attempts #" + first + " (step " + firstStep + " attempt " + firstAttempt + ") to #" + last
                + " (step " + lastStep + " attempt " + lastAttempt + ") dropped to keep the outcome within "
                + maxBytes + " bytes: " + count + " attempts, " + failed + " of them failed (FAILED or RETRY)]";
    }

    private static String withSummary(String message, String summary) {
        return message == null || message.isEmpty() ? summary : message + " " + summary;
    }

    private static String cut(String message, int maxChars) {
        if (message == null || message.length() <= maxChars) {
            return message;
        }
        int end = Character.isHighSurrogate(message.charAt(maxChars - 1)) ? maxChars - 1 : maxChars;
        return message.substring(0, end) + MESSAGE_MARK;
    }

    /** The largest index at most {@code length} that does not split a UTF-8 sequence. */
    private static int utf8Boundary(byte[] text, int length) {
        int cut = length;
        while (cut > 0 && cut < text.length && (text[cut] & 0xC0) == 0x80) {
            cut--;
        }
        return cut;
    }

    private static long utf8Length(String s) {
        long bytes = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                bytes++;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length()
                    && Character.isLowSurrogate(s.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    private static int varintLength(long value) {
        long zigzag = (value << 1) ^ (value >> 63);
        int length = 1;
        while ((zigzag & ~0x7FL) != 0) {
            zigzag >>>= 7;
            length++;
        }
        return length;
    }

    private static <T> int encode(SpecificDatumWriter<T> writer, T record) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
        try {
            writer.write(record, encoder);
            encoder.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + record.getClass().getSimpleName(), e);
        }
        return out.size();
    }
}
