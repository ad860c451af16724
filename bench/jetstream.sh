#!/usr/bin/env bash
# Publish rate and latency of walbus-relay to NATS JetStream, one node and
# a cluster of three (stream of 3 replicas), against the relay's nng bus
# with one libwalbus subscriber as the anchor, in the same run.
#
# Usage: bench/jetstream.sh [ROWS] [REPEATS]
#   ROWS     rows of the throughput workload (inserts into a bigserial table,
#            in transactions of TXN_ROWS); default 200000
#   REPEATS  drains per target, the fastest is kept; default 2
# Environment:
#   PORT          cluster port (default 5902; unix socket only)
#   NATS_PORT     first of the nats-server client ports on 127.0.0.1: the
#                 single node there, the cluster's n1..n3 on the next three,
#                 their cluster ports 100 above (default 24201)
#   TXN_ROWS      rows per transaction of the throughput workload (1000)
#   RATE          changes/s of the latency runs (2000)
#   LAT_TXN_ROWS  rows per transaction of the latency runs (10: one
#                 transaction every 5 ms at 2000/s)
#   LAT_SECONDS   length of each latency run (5)
#   KEEP=1        keep the cluster and the work directory (logs)
# Needs: the walbus plugin installed (make install), relay/walbus-relay and
# client/libwalbus.a built (make), nats-server, libnats-dev, cc, libpq, nng.
#
# Throughput: the workload's WAL is written first, while one slot per
# target and repeat already exists; then, for each target, the relay
# drains its slot and a reader takes every change; timed from the relay's
# start to the last change the reader received:
#   nng      walbus-relay --wait-subscribers 1 with 1 bench/bus_sink count
#            (libwalbus, decodes every frame): the anchor
#   js1      walbus-relay --jetstream to one nats-server -js (file storage),
#            with bench/bus_sink count on nats:// (libwalbus's JetStream
#            transport, the durable consumer "bench", acknowledging every
#            change as a worker would): a change reaches it once JetStream
#            has stored it
#   js3      the same with three nats-server -js clustered on loopback and
#            --jetstream-replicas 3: stored once a majority has it
# The relay publishes every frame on nng too (with no subscriber for js1
# and js3), and in the JetStream runs the slot advances only past what
# JetStream acknowledged.  Each JetStream run starts on fresh stores.
# Latency: bench/rate_insert commits LAT_TXN_ROWS rows every
# LAT_TXN_ROWS/RATE s for LAT_SECONDS s; the reader (bus_sink lat, on the
# nng bus or on nats://) takes for every change its receipt time minus the change's
# commit_time (PostgreSQL's commit timestamp; same machine clock).
#
# pub0 drops frames for a subscriber that falls behind (docs/RELAY.md, "The
# bus"), so the nng reader may miss changes: its rate is the changes it
# received per second, shown with the share missed.  A JetStream reader
# must get every change, or the run failed.
# Prints each measurement, then a table: changes/s, missed, the ratio to
# nng, latency p50/p99/max.  Exits 0 (it measures, it does not test); 1 if a
# run failed.  Every wait is bounded; a trap stops every process and the
# cluster.
set -uo pipefail

ROWS=${1:-200000}
REPEATS=${2:-2}
PORT=${PORT:-5902}
NATS_PORT=${NATS_PORT:-24201}
TXN_ROWS=${TXN_ROWS:-1000}
RATE=${RATE:-2000}
LAT_TXN_ROWS=${LAT_TXN_ROWS:-10}
LAT_SECONDS=${LAT_SECONDS:-5}
DRAIN_TIMEOUT=300
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RELAY=$ROOT/relay/walbus-relay
. "$ROOT/tests/lib/cluster.sh"

BENCH_NAME=bench/jetstream.sh
. "$ROOT/bench/lib.sh"
bench_init jetstream

URL1=nats://127.0.0.1:$NATS_PORT
URLS3=nats://127.0.0.1:$((NATS_PORT + 1)),nats://127.0.0.1:$((NATS_PORT + 2)),nats://127.0.0.1:$((NATS_PORT + 3))
NATS_PIDS=()

# finish and stop_pid: bench/lib.sh
# ------------------------------------------------------------------ build

