#!/usr/bin/env bash
# Backfill speed and memory: rows/s of a walbus-relay backfill of a table,
# against COPY of the same table in the same run (the anchor), and the
# relay's peak RSS while it runs.
#
# Usage: bench/backfill.sh [ROWS] [REPEATS]
#   ROWS     rows of the table (default 1000000): bigint key, text, int,
#            numeric(12,2), timestamptz, bool
#   REPEATS  runs of each, the fastest is kept (default 2)
# Environment:
#   PORT     cluster port (default 5903)
#   KEEP=1   keep the cluster's directory and the logs
# Needs: the walbus plugin and extension installed (make install), relay/
# and client/ built, bc, jq.
#
# Anchor: COPY t TO STDOUT (FORMAT binary) through psql into /dev/null,
# which reads and sends every row as fast as PostgreSQL can.  Backfill:
# walbus-relay (slot created at start, one bus subscriber: bench/bus_sink
# in "count" mode, libwalbus decoding every frame as a worker would) is
# asked for a backfill with walbus-tap --backfill; timed from the request
# until the subscriber has counted ROWS reads.  The relay's peak RSS
# (VmHWM) is read before and after: a backfill keeps at most two chunks of
# about 8 MB, so it must not grow with the table (the relay runs with an
# 8 MB replay window, so that the window, which fills with any traffic, does
# not hide it).
#   SINK_MODE  bus_sink mode of the subscriber: count (default, libwalbus)
#              or raw (a bare nng socket and the frame decoder)
#   RELAY_OPTS more walbus-relay options (e.g. --log-level debug)
set -uo pipefail

ROWS=${1:-1000000}
REPEATS=${2:-2}
PORT=${PORT:-5903}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RELAY=$ROOT/relay/walbus-relay
TAP=$ROOT/tools/walbus-tap
. "$ROOT/tests/lib/cluster.sh"

TARGET_RATIO=0.5		# backfill rows/s / COPY rows/s (issue 10)
# the relay's peak RSS may grow by less than this: two chunks of at most
# 8 MB, libpq's copy of one, and the 8 MB replay window the bench sets
TARGET_RSS_KB=40960

BENCH_NAME=bench/backfill.sh
. "$ROOT/bench/lib.sh"
bench_init backfill
sql() { cluster_psql -d postgres -At "$@"; }

make -s -C "$ROOT/relay" >"$WORK/build.log" 2>&1 &&
    make -s -C "$ROOT/client" >>"$WORK/build.log" 2>&1 &&
    cc -O2 -std=c11 -D_GNU_SOURCE -I"$ROOT/client" -I"$ROOT/proto" \
        -o "$WORK/bus_sink" "$ROOT/bench/bus_sink.c" \
        "$ROOT/client/libwalbus.a" -lnng -lnats -lpthread >>"$WORK/build.log" 2>&1 ||
    { cat "$WORK/build.log" >&2; die "cannot build relay/, client/ or bus_sink"; }

cluster_create "$PORT" "shared_buffers = 512MB
max_wal_size = 4GB" || die "create the cluster"
cluster_start || die "start the cluster"
DSN="host=$CLUSTER_DIR port=$PORT user=postgres dbname=postgres"

echo "# table of $ROWS rows"
sql -q -c "CREATE EXTENSION walbus" \
    -c "CREATE TABLE t (id bigserial PRIMARY KEY, name text, n int,
                        amount numeric(12,2), at timestamptz, ok bool)" \
    -c "INSERT INTO t (name, n, amount, at, ok)
        SELECT 'row ' || g, g % 1000, g / 7.0, '2024-01-01'::timestamptz + g * interval '1 s',
               g % 2 = 0 FROM generate_series(1, $ROWS) g" \
    -c "VACUUM ANALYZE t" || die "fill the table"

# ------------------------------------------------------------------ anchor

best_copy=0
for ((i = 0; i < REPEATS; i++)); do
    t0=$(now_ns)
    cluster_psql -d postgres -c "COPY t TO STDOUT (FORMAT binary)" >/dev/null ||
        die "COPY"
    ns=$(($(now_ns) - t0))
    r=$(rate "$ROWS" "$ns")
    [ "$r" -gt "$best_copy" ] && best_copy=$r
