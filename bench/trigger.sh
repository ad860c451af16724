#!/usr/bin/env bash
# The trigger source's costs (docs/TRIGGER.md), in one run:
#   - the write overhead of its triggers: pgbench inserts and single-row
#     updates (CLIENTS clients) on the same table without and with the
#     triggers, alternated ROUNDS times; TPS and WAL bytes per transaction.
#     The verdict takes the median of the rounds' ratios (each round runs
#     without, then with, minutes apart at most), which this 2-core
#     machine's drift from one minute to the next moves far less than it
#     moves the best TPS of either;
#   - its end-to-end rate: ROWS queued inserts (transactions of 1,000)
#     published by walbus-relay --source trigger to one libwalbus
#     subscriber (bench/bus_sink count), from the relay's start to the last
#     change, against the plugin relay publishing the same rows from a
#     slot in the same run.
#
# Usage: bench/trigger.sh
# Environment: PORT (5905), CLIENTS (4), SECONDS_EACH (5), ROUNDS (5),
# ROWS (200000), TARGET_OVERHEAD (0.25), KEEP=1.
# Needs: the walbus plugin installed (make install), pgbench (postgresql-15),
# relay/ and client/ built, bc.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME=bench/trigger.sh
# shellcheck source=../tests/lib/cluster.sh
. "$ROOT/tests/lib/cluster.sh"
# shellcheck source=lib.sh
. "$ROOT/bench/lib.sh"

PORT=${PORT:-5905}
CLIENTS=${CLIENTS:-4}
SECONDS_EACH=${SECONDS_EACH:-5}
ROUNDS=${ROUNDS:-5}
ROWS=${ROWS:-200000}
TARGET_OVERHEAD=${TARGET_OVERHEAD:-0.25}
RELAY=$ROOT/relay/walbus-relay
bench_init trigger

make -s -C "$ROOT/relay" >"$WORK/build.log" 2>&1 &&
    make -s -C "$ROOT/client" >>"$WORK/build.log" 2>&1 &&
    cc -O2 -std=c11 -D_GNU_SOURCE -I"$ROOT/client" -I"$ROOT/proto" -o "$WORK/bus_sink" \
        "$ROOT/bench/bus_sink.c" "$ROOT/client/libwalbus.a" -lnng -lnats -lpthread \
        >>"$WORK/build.log" 2>&1 ||
    { cat "$WORK/build.log" >&2; die "cannot build"; }
cluster_create "$PORT" "shared_buffers = 256MB
max_wal_size = 4GB
synchronous_commit = off" || die "cannot create a cluster"
cluster_start || die "cannot start the cluster"
DSN="host=$CLUSTER_DIR port=$PORT user=postgres dbname=postgres"
sql() { cluster_psql -d postgres -At "$@"; }

sql -q -c "CREATE TABLE t (id bigserial PRIMARY KEY, a text, b int, c timestamptz, d numeric)" \
    -c "INSERT INTO t (a, b, c, d) SELECT 'row ' || g, g, now(), g * 1.5 FROM generate_series(1, 100000) g" \
    -c "VACUUM ANALYZE t" || die "cannot create the table"
cat >"$WORK/insert.sql" <<'SQL'
\set r random(1, 1000000)
INSERT INTO t (a, b, c, d) VALUES ('bench ' || :r, :r, now(), :r * 1.5);
SQL
cat >"$WORK/update.sql" <<'SQL'
\set id random(1, 100000)
UPDATE t SET b = b + 1, c = now() WHERE id = :id;
SQL

# pgbench_run SCRIPT: "TPS WAL_BYTES_PER_TXN"
pgbench_run() {
    local lsn0 lsn1 out tps txns
    sql -q -c "CHECKPOINT"
    lsn0=$(sql -c "SELECT pg_current_wal_lsn()")
    out=$(as_postgres "$PG_BINDIR/pgbench" -h "$CLUSTER_DIR" -p "$PORT" -U postgres -n \
        -c "$CLIENTS" -j 2 -T "$SECONDS_EACH" -f "$WORK/$1.sql" postgres 2>&1)
    lsn1=$(sql -c "SELECT pg_current_wal_lsn()")
    tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out" | head -1)
    txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
    [ -n "$tps" ] && [ -n "$txns" ] || { echo "$out" >&2; die "pgbench failed"; }
    echo "$tps $(sql -c "SELECT (pg_wal_lsn_diff('$lsn1', '$lsn0') / $txns)::bigint")"
}