[ -f "$(pg_config --pkglibdir)/walbus.so" ] ||
    die "the walbus plugin is not installed (make install)"
command -v nats-server >/dev/null || die "nats-server is needed"
pkg-config --exists libnats || die "libnats-dev is needed"
make -s -C "$ROOT/relay" >"$WORK/build.log" 2>&1 &&
    make -s -C "$ROOT/client" >>"$WORK/build.log" 2>&1 ||
    { cat "$WORK/build.log" >&2; die "cannot build relay/ and client/"; }
CFLAGS="-O2 -std=c11 -D_GNU_SOURCE -Wall -Werror"
NATS_CFLAGS=$(pkg-config --cflags libnats)
NATS_LIBS=$(pkg-config --libs libnats)
cc $CFLAGS -I"$ROOT/client" -I"$ROOT/proto" -o "$WORK/bus_sink" \
    "$ROOT/bench/bus_sink.c" "$ROOT/client/libwalbus.a" -lnng -lnats -lpthread \
    >>"$WORK/build.log" 2>&1 &&
    cc $CFLAGS $NATS_CFLAGS -o "$WORK/jsinfo" "$ROOT/tests/jsclust/jsinfo.c" \
        $NATS_LIBS >>"$WORK/build.log" 2>&1 &&
    cc $CFLAGS -I"$(pg_config --includedir)" -o "$WORK/rate_insert" \
        "$ROOT/bench/rate_insert.c" -L"$(pg_config --libdir)" -lpq \
        >>"$WORK/build.log" 2>&1 ||
    { cat "$WORK/build.log" >&2; die "cannot build the bench helpers"; }

# ------------------------------------------------------------- nats-server

# nats_up KIND DIR: fresh stores in DIR; KIND js1 (one node) or js3 (three
# clustered, ready once they can place a stream of 3 replicas)
nats_up() {
    local kind=$1 dir=$2 i j routes=
    mkdir -p "$dir"
    if [ "$kind" = js1 ]; then
        nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$dir/s" \
            >"$dir/n.log" 2>&1 &
        NATS_PIDS+=("$!")
        PIDS+=("$!")
        for _ in $(seq 100); do
            bash -c "echo >/dev/tcp/127.0.0.1/$NATS_PORT" 2>/dev/null && return 0
            sleep 0.1
        done
        return 1
    fi
    for j in 1 2 3; do
        routes="$routes
        nats-route://127.0.0.1:$((NATS_PORT + 100 + j))"
    done
    for i in 1 2 3; do
        cat >"$dir/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$((NATS_PORT + i))
jetstream {
    store_dir: "$dir/n$i"
}
cluster {
    name: walbus_bench
    listen: 127.0.0.1:$((NATS_PORT + 100 + i))
    routes: [$routes
    ]
}
CONF
        nats-server -c "$dir/n$i.conf" >"$dir/n$i.log" 2>&1 &
        NATS_PIDS+=("$!")
        PIDS+=("$!")
    done
    for _ in $(seq 60); do
        "$WORK/jsinfo" "$URLS3" 2>/dev/null && return 0
        sleep 0.5
    done
    return 1
}

nats_down() {
    local pid
    for pid in "${NATS_PIDS[@]}"; do
        stop_pid "$pid"
    done
    NATS_PIDS=()
}

# relay_args KIND: the relay's JetStream flags for a target
relay_args() {
    case $1 in
    nng) echo "--wait-subscribers 1" ;;
    js1) echo "--jetstream $URL1" ;;
    js3) echo "--jetstream ${URLS3//,/ --jetstream } --jetstream-replicas 3" ;;
    esac
}

# reader KIND MODE COUNT TIMEOUT: the reader of a target, in the background
reader() {
    case $1 in
    nng) "$WORK/bus_sink" "$2" "ipc://$WORK/$NAME.bus" "$3" "$4" ;;
    js1) "$WORK/bus_sink" "$2" "$URL1" "$3" "$4" ;;
    js3) "$WORK/bus_sink" "$2" "$URLS3" "$3" "$4" ;;
    esac
}

# ---------------------------------------------------------------- cluster

