#!/usr/bin/env bash
# Decode cost of logical decoding output plugins on one fixed workload, side
# by side, in one run, and walbus's verdict against its targets.
#
# Usage: bench/anchors.sh [ROWS] [REPEATS]
#   ROWS     rows inserted (then ROWS/2 updated, ROWS/4 deleted); default 200000
#   REPEATS  decode passes per plugin, the fastest is kept; default 3
# Environment: PORT (default 5497; the server listens on a unix socket in its
# own directory only), KEEP=1 keeps the throwaway cluster's directory.
# Needs: postgresql-15, postgresql-15-wal2json, postgresql-15-decoderbufs, bc
# (make deps).  walbus is measured when walbus.so is installed (make
# install), and so is walbus_floor (decodes everything, writes nothing: the
# floor no plugin can beat), which this script builds and installs first
# when ../shared/bench/floor exists (bench/floor.sh).
#
# Prints one row per plugin: seconds, bytes, changes/s, bytes/change, and
# throughput relative to pgoutput; then walbus's throughput and bytes/change
# as ratios to pgoutput's, measured in the same run, against the targets
# (at least 1.1x pgoutput's changes/s, at most 0.8x its bytes/change).
# Exits 0 whether or not the targets are met: it measures, it does not test.
#
# Derived from the project's shared bench/anchors.sh: same workload, same
# measurement (sum of the output's length, best of REPEATS passes of
# pg_logical_slot_peek_binary_changes), so numbers stay comparable.
set -euo pipefail
ROWS=${1:-200000}
REPEATS=${2:-3}
PORT=${PORT:-5497}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIB=$(pg_config --pkglibdir)
. "$ROOT/tests/lib/cluster.sh"

# Targets for walbus, as ratios to pgoutput.
TARGET_SPEED=1.1
TARGET_SIZE=0.8

"$ROOT/bench/floor.sh"

PLUGINS="test_decoding wal2json decoderbufs pgoutput"
[ -f "$LIB/walbus.so" ] && PLUGINS="$PLUGINS walbus"
[ -f "$LIB/walbus_floor.so" ] && PLUGINS="$PLUGINS walbus_floor"

trap cluster_remove EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cluster_create "$PORT" "shared_buffers = 256MB
logical_decoding_work_mem = 256MB
output_plugin_libraries = '$(echo $PLUGINS | sed 's/ /, /g')'"
cluster_start
P() { cluster_psql -d postgres "$@"; }

P -c "create table contacts(id bigserial primary key, name text not null, email text,
        score numeric(12,2), tags text[], active boolean default true, props jsonb,
        updated_at timestamptz default now());
      create publication pub for table contacts;"
for p in $PLUGINS; do P -c "select pg_create_logical_replication_slot('s_$p', '$p');" >/dev/null; done
P -c "insert into contacts(name, email, score, tags, props)
        select 'name ' || g, 'user' || g || '@example.com', g * 1.5, array['a','b'],
               jsonb_build_object('k', g, 'city', 'Paris')
        from generate_series(1, $ROWS) g;"
P -c "update contacts set score = score + 1, updated_at = now() where id % 2 = 0;"
P -c "delete from contacts where id % 4 = 1;"
N=$((ROWS + ROWS / 2 + ROWS / 4))

declare -A SECS BYTES
for p in $PLUGINS; do
    opts=""
    [ "$p" = pgoutput ] && opts=", 'proto_version', '1', 'publication_names', 'pub'"
    [ "$p" = walbus ] && opts=", 'proto_version', '1'"
    best=""
    for _ in $(seq "$REPEATS"); do
        t0=$(date +%s.%N)
        # stderr kept aside: decoderbufs chats on it (INFO lines) every pass
        if ! b=$(P -At -c "select coalesce(sum(length(data)), 0) from pg_logical_slot_peek_binary_changes('s_$p', NULL, NULL $opts);" 2>"$CLUSTER_DIR/peek.err"); then
            cat "$CLUSTER_DIR/peek.err" >&2
            exit 1
        fi
        t1=$(date +%s.%N)
        s=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$s < $best" | bc -l)" = 1 ]; then best=$s; fi
    done
    SECS[$p]=$best; BYTES[$p]=$b
done

printf "workload: %d changes (%d inserts, %d updates, %d deletes); best of %d passes\n" \
    "$N" "$ROWS" $((ROWS / 2)) $((ROWS / 4)) "$REPEATS"
printf "%-14s %8s %12s %11s %9s %12s\n" plugin secs bytes changes/s B/change vs_pgoutput
for p in $PLUGINS; do
    s=${SECS[$p]}; b=${BYTES[$p]}
    printf "%-14s %8.3f %12d %11.0f %9.1f %11.2fx\n" "$p" "$s" "$b" \
        "$(echo "$N / $s" | bc -l)" "$(echo "$b / $N" | bc -l)" \
        "$(echo "${SECS[pgoutput]} / $s" | bc -l)"
done

if [ -z "${SECS[walbus]:-}" ]; then
    echo "walbus: not installed in $LIB (make install), no verdict"
    exit 0
fi

# verdict RATIO OP TARGET: PASS when RATIO OP TARGET holds (OP is >= or <=)
verdict() {
    if [ "$(echo "$1 $2 $3" | bc -l)" = 1 ]; then echo PASS; else echo FAIL; fi
}
speed=$(echo "${SECS[pgoutput]} / ${SECS[walbus]}" | bc -l)
size=$(echo "${BYTES[walbus]} / ${BYTES[pgoutput]}" | bc -l)
printf "walbus vs pgoutput: changes/s %.2fx (target >= %sx): %s\n" \
    "$speed" "$TARGET_SPEED" "$(verdict "$speed" '>=' "$TARGET_SPEED")"
printf "walbus vs pgoutput: bytes/change %.2fx (target <= %sx): %s\n" \
    "$size" "$TARGET_SIZE" "$(verdict "$size" '<=' "$TARGET_SIZE")"
if [ -n "${SECS[walbus_floor]:-}" ]; then
    printf "walbus vs walbus_floor: changes/s %.2fx (the floor decodes and writes nothing)\n" \
        "$(echo "${SECS[walbus_floor]} / ${SECS[walbus]}" | bc -l)"
fi
