package io.msx.schemas;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import org.apache.avro.Schema;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A client for the Confluent Schema Registry REST API (v7), as served by Confluent's registry and by Apicurio's
 * {@code /apis/ccompat/v7}. Written here because Confluent's client jars are not on Maven Central; it covers what msx
 * needs: register, look up, fetch by id (cached, bounded), subject compatibility.
 *
 * <p>Thread-safe. Calls block for at most the configured request timeout. A 4xx answer raises
 * {@link SchemaRegistryException}; an unreachable registry, a timeout or a 5xx raise the retriable
 * {@link SchemaRegistryUnavailableException}.
 */
public final class SchemaRegistryClient implements SchemaRegistry {

    private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SchemaRegistryConfig config;
    private final HttpClient http;
    private final String authorization;
    private final Cache<Integer, Schema> schemasById;
    private final Cache<SubjectSchema, Integer> idsBySubjectSchema;

    public SchemaRegistryClient(SchemaRegistryConfig config) {
        this.config = config;
        this.http = HttpClient.newBuilder().connectTimeout(config.connectTimeout()).build();
        this.authorization = config.basicAuthUserInfo() == null ? null
                : "Basic " + Base64.getEncoder().encodeToString(
                        config.basicAuthUserInfo().getBytes(StandardCharsets.UTF_8));
        // Caffeine loads each key once even when many threads ask at the same time, and stays within its bound.
        this.schemasById = Caffeine.newBuilder().maximumSize(config.cacheCapacity()).build();
        this.idsBySubjectSchema = Caffeine.newBuilder().maximumSize(config.cacheCapacity()).build();
    }

    public SchemaRegistryConfig config() {
        return config;
    }

    @Override
    public String location() {
        return config.url().toString();
    }

    @Override
    public int cacheCapacity() {
        return config.cacheCapacity();
    }

    /**
     * Registers {@code schema} under {@code subject} (a no-op returning the existing id when it is already there).
     *
     * @return the schema id to write in the wire format
     * @throws SchemaRegistryException when the registry refuses it, e.g. as incompatible (HTTP 409)
     */
    @Override
    public int register(String subject, Schema schema) {
        return idsBySubjectSchema.get(new SubjectSchema(subject, schema), key -> {
            JsonNode response;
            try {
                response = send("POST", "/subjects/" + encode(subject) + "/versions", schemaBody(schema),
                        "register schema under subject " + subject);
            } catch (SchemaRegistryException e) {
                if (e.status() != 409) {
                    throw e;
                }
                // Two clients registering a new subject at once: Apicurio answers the loser 409 "already exists".
                // If the schema is there now, that is success; an incompatible schema is not found and stays 409.
                OptionalInt id = lookupUncached(subject, schema);
                if (id.isEmpty()) {
                    throw e;
                }
                return id.getAsInt();
            }
            int id = response.path("id").asInt(-1);
            if (id < 0) {
                throw new SchemaRegistryException("registry answered register for subject " + subject
                        + " without an id: " + response, 200, -1);
            }
            schemasById.put(id, schema);
            return id;
        });
    }

    /** The id of {@code schema} under {@code subject}, or empty when the subject or that schema is not registered. */
    @Override
    public OptionalInt lookupId(String subject, Schema schema) {
        Integer cached = idsBySubjectSchema.getIfPresent(new SubjectSchema(subject, schema));
        if (cached != null) {
            return OptionalInt.of(cached);
        }
        OptionalInt id = lookupUncached(subject, schema);
        id.ifPresent(found -> idsBySubjectSchema.put(new SubjectSchema(subject, schema), found));
        return id;
    }

    private OptionalInt lookupUncached(String subject, Schema schema) {
        try {
            JsonNode response = send("POST", "/subjects/" + encode(subject), schemaBody(schema),
                    "look up schema under subject " + subject);
            int id = response.path("id").asInt();
            schemasById.put(id, schema);
            return OptionalInt.of(id);
        } catch (SchemaRegistryException e) {
            if (e.status() == 404) {
                return OptionalInt.empty();
            }
            throw e;
        }
    }

    /**
     * The schema registered with {@code id}, from the cache when seen before.
     *
     * @throws SchemaRegistryException with status 404 when the registry does not know the id
     */
    @Override
    public Schema schemaById(int id) {
        return schemasById.get(id, key -> {
            JsonNode response = send("GET", "/schemas/ids/" + id, null, "fetch schema id " + id);
            String text = response.path("schema").asText(null);
            if (text == null) {
                throw new SchemaRegistryException("registry answered schema id " + id + " without a schema", 200, -1);
            }
            return new Schema.Parser().parse(text);
        });
    }

