#!/usr/bin/env bash
# Builds msx's base image without a container engine and without pulling anything: a Debian bookworm minbase root
# file system (debootstrap, from Debian's packages) plus a Java runtime cut from the build's own JDK with jlink, written
# as a `docker save` tarball that Jib takes as its base (`tar://...`) and `docker load` accepts.
#
#   deploy/images/base/build-base.sh [output.tar]     (default deploy/images/base/target/msx-base.tar; needs root)
#
# Needs debootstrap and a JDK with jmods (Debian: openjdk-17-jmods). The image runs as uid 10001 (user msx) and has
# /var/lib/msx owned by it; PATH holds the runtime (/opt/java/bin); procps gives kill(1), tini a PID 1 that reaps.
# The tarball's own timestamps are fixed; its contents follow Debian's archive, so it is not byte-reproducible across
# archive updates (the application layers Jib adds on it are).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/target/msx-base.tar}"
suite="${MSX_BASE_SUITE:-bookworm}"
mirror="${MSX_BASE_MIRROR:-http://deb.debian.org/debian}"
# Everything the master, the agent, the CLI, the test broker (kafka_2.13) and Apicurio (Quarkus) load.
modules="java.se,jdk.unsupported,jdk.crypto.ec,jdk.crypto.cryptoki,jdk.management,jdk.management.agent,jdk.jfr,\
jdk.naming.dns,jdk.security.auth,jdk.security.jgss,jdk.zipfs,jdk.net,jdk.httpserver,jdk.localedata,jdk.charsets,\
jdk.jdwp.agent,jdk.attach,jdk.jcmd"

die() { echo "build-base: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap and file ownership)"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
java_home="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac || command -v java)")")")}"
[ -d "$java_home/jmods" ] || die "no jmods in $java_home: apt-get install openjdk-17-jmods (or set JAVA_HOME)"
java_major="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$java_home/release")"
[ -n "$java_major" ] && [ "$java_major" -ge 17 ] || die "$java_home is not a JDK 17 or newer (release file)"
tag="msx-base:${suite}-jre${java_major}"

work="$(mktemp -d /tmp/msx-base.XXXXXX)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

echo "build-base: debootstrap $suite (minbase) from $mirror"
debootstrap --variant=minbase --include=procps,tini "$suite" "$rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }

echo "build-base: jlink a runtime from $java_home"
"$java_home/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
  --compress=2 --output "$rootfs/opt/java"

# A non-root user for the application, and the directory its state lives in (a volume in practice).
chroot "$rootfs" groupadd --gid 10001 msx
chroot "$rootfs" useradd --uid 10001 --gid 10001 --home-dir /home/msx --create-home --shell /usr/sbin/nologin msx
install -d -o 10001 -g 10001 -m 0750 "$rootfs/var/lib/msx"

# The build host's name and resolver are not the image's (the engine provides them), nor are device nodes.
: > "$rootfs/etc/resolv.conf"
: > "$rootfs/etc/hostname"
find "$rootfs/dev" -mindepth 1 -delete

# What an image never needs: package caches and indexes, documentation, manuals, locales.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
  "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/* "$rootfs"/tmp/* \
  "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} +
chmod 1777 "$rootfs/tmp"

echo "build-base: writing $out"
image="$work/image"
mkdir -p "$image"
# One layer; sorted names, fixed times and numeric owners, so the same files give the same digest.
tar -C "$rootfs" --sort=name --mtime='2000-01-01 00:00:00Z' --numeric-owner -cf "$image/layer.tar" .
diff_id="sha256:$(sha256sum "$image/layer.tar" | cut -d' ' -f1)"
cat > "$image/config.json" <<EOF
{"architecture":"amd64","os":"linux","created":"2000-01-01T00:00:00Z",
 "config":{"User":"10001:10001","WorkingDir":"/home/msx",
  "Env":["PATH=/opt/java/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","JAVA_HOME=/opt/java","LANG=C.UTF-8"]},
 "rootfs":{"type":"layers","diff_ids":["$diff_id"]},
 "history":[{"created":"2000-01-01T00:00:00Z","created_by":"deploy/images/base/build-base.sh ($suite minbase + jlink)"}]}
EOF
config_id="$(sha256sum "$image/config.json" | cut -d' ' -f1)"
mv "$image/config.json" "$image/$config_id.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]\n' "$config_id" "$tag" > "$image/manifest.json"
mkdir -p "$(dirname "$out")"
# Plain member names (no "./" entry: Jib refuses archive entries that resolve outside its destination).
tar -C "$image" --sort=name --mtime='2000-01-01 00:00:00Z' --owner=0 --group=0 --numeric-owner -cf "$out.tmp" \
  manifest.json "$config_id.json" layer.tar
mv "$out.tmp" "$out"
echo "build-base: $tag, $(du -h "$out" | cut -f1) ($(du -sh "$rootfs/opt/java" | cut -f1) of it the Java runtime)"
