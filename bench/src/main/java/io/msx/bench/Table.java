package io.msx.bench;

import java.util.ArrayList;
import java.util.List;

/** A result table: each row a measurement, its baseline, msx, and the ratio msx / baseline. */
final class Table {

    private final List<String[]> rows = new ArrayList<>();

    void add(String measurement, String unit, double baseline, double msx) {
        rows.add(new String[] {measurement, String.format("%,.0f %s", baseline, unit),
            String.format("%,.0f %s", msx, unit), ratio(msx / baseline)});
    }

    private static String ratio(double r) {
        return r >= 0.1 ? String.format("%.2f", r) : String.format("%.4f", r);
    }

    /** A row where lower is better (latencies): the ratio is still msx / baseline. */
    void addRaw(String measurement, String baseline, String msx, double ratio) {
        rows.add(new String[] {measurement, baseline, msx, ratio(ratio)});
    }

    /** A row whose figures are text (a failure, say), the ratio too. */
    void addText(String measurement, String baseline, String msx, String ratio) {
        rows.add(new String[] {measurement, baseline, msx, ratio});
    }

    void print(String baselineName) {
        String[] header = {"measurement", baselineName, "msx", "msx/baseline"};
        int[] widths = new int[header.length];
        List<String[]> all = new ArrayList<>();
        all.add(header);
        all.addAll(rows);
        for (String[] row : all) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        for (String[] row : all) {
            StringBuilder line = new StringBuilder("| ");
            for (int i = 0; i < row.length; i++) {
                line.append(String.format("%-" + widths[i] + "s | ", row[i]));
            }
            System.out.println(line.toString().stripTrailing());
        }
    }
}