declare -A TPS WAL RATIOS OFF_TPS
best() {	# best KEY TPS WAL: keep the fastest pass
    if [ -z "${TPS[$1]:-}" ] || [ "$(echo "$2 > ${TPS[$1]}" | bc)" = 1 ]; then
        TPS[$1]=$2
        WAL[$1]=$3
    fi
}
for round in $(seq "$ROUNDS"); do
    for mode in off on; do
        if [ "$mode" = on ]; then
            "$RELAY" --dbname "$DSN" trigger-install >/dev/null || die "trigger-install failed"
        fi
        for script in insert update; do
            read -r tps wal < <(pgbench_run "$script")
            [ -n "${tps:-}" ] || die "pgbench failed"
            echo "round $round, triggers $mode, $script: $tps tps, $wal WAL bytes/txn"
            best "$script.$mode" "$tps" "$wal"
            if [ "$mode" = off ]; then
                OFF_TPS[$script]=$tps
            else
                RATIOS[$script]+="$(echo "scale=4; $tps / ${OFF_TPS[$script]}" | bc) "
            fi
        done
        if [ "$mode" = on ]; then
            "$RELAY" --dbname "$DSN" trigger-remove >/dev/null || die "trigger-remove failed"
        fi
    done
done

# the end-to-end rate: ROWS queued in transactions of 1,000, then published
"$RELAY" --dbname "$DSN" trigger-install >/dev/null || die "trigger-install failed"
sql -q -c "SELECT pg_create_logical_replication_slot('bench', 'walbus')" >/dev/null
for _ in $(seq $((ROWS / 1000))); do
    echo "INSERT INTO t (a, b, c, d) SELECT 'e2e ' || g, g, now(), g FROM generate_series(1, 1000) g;"
done | sql -q
# e2e NAME RELAY_ARGS...: changes/s to one libwalbus subscriber, from the
# relay's start (it waits for the subscriber) to the last change: the
# trigger source reads a tick's batch whole before publishing it, so the
# span from its first change to its last would leave the reading out
# (it runs in a $(...) subshell, whose PIDS the cleanup never sees: it
# stops its relay itself)
e2e() {
    local name=$1 t0 out n last relay
    shift
    t0=$(now_ns)
    "$RELAY" --dbname "$DSN" --bus "ipc://$WORK/$name.bus" --control "ipc://$WORK/$name.ctl" \
        --wait-subscribers 1 "$@" >"$WORK/$name.log" 2>&1 &
    relay=$!
    out=$("$WORK/bus_sink" count "ipc://$WORK/$name.bus" "$ROWS" 120)
    kill -TERM "$relay" 2>/dev/null
    wait "$relay" 2>/dev/null
    last=$(sed -n 's/.*last_ns=\([0-9]*\).*/\1/p' <<<"$out")
    n=$(sed -n 's/^n=\([0-9]*\).*/\1/p' <<<"$out")
    [ "$n" = "$ROWS" ] || echo "$name: received $n of $ROWS ($out)" >&2
    rate "$n" $((last - t0))
}
E2E_T=$(e2e trig --source trigger --tick-interval 0.1)
E2E_P=$(e2e plug --slot bench)

ratio() { LC_ALL=C printf "%.2f" "$(echo "scale=4; $1 / $2" | bc)"; }
echo
echo "machine: $(nproc) cores; $CLIENTS clients, ${SECONDS_EACH} s each, $ROUNDS rounds (TPS: best of them)"
printf '%-36s %12s %12s\n' "" "tps" "WAL B/txn"
for script in insert update; do
    printf '%-36s %12s %12s\n' "$script, no triggers" "${TPS[$script.off]}" "${WAL[$script.off]}"
    printf '%-36s %12s %12s\n' "$script, with the triggers" "${TPS[$script.on]}" "${WAL[$script.on]}"
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for script in insert update; do
    r=$(LC_ALL=C printf "%.2f" "$(median <<<"${RATIOS[$script]}")")
    over=$(LC_ALL=C printf "%.2f" "$(echo "1 - $r" | bc)")
    w=$(ratio "${WAL[$script.on]}" "${WAL[$script.off]}")
    verdict=met
    [ "$(echo "$over > $TARGET_OVERHEAD" | bc)" = 1 ] && verdict="NOT met"
    echo "$script: ${r}x the TPS without triggers, median of the rounds (${RATIOS[$script]% }) (overhead $over, target <= $TARGET_OVERHEAD: $verdict); WAL per transaction ${w}x"
done
echo "end to end, $ROWS inserts to 1 libwalbus subscriber: trigger source $E2E_T changes/s, plugin source $E2E_P changes/s ($(ratio "$E2E_T" "$E2E_P")x)"