    /**
     * The latest version registered under {@code subject}: what a client that knows only a type's subject (an ops
     * script in another language) writes with.
     *
     * @throws SchemaRegistryException with status 404 when the subject does not exist
     */
    public RegisteredSchema latest(String subject) {
        JsonNode response = send("GET", "/subjects/" + encode(subject) + "/versions/latest", null,
                "fetch the latest schema of subject " + subject);
        Schema schema = new Schema.Parser().parse(response.path("schema").asText());
        int id = response.path("id").asInt();
        schemasById.put(id, schema);
        return new RegisteredSchema(id, response.path("version").asInt(), schema);
    }

    /** One version of a subject. */
    public record RegisteredSchema(int id, int version, Schema schema) {
    }

    /** Sets the compatibility of one subject, or the global default when {@code subject} is null. */
    public void setCompatibility(String subject, CompatibilityLevel level) {
        ObjectNode body = JSON.createObjectNode().put("compatibility", level.name());
        send("PUT", configPath(subject), body, "set compatibility of " + describe(subject) + " to " + level);
    }

    /**
     * The compatibility of one subject (empty when it has none of its own), or the global default when
     * {@code subject} is null.
     */
    public Optional<CompatibilityLevel> compatibility(String subject) {
        try {
            JsonNode response = send("GET", configPath(subject), null, "read compatibility of " + describe(subject));
            String level = response.path("compatibilityLevel").asText(response.path("compatibility").asText(null));
            return Optional.ofNullable(level).map(CompatibilityLevel::valueOf);
        } catch (SchemaRegistryException e) {
            if (e.status() == 404) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /** Whether the registry would accept {@code schema} as the next version of {@code subject}. */
    public boolean isCompatible(String subject, Schema schema) {
        try {
            JsonNode response = send("POST", "/compatibility/subjects/" + encode(subject) + "/versions/latest",
                    schemaBody(schema), "test compatibility under subject " + subject);
            return response.path("is_compatible").asBoolean(false);
        } catch (SchemaRegistryException e) {
            if (e.status() == 404) {
                return true; // nothing registered yet: anything is compatible
            }
            throw e;
        }
    }

    private JsonNode send(String method, String path, JsonNode body, String what) {
        URI uri = URI.create(config.url() + path);
        HttpRequest.Builder request = HttpRequest.newBuilder(uri)
                .timeout(config.requestTimeout())
                .header("Accept", CONTENT_TYPE)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body.toString()));
        if (body != null) {
            request.header("Content-Type", CONTENT_TYPE);
        }
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new SchemaRegistryUnavailableException("schema registry " + config.url() + " unreachable ("
                    + what + "): " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SchemaRegistryUnavailableException("interrupted while calling schema registry (" + what + ")", e);
        }
        JsonNode json = parse(response.body());
        int status = response.statusCode();
        if (status >= 500) {
            throw new SchemaRegistryUnavailableException("schema registry " + config.url() + " failed to " + what
                    + ": HTTP " + status + " " + message(json, response.body()), null);
        }
        if (status >= 400) {
            throw new SchemaRegistryException("schema registry " + config.url() + " refused to " + what + ": HTTP "
                    + status + " " + message(json, response.body()), status, json.path("error_code").asInt(-1));
        }
        return json;
    }

    private static JsonNode parse(String body) {
        if (body == null || body.isBlank()) {
            return JSON.createObjectNode();
        }
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            return JSON.createObjectNode().put("message", body);
        }
    }

    private static String message(JsonNode json, String raw) {
        String message = json.path("message").asText(null);
        return message != null ? message : raw;
    }

    private static ObjectNode schemaBody(Schema schema) {
        return JSON.createObjectNode().put("schema", schema.toString()).put("schemaType", "AVRO");
    }

    private static String configPath(String subject) {
        return subject == null ? "/config" : "/config/" + encode(subject);
    }

    private static String describe(String subject) {
        return subject == null ? "the registry (global)" : "subject " + subject;
    }

    private static String encode(String subject) {
        return URLEncoder.encode(subject, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private record SubjectSchema(String subject, Schema schema) {
    }
}
