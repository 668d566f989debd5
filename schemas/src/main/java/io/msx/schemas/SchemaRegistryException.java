package io.msx.schemas;

import io.msx.MsxException;

/**
 * The schema registry refused a request (HTTP 4xx): unknown subject or id, incompatible schema, bad credentials.
 * {@link #status()} and {@link #errorCode()} are the HTTP status and the Confluent error code (e.g. 40403 schema not
 * found, 409 incompatible), or -1 when the response carried none.
 */
public class SchemaRegistryException extends MsxException {

    private final int status;
    private final int errorCode;

    public SchemaRegistryException(String message, int status, int errorCode) {
        super(message);
        this.status = status;
        this.errorCode = errorCode;
    }

    public int status() {
        return status;
    }

    public int errorCode() {
        return errorCode;
    }
}
