package io.msx.http;

import java.util.Optional;

/**
 * How a server is protected: TLS (HTTPS only) when a keystore is given, bearer tokens with roles when a tokens file
 * is given. Either may be absent: without tokens every caller may do everything (and the server says so in a WARN at
 * start); without a keystore the server speaks plain HTTP.
 */
public record HttpSecurity(Optional<TlsKeyStore> tls, Optional<BearerTokens> tokens) {

    /** Plain HTTP, no authentication. */
    public static HttpSecurity none() {
        return new HttpSecurity(Optional.empty(), Optional.empty());
    }

    public HttpSecurity withTls(TlsKeyStore keyStore) {
        return new HttpSecurity(Optional.of(keyStore), tokens);
    }

    public HttpSecurity withTokens(BearerTokens bearerTokens) {
        return new HttpSecurity(tls, Optional.of(bearerTokens));
    }

    /** {@code https} or {@code http}. */
    public String scheme() {
        return tls.isPresent() ? "https" : "http";
    }
}
