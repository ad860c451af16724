#!/usr/bin/env bash
# Install the Debian 12 packages that building and testing walbus need.
#
# Usage: tests/lib/deps.sh   (as root when something is missing)
# Idempotent and non-interactive: when every package is installed, and
# postgresql-15 is recent enough, it only says so; otherwise it runs
# apt-get update once and installs (or upgrades) what is needed.
# postgresql-15 must be 15.19 or later: older builds lack the
# output_plugin_libraries setting that the tests configure.
set -euo pipefail

PACKAGES=(
    postgresql-15 postgresql-server-dev-15 libpq-dev
    libnng-dev libmsgpack-dev libcmocka-dev libinih-dev libjansson-dev
    libipc-run-perl postgresql-15-wal2json postgresql-15-decoderbufs
    clang libclang-rt-14-dev bc pkg-config make gcc jq openssl
    libmicrohttpd-dev curl nats-server libnats-dev clang-format
)
MIN_POSTGRESQL=15.19

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
done

# Upgrade the server and its headers together, so PGXS builds match it.
if installed postgresql-15; then
    version=$(dpkg-query -W -f='${Version}' postgresql-15)
    if dpkg --compare-versions "$version" lt "$MIN_POSTGRESQL"; then
        echo "deps: postgresql-15 $version is older than $MIN_POSTGRESQL, upgrading"
        missing+=(postgresql-15 postgresql-server-dev-15)
    fi
fi

if [ ${#missing[@]} = 0 ]; then
    echo "deps: all ${#PACKAGES[@]} packages installed"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "deps: missing or outdated: ${missing[*]}" >&2
    echo "deps: run as root (make deps) to install them" >&2
    exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

version=$(dpkg-query -W -f='${Version}' postgresql-15)
if dpkg --compare-versions "$version" lt "$MIN_POSTGRESQL"; then
    echo "deps: postgresql-15 is still $version after upgrading; need $MIN_POSTGRESQL or later" >&2
    exit 1
fi
echo "deps: done"
