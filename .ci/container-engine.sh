#!/usr/bin/env bash
# Starts (or stops) the Docker engine the system tests use, inside a network namespace of its own, so that every
# container address and published port stays in that namespace; the system tests' JVM enters it (.ci/netns/bin/java).
#
#   .ci/container-engine.sh start|stop      (root; needs docker.io, iproute2 and util-linux's nsenter)
#
# The engine listens on unix:///run/msx-ci/docker.sock (a file, so reachable from outside the namespace too) and keeps
# its images and volumes in /var/lib/msx-ci-docker.
set -euo pipefail

ns=msx-ci
run=/run/msx-ci
sock="unix://$run/docker.sock"
pidfile="$run/dockerd.pid"

dockerd_pid() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && cat "$pidfile"; }
ns_inode() { stat -L -c %i "$1" 2>/dev/null; }

stop_engine() {
  local pid
  if pid="$(dockerd_pid)"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "container engine: dockerd $pid did not stop in 30 s; killing it" >&2
      kill -9 "$pid" 2>/dev/null || true
      sleep 1
    fi
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start)
    mkdir -p "$run"
    ip netns list | grep -qw "$ns" || ip netns add "$ns"
    ip -n "$ns" link set lo up
    # An engine left running is reused only if it lives in this namespace; otherwise its ports would be elsewhere.
    if pid="$(dockerd_pid)" && [ "$(ns_inode "/proc/$pid/ns/net")" != "$(ns_inode "/var/run/netns/$ns")" ]; then
      echo "container engine: dockerd $pid is in another network namespace; restarting it" >&2
      stop_engine
    fi
    if ! DOCKER_HOST="$sock" docker info >/dev/null 2>&1; then
      nsenter --net="/var/run/netns/$ns" dockerd --host "$sock" --data-root /var/lib/msx-ci-docker \
        --exec-root "$run/exec" --pidfile "$pidfile" > "$run/dockerd.log" 2>&1 &
      for _ in $(seq 1 60); do
        DOCKER_HOST="$sock" docker info >/dev/null 2>&1 && break
        sleep 1
      done
      DOCKER_HOST="$sock" docker info >/dev/null 2>&1 \
        || { tail -20 "$run/dockerd.log" >&2; echo "container engine: dockerd did not start" >&2; exit 1; }
    fi
    echo "container engine: $(DOCKER_HOST="$sock" docker version --format '{{.Server.Version}}') at $sock" \
      "(network namespace $ns)"
    ;;
  stop)
    stop_engine
    ip netns delete "$ns" 2>/dev/null || true
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
