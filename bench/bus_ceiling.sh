#!/usr/bin/env bash
# The bus transport's ceiling on this machine (bench/bus_ceiling.c): nng
# pub0 to 1 and 4 counting sub0 sockets over ipc, no PostgreSQL, no relay,
# no decoding.  A relay that publishes one bus message per change cannot
# deliver more than this per subscriber; compare with bench/relay.sh's
# anchor (pg_recvlogical + wal2json).
#
# Usage: bench/bus_ceiling.sh [COUNT] [BYTES]   (defaults 200000, 150)
# Prints one line per subscriber count.  Exits 1 if it cannot build or run.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${1:-200000}
BYTES=${2:-150}
WORK=$(mktemp -d /tmp/walbus-bus-ceiling.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Werror -o "$WORK/bus_ceiling" \
    "$ROOT/bench/bus_ceiling.c" -lnng -lpthread ||
    { echo "bench/bus_ceiling.sh: cannot build" >&2; exit 1; }
echo "nng pub0 -> sub0 over ipc, $COUNT messages of $BYTES bytes, $(nproc) cores"
for k in 1 4; do
    timeout 120 "$WORK/bus_ceiling" "$k" "$COUNT" "ipc://$WORK/bus$k" "$BYTES" || exit 1
done
