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

    @Test
    void shouldStayFullTransitiveCompatibleWithEveryCommittedVersion() {
        assumeTrue(SchemaHistory.available(), "not a git work tree: no committed versions to compare with");
        Map<String, Map<String, Schema>> history = SchemaHistory.committedVersions();
        List<String> problems = new ArrayList<>();
        for (Schema current : MsxSchemas.ALL) {
            history.forEach((commit, schemas) -> {
                Schema previous = schemas.get(current.getFullName());
                if (previous != null) {
                    FullTransitiveCompatibility.problems(current, previous).forEach(p ->
                            problems.add(current.getFullName() + " vs " + commit.substring(0, 8) + ": " + p));
                }
            });
        }
        assertThat(problems).as("schema changes breaking FULL_TRANSITIVE compatibility").isEmpty();
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
        MsxSchemas.ALL.forEach(s -> collectUndocumented(s, undocumented, new java.util.HashSet<>()));
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