cluster_create "$PORT" "max_replication_slots = 32
shared_buffers = 256MB
max_wal_size = 4GB
logical_decoding_work_mem = 256MB" || die "cannot create a cluster"
cluster_start || die "cannot start the cluster"
DSN="host=$CLUSTER_DIR port=$PORT user=postgres dbname=postgres"
P() { cluster_psql -d postgres "$@"; }

P -c "create table bench_rows (id bigserial primary key, name text not null,
        score numeric(12,2), note text, created timestamptz default now());" ||
    die "cannot create the table"

TARGETS="nng js1 js3"
for r in $(seq "$REPEATS"); do
    for t in $TARGETS; do
        P -c "select pg_create_logical_replication_slot('s_${t}_$r', 'walbus')" \
            >/dev/null || die "cannot create slot s_${t}_$r"
    done
done

echo "writing the workload: $ROWS inserts in transactions of $TXN_ROWS rows"
for ((done_rows = 0; done_rows < ROWS; done_rows += TXN_ROWS)); do
    n=$((ROWS - done_rows < TXN_ROWS ? ROWS - done_rows : TXN_ROWS))
    echo "insert into bench_rows (name, score, note)
          select 'name ' || g, g * 1.5, 'note ' || g from generate_series(1, $n) g;"
done | P >/dev/null || die "cannot write the workload"
P -c checkpoint >/dev/null || die "checkpoint"

# ------------------------------------------------------------- throughput

