package io.msx.schemas;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Settings of a {@link SchemaRegistryClient}.
 *
 * @param url base URL of the Confluent-compatible API, e.g. {@code http://host:8080/apis/ccompat/v7}
 * @param basicAuthUserInfo {@code user:password} for HTTP basic auth, or null
 * @param connectTimeout TCP connect timeout
 * @param requestTimeout timeout of one request, response included
 * @param cacheCapacity schemas and ids kept in memory, per cache
 */
public record SchemaRegistryConfig(URI url, String basicAuthUserInfo, Duration connectTimeout, Duration requestTimeout,
                                   int cacheCapacity) {

    /** Kafka-style key of the registry URL, as Confluent serdes name it. */
    public static final String URL_CONFIG = "schema.registry.url";
    /** Kafka-style key of {@code user:password} for basic auth. */
    public static final String BASIC_AUTH_USER_INFO_CONFIG = "basic.auth.user.info";
    public static final String CONNECT_TIMEOUT_MS_CONFIG = "schema.registry.connect.timeout.ms";
    public static final String REQUEST_TIMEOUT_MS_CONFIG = "schema.registry.request.timeout.ms";

    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(10);
    public static final int DEFAULT_CACHE_CAPACITY = 1000;

    public SchemaRegistryConfig {
        Objects.requireNonNull(url, "url");
        if (!"http".equals(url.getScheme()) && !"https".equals(url.getScheme())) {
            throw new IllegalArgumentException("schema registry url must be http or https: " + url);
        }
        if (basicAuthUserInfo != null && !basicAuthUserInfo.contains(":")) {
            throw new IllegalArgumentException(BASIC_AUTH_USER_INFO_CONFIG + " must be user:password");
        }
        requirePositive(connectTimeout, "connectTimeout");
        requirePositive(requestTimeout, "requestTimeout");
        if (cacheCapacity < 1) {
            throw new IllegalArgumentException("cacheCapacity must be at least 1: " + cacheCapacity);
        }
        String text = url.toString();
        if (text.endsWith("/")) {
            url = URI.create(text.substring(0, text.length() - 1));
        }
    }

    public static SchemaRegistryConfig of(String url) {
        return new SchemaRegistryConfig(URI.create(url), null, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT,
                DEFAULT_CACHE_CAPACITY);
    }

    /** Reads the Kafka-style keys above from serializer or deserializer configs. */
    public static SchemaRegistryConfig fromKafkaConfigs(Map<String, ?> configs) {
        Object url = configs.get(URL_CONFIG);
        if (url == null) {
            throw new IllegalArgumentException("missing " + URL_CONFIG);
        }
        return new SchemaRegistryConfig(URI.create(url.toString()),
                Optional.ofNullable(configs.get(BASIC_AUTH_USER_INFO_CONFIG)).map(Object::toString).orElse(null),
                millis(configs, CONNECT_TIMEOUT_MS_CONFIG, DEFAULT_CONNECT_TIMEOUT),
                millis(configs, REQUEST_TIMEOUT_MS_CONFIG, DEFAULT_REQUEST_TIMEOUT),
                DEFAULT_CACHE_CAPACITY);
    }

    public SchemaRegistryConfig withBasicAuth(String userInfo) {
        return new SchemaRegistryConfig(url, userInfo, connectTimeout, requestTimeout, cacheCapacity);
    }

    public SchemaRegistryConfig withTimeouts(Duration connect, Duration request) {
        return new SchemaRegistryConfig(url, basicAuthUserInfo, connect, request, cacheCapacity);
    }

    private static Duration millis(Map<String, ?> configs, String key, Duration fallback) {
        Object value = configs.get(key);
        return value == null ? fallback : Duration.ofMillis(Long.parseLong(value.toString()));
    }

    private static void requirePositive(Duration d, String name) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive: " + d);
        }
    }

    @Override
    public String toString() {
        // never print the password
        return "SchemaRegistryConfig[url=" + url + ", basicAuth=" + (basicAuthUserInfo != null)
                + ", connectTimeout=" + connectTimeout + ", requestTimeout=" + requestTimeout + "]";
    }
}