done
echo "# COPY t TO STDOUT (FORMAT binary): $best_copy rows/s (best of $REPEATS)"

# ---------------------------------------------------------------- backfill

hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

best_bf=0
rss_growth=0
for ((i = 0; i < REPEATS; i++)); do
    slot=bench_bf$i
    "$RELAY" --dbname "$DSN" --slot "$slot" --create-slot \
        --bus "ipc://$WORK/bus$i" --control "ipc://$WORK/ctl$i" \
        --wait-subscribers 1 --window-bytes 8MB ${RELAY_OPTS:-} \
        >"$WORK/relay$i.log" 2>&1 &
    relay=$!
    PIDS+=("$relay")
    "$WORK/bus_sink" "${SINK_MODE:-count}" "ipc://$WORK/bus$i" "$ROWS" 300 \
        >"$WORK/sink$i.out" 2>"$WORK/sink$i.err" &
    sink=$!
    PIDS+=("$sink")
    for _ in $(seq 100); do
        grep -q "streaming slot" "$WORK/relay$i.log" && break
        sleep 0.1
    done
    before=$(hwm_kb "$relay")
    t0=$(now_ns)
    "$TAP" --control "ipc://$WORK/ctl$i" --backfill public.t >"$WORK/req$i.out" \
        2>&1 || { cat "$WORK/req$i.out" "$WORK/relay$i.log" >&2; die "backfill request"; }
    wait "$sink"
    sink_rc=$?
    ns=$(($(sed -n 's/.*last_ns=\([0-9]*\).*/\1/p' "$WORK/sink$i.out") - t0))
    after=$(hwm_kb "$relay")
    got=$(sed -n 's/^n=\([0-9]*\).*/\1/p' "$WORK/sink$i.out")
    [ "$sink_rc" = 0 ] && [ "$got" = "$ROWS" ] ||
        { cat "$WORK/sink$i.out" "$WORK/sink$i.err" "$WORK/relay$i.log" >&2;
          die "the subscriber got $got of $ROWS reads"; }
    r=$(rate "$ROWS" "$ns")
    echo "# backfill run $((i + 1)): $r rows/s; relay peak RSS $before kB -> $after kB;" \
        "$(grep -c ': chunk ' "$WORK/relay$i.log") chunks"
    [ "$r" -gt "$best_bf" ] && best_bf=$r
    [ $((after - before)) -gt "$rss_growth" ] && rss_growth=$((after - before))
    kill -TERM "$relay"
    wait "$relay" 2>/dev/null
    sql -q -c "SELECT pg_drop_replication_slot('$slot')" >/dev/null
done

ratio=$(LC_ALL=C printf "%.2f" "$(echo "scale=4; $best_bf / $best_copy" | bc)")
printf '%-44s %12s %8s\n' "" "rows/s" "ratio"
printf '%-44s %12s %8s\n' "COPY t TO STDOUT (FORMAT binary)" "$best_copy" "1.00"
printf '%-44s %12s %8s\n' "walbus-relay backfill, 1 libwalbus subscriber" "$best_bf" "$ratio"
echo "relay peak RSS growth during a backfill: ${rss_growth} kB"
if [ "$(echo "$ratio >= $TARGET_RATIO" | bc)" = 1 ]; then
    echo "verdict: backfill rate ${ratio}x COPY meets the target (>= ${TARGET_RATIO}x)"
else
    echo "verdict: backfill rate ${ratio}x COPY misses the target (>= ${TARGET_RATIO}x)"
fi
if [ "$rss_growth" -lt "$TARGET_RSS_KB" ]; then
    echo "verdict: relay memory flat (grew ${rss_growth} kB < ${TARGET_RSS_KB} kB for $ROWS rows)"
else
    echo "verdict: relay memory grew ${rss_growth} kB (target < ${TARGET_RSS_KB} kB)"
fi
