#!/usr/bin/env bash
# Peak memory of a walsender decoding one large transaction with walbus,
# against the same walsender work with PostgreSQL's own plugins.
#
# Usage: bench/memory.sh [ROWS]
#   ROWS  rows inserted by the single transaction; default 1000000
# Environment: PORT (default 5498; unix socket in the cluster's own directory
# only), KEEP=1 keeps the throwaway cluster's directory.
#
# Each plugin gets its own slot, created before the transaction, and its own
# walsender: pg_recvlogical streams the slot to /dev/null until the
# walsender has decoded past the transaction's commit (pg_stat_replication's
# sent_lsn), and then the walsender's peak resident set size (VmHWM in
# /proc/PID/status) is read, before the walsender goes away.  The reference
# is walbus_floor when installed (decodes and writes nothing: what
# PostgreSQL itself needs), else test_decoding.  Decoding keeps at most
# logical_decoding_work_mem (64MB, the default) of changes in memory and
# spills the rest, so an output plugin that keeps nothing per change stays
# near the reference; the verdict allows 10%.
# Exits 0 whether or not the target is met: it measures, it does not test.
set -euo pipefail
ROWS=${1:-1000000}
PORT=${PORT:-5498}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIB=$(pg_config --pkglibdir)
. "$ROOT/tests/lib/cluster.sh"

TARGET_RATIO=1.10

"$ROOT/bench/floor.sh"
if [ ! -f "$LIB/walbus.so" ]; then
    echo "memory: walbus.so is not installed in $LIB (make install)" >&2
    exit 1
fi
PLUGINS="walbus test_decoding"
REFERENCE=test_decoding
if [ -f "$LIB/walbus_floor.so" ]; then
    PLUGINS="$PLUGINS walbus_floor"
    REFERENCE=walbus_floor
fi

trap cluster_remove EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cluster_create "$PORT" "output_plugin_libraries = '$(echo $PLUGINS | sed 's/ /, /g')'"
cluster_start
P() { cluster_psql -d postgres -At "$@"; }

P -c "create table contacts(id bigserial primary key, name text not null, email text,
        score numeric(12,2), active boolean default true,
        updated_at timestamptz default now());" >/dev/null
for p in $PLUGINS; do
    P -c "select pg_create_logical_replication_slot('s_$p', '$p');" >/dev/null
done
# one transaction; once it has committed, the flushed WAL covers its commit
P -c "insert into contacts(name, email, score)
        select 'name ' || g, 'user' || g || '@example.com', g * 1.5
        from generate_series(1, $ROWS) g;"
END_LSN=$(P -c "select pg_current_wal_flush_lsn();")

declare -A PEAK SECS
for p in $PLUGINS; do
    opts=()
    [ "$p" = walbus ] && opts=(-o proto_version=1)
    t0=$(date +%s.%N)
    # a client may run as root; started directly, $! is pg_recvlogical itself
    "$PG_BINDIR/pg_recvlogical" \
        -d "host=$CLUSTER_DIR port=$PORT user=postgres dbname=postgres application_name=mem_$p" \
        -S "s_$p" --start -f /dev/null "${opts[@]}" 2>"$CLUSTER_DIR/recv_$p.err" &
    recv=$!

    pid=
    done_decoding=f
    while kill -0 "$recv" 2>/dev/null; do
        read -r pid done_decoding < <(P -F ' ' -c "select pid, sent_lsn >= '$END_LSN'
            from pg_stat_replication where application_name = 'mem_$p';") || true
        [ "$done_decoding" = t ] && break
        sleep 0.2
    done
    t1=$(date +%s.%N)
    if [ "$done_decoding" != t ]; then
        echo "memory: pg_recvlogical for $p stopped early:" >&2
        cat "$CLUSTER_DIR/recv_$p.err" >&2
        exit 1
    fi
    PEAK[$p]=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
    SECS[$p]=$(echo "$t1 - $t0" | bc -l)
    # TERM: background jobs of a script ignore SIGINT
    kill "$recv"
    wait "$recv" || true
done

printf "workload: one transaction inserting %d rows; logical_decoding_work_mem %s\n" \
    "$ROWS" "$(P -c 'show logical_decoding_work_mem')"
printf "%-14s %14s %10s %12s\n" plugin "peak RSS (kB)" secs "vs $REFERENCE"
for p in $PLUGINS; do
    printf "%-14s %14d %10.1f %11.2fx\n" "$p" "${PEAK[$p]}" "${SECS[$p]}" \
        "$(echo "${PEAK[$p]} / ${PEAK[$REFERENCE]}" | bc -l)"
done
ratio=$(echo "${PEAK[walbus]} / ${PEAK[$REFERENCE]}" | bc -l)
if [ "$(echo "$ratio <= $TARGET_RATIO" | bc -l)" = 1 ]; then v=PASS; else v=FAIL; fi
printf "walbus vs %s: walsender peak RSS %.2fx (target <= %sx): %s\n" \
    "$REFERENCE" "$ratio" "$TARGET_RATIO" "$v"