# drain KIND SLOT: sets DRAIN_NS (relay start to the reader's last change)
# and GOT (changes the reader received); returns 1 if a JetStream reader
# did not get ROWS changes
drain() {
    local kind=$1 slot=$2 relay sink t0 line
    NAME=$slot
    if [ "$kind" != nng ]; then
        nats_up "$kind" "$WORK/$slot.nats" ||
            { echo "$BENCH_NAME: nats-server ($kind) not ready" >&2; return 1; }
    fi
    t0=$(now_ns)
    # shellcheck disable=SC2046
    "$RELAY" --dbname "$DSN" --slot "$slot" --bus "ipc://$WORK/$slot.bus" \
        --control "ipc://$WORK/$slot.ctl" $(relay_args "$kind") \
        >"$WORK/$slot.relay.log" 2>&1 &
    relay=$!
    PIDS+=("$relay")
    reader "$kind" count "$ROWS" "$DRAIN_TIMEOUT" >"$WORK/$slot.sink" 2>&1 &
    sink=$!
    PIDS+=("$sink")
    finish $((DRAIN_TIMEOUT + 5)) "$sink"
    stop_pid "$relay"
    nats_down
    line=$(cat "$WORK/$slot.sink")
    # pub0 drops frames for a subscriber that falls behind: nng may miss
    # some (its rate is then what the subscriber received); JetStream not
    [[ $line =~ n=([0-9]+)\ .*last_ns=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] &&
        { [ "$kind" = nng ] || [ "${BASH_REMATCH[1]}" = "$ROWS" ]; } || {
        echo "$BENCH_NAME: $slot: the reader got ${BASH_REMATCH[1]:-nothing} of $ROWS:" >&2
        tail -n 5 "$WORK/$slot.sink" "$WORK/$slot.relay.log" >&2
        return 1
    }
    GOT=${BASH_REMATCH[1]}
    DRAIN_NS=$((BASH_REMATCH[2] - t0))
}

declare -A BEST MISSED
failed=0
echo "draining ($REPEATS pass(es) each; from the relay's start to the reader's last change)"
for r in $(seq "$REPEATS"); do
    for t in $TARGETS; do
        if drain "$t" "s_${t}_$r"; then
            x=$(rate "$GOT" "$DRAIN_NS")
            pct=$(printf '%.1f' "$(echo "scale=3; 100 * ($ROWS - $GOT) / $ROWS" | bc)")
            echo "  pass $r $t: $x changes/s, missed $((ROWS - GOT)) of $ROWS"
            if [ -z "${BEST[$t]:-}" ] || [ "$x" -gt "${BEST[$t]}" ]; then
                BEST[$t]=$x
                MISSED[$t]=$pct
            fi
        else failed=1; fi
    done
done

# ---------------------------------------------------------------- latency

# latency KIND: sets LAT_P50, LAT_P99, LAT_MAX (us) and LOAD
latency() {
    local kind=$1 slot=s_lat_$1 relay sink count line
    NAME=$slot
    count=$(echo "$RATE * $LAT_SECONDS / $LAT_TXN_ROWS * $LAT_TXN_ROWS" | bc)
    P -c "select pg_create_logical_replication_slot('$slot', 'walbus')" \
        >/dev/null || return 1
    if [ "$kind" != nng ]; then
        nats_up "$kind" "$WORK/$slot.nats" || return 1
    fi
    # shellcheck disable=SC2046
    "$RELAY" --dbname "$DSN" --slot "$slot" --bus "ipc://$WORK/$slot.bus" \
        --control "ipc://$WORK/$slot.ctl" $(relay_args "$kind") \
        >"$WORK/$slot.relay.log" 2>&1 &
    relay=$!
    PIDS+=("$relay")
    reader "$kind" lat "$count" $((LAT_SECONDS + 60)) >"$WORK/$slot.sink" 2>&1 &
    sink=$!
    PIDS+=("$sink")
    for _ in $(seq 100); do
        grep -qs 'streaming slot' "$WORK/$slot.relay.log" && break
        sleep 0.1
    done
    # the reader has subscribed once the relay streams (nng: it waited)
    sleep 1
    LOAD=$("$WORK/rate_insert" "$DSN" "$RATE" "$LAT_TXN_ROWS" "$LAT_SECONDS")
    finish 30 "$sink"
    stop_pid "$relay"
    nats_down
    line=$(cat "$WORK/$slot.sink")
    [[ $line =~ n=([0-9]+)\ .*p50_us=([0-9]+)\ p99_us=([0-9]+)\ max_us=([0-9]+) ]] &&
        [ "${BASH_REMATCH[1]}" = "$count" ] || {
        echo "$BENCH_NAME: latency $kind failed:" >&2
        tail -n 5 "$WORK/$slot.sink" "$WORK/$slot.relay.log" >&2
        return 1
    }
    LAT_P50=${BASH_REMATCH[2]} LAT_P99=${BASH_REMATCH[3]} LAT_MAX=${BASH_REMATCH[4]}
}

declare -A P50 P99 PMAX
echo "latency: $RATE changes/s in transactions of $LAT_TXN_ROWS rows for $LAT_SECONDS s"
for t in $TARGETS; do
    if latency "$t"; then
        P50[$t]=$LAT_P50 P99[$t]=$LAT_P99 PMAX[$t]=$LAT_MAX
        echo "  $t: load $LOAD"
        echo "  $t: commit-to-reader p50 $LAT_P50 us, p99 $LAT_P99 us, max $LAT_MAX us"
    else failed=1; fi
done

# ------------------------------------------------------------------ table

ratio() { printf '%.2f' "$(echo "scale=4; $1 / $2" | bc)"; }
ms() { printf '%.1f' "$(echo "scale=3; $1 / 1000" | bc)"; }
echo
echo "machine: $(nproc) cores; $ROWS changes, transactions of $TXN_ROWS rows; best of $REPEATS"
echo "latency at $RATE changes/s, transactions of $LAT_TXN_ROWS rows, $LAT_SECONDS s"
printf '%-34s %10s %7s %7s %7s %7s %7s\n' "target" "changes/s" "missed" "vs nng" "p50 ms" "p99 ms" "max ms"
for t in $TARGETS; do
    case $t in
    nng) label="nng bus, 1 libwalbus subscriber" ;;
    js1) label="JetStream, 1 node" ;;
    js3) label="JetStream, 3 nodes, 3 replicas" ;;
    esac
    vs=
    [ -n "${BEST[$t]:-}" ] && [ -n "${BEST[nng]:-}" ] && vs=$(ratio "${BEST[$t]}" "${BEST[nng]}")x
    printf '%-34s %10s %7s %7s %7s %7s %7s\n' "$label" "${BEST[$t]:-}" \
        "${MISSED[$t]:+${MISSED[$t]}%}" "$vs" \
        "$([ -n "${P50[$t]:-}" ] && ms "${P50[$t]}")" \
        "$([ -n "${P99[$t]:-}" ] && ms "${P99[$t]}")" \
        "$([ -n "${PMAX[$t]:-}" ] && ms "${PMAX[$t]}")"
done
exit $failed
