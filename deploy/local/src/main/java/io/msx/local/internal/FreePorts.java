package io.msx.local.internal;

import io.msx.local.LocalStackException;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Finds ephemeral ports on 127.0.0.1. A port can be taken between the check and its use: callers retry. */
public final class FreePorts {

    private FreePorts() {
    }

    public static int next() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new LocalStackException("cannot find a free port on 127.0.0.1: " + e.getMessage(), e);
        }
    }

    /** True when nothing listens on the port of 127.0.0.1 right now. */
    public static boolean isFree(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
