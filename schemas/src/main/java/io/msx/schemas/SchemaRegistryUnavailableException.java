package io.msx.schemas;

import io.msx.MsxRetriableException;

/** The schema registry could not be reached, timed out, or answered 5xx. Retriable. */
public class SchemaRegistryUnavailableException extends MsxRetriableException {

    public SchemaRegistryUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
