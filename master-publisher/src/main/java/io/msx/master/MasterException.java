package io.msx.master;

import io.msx.MsxException;

/** The master cannot start or go on: topics, registry or its transactional producer are unusable. */
public class MasterException extends MsxException {

    public MasterException(String message) {
        super(message);
    }

    public MasterException(String message, Throwable cause) {
        super(message, cause);
    }
}
