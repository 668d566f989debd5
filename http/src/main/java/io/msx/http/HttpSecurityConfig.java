package io.msx.http;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

import java.nio.file.Path;

/**
 * The {@code http.tls.*} and {@code http.auth.*} keys, defined once for every msx server (the master's REST API, the
 * agent's health and metrics endpoints) and added to each module's definition with {@link #define}.
 */
public final class HttpSecurityConfig {

    public static final String TLS_KEYSTORE_PATH_CONFIG = "http.tls.keystore.path";
    public static final String TLS_KEYSTORE_PASSWORD_CONFIG = "http.tls.keystore.password";
    public static final String TLS_KEYSTORE_TYPE_CONFIG = "http.tls.keystore.type";
    public static final String AUTH_TOKENS_FILE_CONFIG = "http.auth.tokens.file";

    private HttpSecurityConfig() {
    }

    /** Adds the keys, documented for {@code endpoints} (e.g. "the REST API"), to a definition and returns it. */
    public static ConfigDef define(ConfigDef definition, String endpoints) {
        return definition
                .define(TLS_KEYSTORE_PATH_CONFIG, ConfigDef.Type.STRING, "", ConfigDef.Importance.HIGH,
                        "Keystore with the private key and certificate chain " + endpoints + " serves TLS with. "
                                + "When set, " + endpoints + " speaks HTTPS only; empty: plain HTTP.")
                .define(TLS_KEYSTORE_PASSWORD_CONFIG, ConfigDef.Type.PASSWORD, null, ConfigDef.Importance.HIGH,
                        "Password of the keystore in " + TLS_KEYSTORE_PATH_CONFIG + ", also the key's; required "
                                + "with it.")
                .define(TLS_KEYSTORE_TYPE_CONFIG, ConfigDef.Type.STRING, "PKCS12", new ConfigDef.NonEmptyString(),
                        ConfigDef.Importance.LOW, "Type of the keystore in " + TLS_KEYSTORE_PATH_CONFIG
                                + " (PKCS12 or JKS).")
                .define(AUTH_TOKENS_FILE_CONFIG, ConfigDef.Type.STRING, "", ConfigDef.Importance.HIGH,
                        "File of the bearer tokens " + endpoints + " accepts, one per line: '<name> <role> "
                                + "<sha256-hex of the token>' (role read: views, history, metrics, health; role "
                                + "operator: also commands); '#' starts a comment. It holds only hashes, so it is "
                                + "not a secret; `msx token create` makes a token and its line. Read at start. "
                                + "When set, every endpoint but /health/live needs a token (no or an unknown token: "
                                + "401, too small a role: 403); /health and /health/ready answer without one, with "
                                + "only live and ready in the body. Empty: no authentication at all (logged as a "
                                + "WARN at start).");
    }

    /**
     * The security the keys describe, reading the tokens file and checking the keystore opens.
     *
     * @throws ConfigException when a file is missing or malformed, or the keystore has no password
     */
    public static HttpSecurity security(AbstractConfig config) {
        HttpSecurity security = HttpSecurity.none();
        String keystore = config.getString(TLS_KEYSTORE_PATH_CONFIG);
        if (!keystore.isBlank()) {
            Password password = config.getPassword(TLS_KEYSTORE_PASSWORD_CONFIG);
            if (password == null) {
                throw new ConfigException(TLS_KEYSTORE_PASSWORD_CONFIG + " is required with "
                        + TLS_KEYSTORE_PATH_CONFIG + " (" + keystore + ")");
            }
            TlsKeyStore tls = new TlsKeyStore(Path.of(keystore), password.value(),
                    config.getString(TLS_KEYSTORE_TYPE_CONFIG));
            tls.load();
            security = security.withTls(tls);
        }
        String tokens = config.getString(AUTH_TOKENS_FILE_CONFIG);
        if (!tokens.isBlank()) {
            security = security.withTokens(BearerTokens.load(Path.of(tokens)));
        }
        return security;
    }
}
