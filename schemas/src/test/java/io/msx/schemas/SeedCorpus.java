package io.msx.schemas;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Writes the committed seed corpus of {@link MsxCodecFuzzTest}: one small valid record of every msx message type (ids
 * as {@link InMemorySchemaRegistry#withMsxSchemas()} gives them), and the forged records the issue describes.
 * Run once after adding a type: {@code java -cp <test classpath> io.msx.schemas.SeedCorpus <corpus dir>}.
 */
public final class SeedCorpus {

    private SeedCorpus() {
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        InMemorySchemaRegistry registry = InMemorySchemaRegistry.withMsxSchemas();
        java.util.List<Schema> schemas = new java.util.ArrayList<>();
        for (MessageFamily family : MessageFamily.values()) {
            schemas.addAll(family.schemas());
        }
        for (Schema v2 : V2Schemas.load().values()) {
            registry.register(v2.getFullName(), v2); // as MsxCodecFuzzTest registers them, in the same order
            schemas.add(v2);
        }
        MsxCodec codec = MsxCodec.of(registry, false);
        {
            for (Schema schema : schemas) {
                byte[] valid = codec.encode((GenericRecord) sample(schema));
                String name = (V2Schemas.load().containsValue(schema) ? "v2-" : "") + schema.getName();
                Files.write(dir.resolve("valid-" + name), valid);
                // the attack of the issue: a valid header, then an array count of about 2^31
                byte[] forged = Arrays.copyOf(valid, valid.length + 5);
                System.arraycopy(new byte[] {(byte) 0xF0, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x0F}, 0, forged,
                        valid.length, 5);
                Files.write(dir.resolve("forged-count-" + name), forged);
            }
        }
        Files.write(dir.resolve("empty"), new byte[0]);
        Files.write(dir.resolve("header-only"), new byte[] {0, 0, 0, 0, 1});
    }

    /** A small value of every field: one item per array and map, the non-null branch of every union. */
    static Object sample(Schema schema) {
        switch (schema.getType()) {
            case RECORD -> {
                GenericRecord record = new GenericData.Record(schema);
                schema.getFields().forEach(f -> record.put(f.name(), sample(f.schema())));
                return record;
            }
            case UNION -> {
                List<Schema> types = schema.getTypes();
                return sample(types.get(types.size() - 1));
            }
            case ARRAY -> {
                return List.of(sample(schema.getElementType()));
            }
            case MAP -> {
                return Map.of("k", sample(schema.getValueType()));
            }
            case ENUM -> {
                return new GenericData.EnumSymbol(schema, schema.getEnumSymbols().get(0));
            }
            case STRING -> {
                return "uuid".equals(schema.getProp("logicalType")) ? UUID.randomUUID().toString() : "T1";
            }
            case INT -> {
                return 1;
            }
            case LONG -> {
                return 1_700_000_000_000L;
            }
            case BOOLEAN -> {
                return true;
            }
            case DOUBLE -> {
                return 1.5;
            }
            default -> throw new IllegalArgumentException("no sample for " + schema.getType());
        }
    }
}
