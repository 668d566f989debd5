package io.msx.master.internal.topology;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.msx.master.internal.Json;

import java.io.IOException;
import java.io.UncheckedIOException;

/** The JSON form of the master's own store values and internal records (Jackson, one mapper). Thread-safe. */
public final class JsonStore {

    private static final ObjectMapper JSON = Json.mapper();

    private JsonStore() {
    }

    public static byte[] write(Object value) {
        try {
            return JSON.writeValueAsBytes(value);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /**
     * @throws IllegalArgumentException when the bytes are not a {@code type}
     */
    public static <T> T read(byte[] bytes, Class<T> type) {
        try {
            return JSON.readValue(bytes, type);
        } catch (IOException e) {
            throw new IllegalArgumentException("not a valid " + type.getSimpleName() + ": " + e.getMessage(), e);
        }
    }
}
