package io.msx.schemas;

import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Fails when the schemas in the working tree are not FULL compatible with every version committed before
 * (FULL_TRANSITIVE): new fields need defaults, union branches and enum symbols cannot be added or removed.
 */
class SchemaCompatibilityTest {

    /** Every schema this build writes: messages, compacted state, their shared records and the agent's store. */
    static List<Schema> current() {
        List<Schema> all = new ArrayList<>(MsxSchemas.ALL);
        for (MessageFamily family : MessageFamily.values()) {
            all.add(family.headerSchema());
        }
        all.add(io.msx.avro.state.StoredRun.getClassSchema());
        return all;
    }

    @Test
    void shouldStayFullTransitiveCompatibleWithEveryCommittedVersion() {
        // Outside a git checkout (a source archive) there is no history to compare with; inside one, history that
        // cannot be read is a failure, never a silent pass.
        assumeTrue(SchemaHistory.inGitCheckout(), "not a git checkout: no committed versions to compare with");
        SchemaHistory.requireReadableHistory();
        Map<String, Map<String, Schema>> history = SchemaHistory.committedVersions();
        assertThat(history).as("commits touching the schemas").isNotEmpty();
        List<String> problems = new ArrayList<>();
        int[] compared = {0};
        for (Schema current : current()) {
            history.forEach((commit, schemas) -> {
                Schema previous = schemas.get(current.getFullName());
                if (previous != null) {
                    compared[0]++;
                    FullTransitiveCompatibility.problems(current, previous).forEach(p ->
                            problems.add(current.getFullName() + " vs " + commit.substring(0, 8) + ": " + p));
                }
            });
        }
        assertThat(problems).as("schema changes breaking FULL_TRANSITIVE compatibility").isEmpty();
        assertThat(compared[0]).as("subject versions compared (JobDefinition and CommandResult exist since the "
                + "first schema commit)").isGreaterThanOrEqualTo(2);
    }

    @Test
    void shouldFlagAFieldAddedWithoutDefault() {
        Schema old = record("{\"name\":\"a\",\"type\":\"string\"}");
        Schema changed = record("{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"b\",\"type\":\"int\"}");
        assertThat(FullTransitiveCompatibility.problems(changed, old))
                .anySatisfy(p -> assertThat(p).startsWith("new reader cannot read old data"));
    }

    @Test
    void shouldFlagAUnionBranchAdded() {
        Schema old = record("{\"name\":\"a\",\"type\":[\"null\",\"string\"],\"default\":null}");
        Schema changed = record("{\"name\":\"a\",\"type\":[\"null\",\"string\",\"int\"],\"default\":null}");
        assertThat(FullTransitiveCompatibility.problems(changed, old))
                .anySatisfy(p -> assertThat(p).startsWith("old reader cannot read new data"));
    }

    @Test
    void shouldAcceptAnOptionalFieldWithDefault() {
        Schema old = record("{\"name\":\"a\",\"type\":\"string\"}");
        Schema changed = record("{\"name\":\"a\",\"type\":\"string\"},"
                + "{\"name\":\"b\",\"type\":[\"null\",\"string\"],\"default\":null}");
        assertThat(FullTransitiveCompatibility.problems(changed, old)).isEmpty();
    }

    @Test
    void shouldDocumentEveryField() {
        List<String> undocumented = new ArrayList<>();
        current().forEach(s -> collectUndocumented(s, undocumented, new java.util.HashSet<>()));
        assertThat(undocumented).as("fields and types without a doc").isEmpty();
    }

    private static void collectUndocumented(Schema schema, List<String> out, java.util.Set<String> seen) {
        switch (schema.getType()) {
            case RECORD -> {
                if (!seen.add(schema.getFullName())) {
                    return;
                }
                if (schema.getDoc() == null) {
                    out.add(schema.getFullName());
                }
                for (Schema.Field f : schema.getFields()) {
                    if (f.doc() == null || f.doc().isBlank()) {
                        out.add(schema.getFullName() + "." + f.name());
                    }
                    collectUndocumented(f.schema(), out, seen);
                }
            }
            case UNION -> schema.getTypes().forEach(t -> collectUndocumented(t, out, seen));
            case ARRAY -> collectUndocumented(schema.getElementType(), out, seen);
            case MAP -> collectUndocumented(schema.getValueType(), out, seen);
            case ENUM -> {
                if (seen.add(schema.getFullName()) && schema.getDoc() == null) {
                    out.add(schema.getFullName());
                }
            }
            default -> { }
        }
    }

    private static Schema record(String fields) {
        return new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"t\",\"fields\":[" + fields + "]}");
    }
}
