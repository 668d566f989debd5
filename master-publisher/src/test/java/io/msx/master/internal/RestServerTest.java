package io.msx.master.internal;

import io.msx.master.MasterException;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RestServerTest {

    @Test
    void shouldNameTheAddressWhenThePortIsTaken() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> new RestServer("127.0.0.1", port, "m", Json.mapper(), null))
                    .isInstanceOf(MasterException.class)
                    .hasMessageContaining("cannot listen on 127.0.0.1:" + port + " for the REST API");
        }
    }
}
