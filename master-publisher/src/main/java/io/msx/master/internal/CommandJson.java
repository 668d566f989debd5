package io.msx.master.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.msx.avro.CommandHeader;
import io.msx.schemas.MessageFamily;
import org.apache.avro.Conversions;
import org.apache.avro.JsonProperties;
import org.apache.avro.LogicalType;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.data.TimeConversions;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.io.JsonEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Commands as plain JSON, the body of {@code POST /commands}: {@code {"type": "ForcePoll", "command": {...}}} where
 * {@code type} is a command type of {@link MessageFamily#COMMAND} (simple or full name) and {@code command} holds its
 * fields by their Avro names as plain JSON: optional values as the value or null (no union wrappers), timestamps as
 * ISO-8601 text or epoch milliseconds, fields with a default may be left out, unknown fields are errors. The
 * {@code header} is never read: the server writes its own. Driven by the schemas, so every command type of this
 * build is accepted, and {@link #write} gives what {@link #read} takes.
 *
 * <p>Stateless and thread-safe.
 */
public final class CommandJson {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final Set<String> ENVELOPE = Set.of("type", "command");
    /** Generated classes with their logical types (UUIDs, instants), nested records included. */
    private static final SpecificData MODEL = new SpecificData();

    static {
        MODEL.addLogicalTypeConversion(new Conversions.UUIDConversion());
        MODEL.addLogicalTypeConversion(new TimeConversions.TimestampMillisConversion());
    }

    private CommandJson() {
    }

    /**
     * Builds the command a request body describes, around {@code header}.
     *
     * @throws IllegalArgumentException naming the field that is missing, unknown or of the wrong type
     */
    public static SpecificRecord read(JsonNode body, CommandHeader header) {
        if (body == null || !body.isObject()) {
            throw new IllegalArgumentException("the body must be a JSON object {\"type\": ..., \"command\": {...}}");
        }
        body.fieldNames().forEachRemaining(name -> {
            if (!ENVELOPE.contains(name)) {
                throw new IllegalArgumentException("unknown field '" + name + "' (the body has 'type' and "
                        + "'command')");
            }
        });
        JsonNode type = body.get("type");
        if (type == null || !type.isTextual()) {
            throw new IllegalArgumentException("'type' is required: one of " + typeNames());
        }
        String fullName = type.asText().contains(".") ? type.asText()
                : MessageFamily.COMMAND.namespace() + "." + type.asText();
        Class<? extends SpecificRecord> recordClass = MessageFamily.COMMAND.type(fullName).orElseThrow(() ->
                new IllegalArgumentException("unknown command type '" + type.asText() + "': one of " + typeNames()));
        Schema schema = SpecificData.get().getSchema(recordClass);
        JsonNode command = body.has("command") ? body.get("command") : NODES.objectNode();
        if (!command.isObject()) {
            throw new IllegalArgumentException("'command' must be a JSON object with the fields of "
                    + schema.getName());
        }
        ObjectNode fields = ((ObjectNode) command).deepCopy();
        fields.remove(MessageFamily.HEADER_FIELD); // never the caller's: the server writes the header
        JsonNode avroJson = toAvro(fields, schema, "command", true);
        SpecificRecord record;
        try {
            SpecificDatumReader<SpecificRecord> reader = new SpecificDatumReader<>(schema, schema, MODEL);
            record = reader.read(null, DecoderFactory.get().jsonDecoder(schema, JSON.writeValueAsString(avroJson)));
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("command is not a valid " + schema.getName() + ": " + e.getMessage());
        }
        record.put(schema.getField(MessageFamily.HEADER_FIELD).pos(), header);
        return record;
    }

    /** The body {@link #read} takes for {@code command} (its header left out). */
    public static ObjectNode write(SpecificRecord command) {
        Schema schema = command.getSchema();
        MessageFamily.COMMAND.header(command); // refuses what is not a command
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            JsonEncoder encoder = EncoderFactory.get().jsonEncoder(schema, out);
            new SpecificDatumWriter<SpecificRecord>(schema, MODEL).write(command, encoder);
            encoder.flush();
            ObjectNode plain = (ObjectNode) toPlain(JSON.readTree(out.toByteArray()), schema);
            plain.remove(MessageFamily.HEADER_FIELD);
            ObjectNode body = NODES.objectNode();
            body.put("type", schema.getName());
            body.set("command", plain);
            return body;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + schema.getName() + " as JSON", e);
        }
    }

    private static List<String> typeNames() {
        return MessageFamily.COMMAND.types().stream().map(Class::getSimpleName).toList();
    }

    /** Plain JSON to Avro's JSON encoding: defaults filled in, unions wrapped, timestamps as epoch millis. */
    private static JsonNode toAvro(JsonNode value, Schema schema, String path, boolean topLevel) {
        switch (schema.getType()) {
            case RECORD -> {
                if (!value.isObject()) {
                    throw wrong(path, "an object (" + schema.getName() + ")", value);
                }
                ObjectNode out = NODES.objectNode();
                for (Iterator<String> names = value.fieldNames(); names.hasNext(); ) {
                    String name = names.next();
                    if (schema.getField(name) == null) {
                        throw new IllegalArgumentException(path + "." + name + ": unknown field of "
                                + schema.getName() + " (known: " + schema.getFields().stream()
                                .map(Schema.Field::name).filter(n -> !topLevel || !n.equals(MessageFamily.HEADER_FIELD))
                                .toList() + ")");
                    }
                }
                for (Schema.Field field : schema.getFields()) {
                    String fieldPath = path + "." + field.name();
                    JsonNode given = value.get(field.name());
                    if (topLevel && field.name().equals(MessageFamily.HEADER_FIELD)) {
                        out.set(field.name(), placeholderHeader());
                    } else if (given != null) {
                        out.set(field.name(), toAvro(given, field.schema(), fieldPath, false));
                    } else if (field.hasDefaultValue()) {
                        out.set(field.name(), toAvro(defaultOf(field), field.schema(), fieldPath, false));
                    } else {
                        throw new IllegalArgumentException(fieldPath + ": required");
                    }
                }
                return out;
            }
            case UNION -> {
                if (value.isNull()) {
                    if (schema.getTypes().stream().anyMatch(s -> s.getType() == Schema.Type.NULL)) {
                        return NullNode.getInstance();
                    }
                    throw new IllegalArgumentException(path + ": must not be null");
                }
                for (Schema branch : schema.getTypes()) {
                    if (branch.getType() != Schema.Type.NULL && fits(value, branch)) {
                        ObjectNode wrapped = NODES.objectNode();
                        wrapped.set(branchName(branch), toAvro(value, branch, path, false));
                        return wrapped;
                    }
                }
                throw wrong(path, "one of " + schema.getTypes().stream().map(CommandJson::branchName).toList(),
                        value);
            }
            case ARRAY -> {
                if (!value.isArray()) {
                    throw wrong(path, "an array", value);
                }
                ArrayNode out = NODES.arrayNode();
                for (int i = 0; i < value.size(); i++) {
                    out.add(toAvro(value.get(i), schema.getElementType(), path + "[" + i + "]", false));
                }
                return out;
            }
            case MAP -> {
                if (!value.isObject()) {
                    throw wrong(path, "an object (map)", value);
                }
                ObjectNode out = NODES.objectNode();
                value.properties().forEach(e -> out.set(e.getKey(), toAvro(e.getValue(), schema.getValueType(),
                        path + "." + e.getKey(), false)));
                return out;
            }
            case ENUM -> {
                if (!value.isTextual() || !schema.getEnumSymbols().contains(value.asText())) {
                    throw wrong(path, "one of " + schema.getEnumSymbols(), value);
                }
                return value;
            }
            case STRING -> {
                if (!value.isTextual()) {
                    throw wrong(path, "a string", value);
                }
                if (schema.getLogicalType() instanceof LogicalTypes.Uuid) {
                    try {
                        UUID.fromString(value.asText());
                    } catch (IllegalArgumentException e) {
                        throw wrong(path, "a UUID", value);
                    }
                }
                return value;
            }
            case INT -> {
                if (!value.isIntegralNumber() || !value.canConvertToInt()) {
                    throw wrong(path, "an integer", value);
                }
                return value;
            }
            case LONG -> {
                if (isTimestamp(schema.getLogicalType()) && value.isTextual()) {
                    try {
                        return LongNode.valueOf(Instant.parse(value.asText()).toEpochMilli());
                    } catch (DateTimeParseException e) {
                        throw wrong(path, "an ISO-8601 instant (2030-01-31T02:00:00Z) or epoch milliseconds", value);
                    }
                }
                if (!value.isIntegralNumber() || !value.canConvertToLong()) {
                    throw wrong(path, isTimestamp(schema.getLogicalType()) ? "an ISO-8601 instant or epoch "
                            + "milliseconds" : "an integer", value);
                }
                return value;
            }
            case FLOAT, DOUBLE -> {
                if (!value.isNumber()) {
                    throw wrong(path, "a number", value);
                }
                return value;
            }
            case BOOLEAN -> {
                if (!value.isBoolean()) {
                    throw wrong(path, "true or false", value);
                }
                return value;
            }
            case NULL -> {
                if (!value.isNull()) {
                    throw wrong(path, "null", value);
                }
                return value;
            }
            default -> throw new IllegalArgumentException(path + ": " + schema.getType() + " fields are not "
                    + "supported over JSON");
        }
    }

    /** Avro's JSON encoding back to plain JSON: unions unwrapped, timestamps as ISO-8601. */
    private static JsonNode toPlain(JsonNode value, Schema schema) {
        switch (schema.getType()) {
            case RECORD -> {
                ObjectNode out = NODES.objectNode();
                for (Schema.Field field : schema.getFields()) {
                    out.set(field.name(), toPlain(value.get(field.name()), field.schema()));
                }
                return out;
            }
            case UNION -> {
                if (value.isNull()) {
                    return value;
                }
                Map.Entry<String, JsonNode> only = value.properties().iterator().next();
                Schema branch = schema.getTypes().stream().filter(s -> branchName(s).equals(only.getKey()))
                        .findFirst().orElseThrow();
                return toPlain(only.getValue(), branch);
            }
            case ARRAY -> {
                ArrayNode out = NODES.arrayNode();
                value.forEach(item -> out.add(toPlain(item, schema.getElementType())));
                return out;
            }
            case MAP -> {
                ObjectNode out = NODES.objectNode();
                value.properties().forEach(e -> out.set(e.getKey(), toPlain(e.getValue(),
                        schema.getValueType())));
                return out;
            }
            case LONG -> {
                return isTimestamp(schema.getLogicalType()) ? TextNode.valueOf(Instant.ofEpochMilli(value.asLong())
                        .toString()) : value;
            }
            default -> {
                return value;
            }
        }
    }

    private static boolean fits(JsonNode value, Schema branch) {
        return switch (branch.getType()) {
            case RECORD, MAP -> value.isObject();
            case ARRAY -> value.isArray();
            case STRING, ENUM -> value.isTextual();
            case INT -> value.isIntegralNumber() && value.canConvertToInt();
            case LONG -> value.isIntegralNumber() || (value.isTextual() && isTimestamp(branch.getLogicalType()));
            case FLOAT, DOUBLE -> value.isNumber();
            case BOOLEAN -> value.isBoolean();
            default -> false;
        };
    }

    private static boolean isTimestamp(LogicalType type) {
        return type instanceof LogicalTypes.TimestampMillis;
    }

    private static String branchName(Schema branch) {
        return switch (branch.getType()) {
            case RECORD, ENUM, FIXED -> branch.getFullName();
            default -> branch.getType().getName();
        };
    }

    private static JsonNode defaultOf(Schema.Field field) {
        Object value = field.defaultVal();
        return value == null || value == JsonProperties.NULL_VALUE ? NullNode.getInstance() : JSON.valueToTree(value);
    }

    private static ObjectNode placeholderHeader() {
        ObjectNode header = NODES.objectNode();
        header.put("commandId", new UUID(0, 0).toString());
        header.put("issuedAt", 0L);
        header.putNull("issuedBy");
        return header;
    }

    private static IllegalArgumentException wrong(String path, String expected, JsonNode value) {
        String found = value.isNull() ? "null" : value.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + " "
                + abbreviate(value.toString());
        return new IllegalArgumentException(path + ": expected " + expected + ", found " + found);
    }

    private static String abbreviate(String text) {
        return text.length() > 60 ? text.substring(0, 57) + "..." : text;
    }

}
