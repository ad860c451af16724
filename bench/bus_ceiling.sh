#!/usr/bin/env bash
# The bus transport's ceiling on this machine (bench/bus_ceiling.c): nng
# pub0 to 1 and 4 counting sub0 sockets over ipc, no PostgreSQL, no relay,
# no decoding, in messages/s and in changes/s:
#   layout 1: one message of ENV_BYTES per change (an envelope of bus
#             layout 1 was about 150 bytes for the bench table's rows);
#   layout 2: frames of FRAME_CHANGES changes of CHANGE_BYTES each (about
#             what the relay's frames of the bench workload carry: 1,000
#             changes of a transaction in 30-byte changes, under the 64 kB
#             frame_bytes cap).
# Compare with bench/relay.sh's anchor (pg_recvlogical + wal2json).
#
# Usage: bench/bus_ceiling.sh [CHANGES]   (default 200000)
# Environment: ENV_BYTES (150), FRAME_CHANGES (1000), CHANGE_BYTES (30)
# Prints one line per layout and subscriber count.  Exits 1 if it cannot
# build or run.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHANGES=${1:-200000}
ENV_BYTES=${ENV_BYTES:-150}
FRAME_CHANGES=${FRAME_CHANGES:-1000}
CHANGE_BYTES=${CHANGE_BYTES:-30}
WORK=$(mktemp -d /tmp/walbus-bus-ceiling.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Werror -o "$WORK/bus_ceiling" \
    "$ROOT/bench/bus_ceiling.c" -lnng -lpthread ||
    { echo "bench/bus_ceiling.sh: cannot build" >&2; exit 1; }
# run LABEL MESSAGES BYTES CHANGES_PER_MESSAGE
run() {
    local label=$1 msgs=$2 bytes=$3 per=$4 k line
    for k in 1 4; do
        line=$(timeout 120 "$WORK/bus_ceiling" "$k" "$msgs" "ipc://$WORK/bus$k" "$bytes") ||
            exit 1
        [[ $line =~ received_per_s_per_subscriber=([0-9]+)\ dropped_pct=([0-9.]+) ]] ||
            { echo "bench/bus_ceiling.sh: $line" >&2; exit 1; }
        printf '%-9s %d subscriber(s): %9d messages/s, %10d changes/s per subscriber, %5s%% dropped\n' \
            "$label" "$k" "${BASH_REMATCH[1]}" "$((BASH_REMATCH[1] * per))" "${BASH_REMATCH[2]}"
    done
}
echo "nng pub0 -> sub0 over ipc, $CHANGES changes, $(nproc) cores, queues of 1024 messages"
run "layout 1" "$CHANGES" "$ENV_BYTES" 1
# at least 2,000 frames, so that the rate is not a few milliseconds' worth
frames=$((CHANGES / FRAME_CHANGES))
[ "$frames" -ge 2000 ] || frames=2000
run "layout 2" "$frames" $((FRAME_CHANGES * CHANGE_BYTES + 100)) "$FRAME_CHANGES"
