#!/usr/bin/env bash
# Build and install walbus_floor, the output plugin that decodes everything
# and writes nothing (the floor of decoding cost), when its source is around.
#
# Usage: bench/floor.sh   (as root: it installs into `pg_config --pkglibdir`)
# Environment: FLOOR_SRC, the directory holding walbus_floor.c and its PGXS
# Makefile; default ../shared/bench/floor next to the repository.
# Optional by design: without the source, or without root, it says so and
# exits 0, and the benchmarks run without the floor.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=${FLOOR_SRC:-$ROOT/../shared/bench/floor}

if [ ! -f "$SRC/walbus_floor.c" ]; then
    echo "floor: no $SRC/walbus_floor.c; benchmarking without walbus_floor"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "floor: not root, cannot install walbus_floor; benchmarking without it"
    exit 0
fi

# The source may be read-only: build a copy.
BUILD=$(mktemp -d /tmp/walbus-floor.XXXXXX)
trap 'rm -rf "$BUILD"' EXIT
cp "$SRC"/* "$BUILD/"
# its one warning (no prototype for _PG_output_plugin_init) is not ours
if ! { make -C "$BUILD" && make -C "$BUILD" install; } >"$BUILD/log" 2>&1; then
    cat "$BUILD/log" >&2
    exit 1
fi
echo "floor: walbus_floor installed in $(pg_config --pkglibdir)"
