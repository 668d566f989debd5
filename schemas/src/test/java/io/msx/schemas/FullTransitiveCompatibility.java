package io.msx.schemas;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;

import java.util.ArrayList;
import java.util.List;

/** FULL compatibility of two Avro schemas: each can read what the other wrote. */
final class FullTransitiveCompatibility {

    private FullTransitiveCompatibility() {
    }

    /** Problems found reading in both directions; empty when fully compatible. */
    static List<String> problems(Schema current, Schema previous) {
        List<String> problems = new ArrayList<>();
        check(current, previous, "new reader cannot read old data", problems);
        check(previous, current, "old reader cannot read new data", problems);
        return problems;
    }

    private static void check(Schema reader, Schema writer, String direction, List<String> problems) {
        SchemaCompatibility.SchemaPairCompatibility result =
                SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
        if (result.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
            result.getResult().getIncompatibilities().forEach(i -> problems.add(direction + ": " + i.getType()
                    + " at " + i.getLocation() + " (" + i.getMessage() + ")"));
        }
    }
}
