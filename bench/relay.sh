#!/usr/bin/env bash
# Throughput and latency of walbus-relay from commit to subscriber, with
# pg_recvlogical + wal2json on the same workload, in the same run, as the
# anchor; and the verdict against the targets.
#
# Usage: bench/relay.sh [ROWS] [REPEATS]
#   ROWS     rows of the throughput workload (inserts into a bigserial table,
#            in transactions of TXN_ROWS); default 200000
#   REPEATS  drains per consumer, the fastest is kept; default 2
# Environment:
#   PORT          cluster port (default 5901; the server listens on a unix
#                 socket in its own directory only)
#   TXN_ROWS      rows per transaction of the throughput workload (1000)
#   RATE          changes/s of the latency run (10000)
#   LAT_TXN_ROWS  rows per transaction of the latency run (100: one
#                 transaction every 10 ms at 10000/s)
#   LAT_SECONDS   length of the latency run (5)
#   ONLY          run only these drains, e.g. ONLY="wb1 wbd" (names: w2j1
#                 w2j2 w2j4 wb1 wbd wb1raw wb4 wb4raw old1); the latency runs
#                 are then skipped unless LATENCY=1
#   BASELINE_RELAY  a walbus-relay built from an earlier commit (bus layout 1,
#                 one message per change), e.g. from 616127b; when set, the
#                 drain "old1" runs it with one raw1 subscriber in the same
#                 run, for bus bytes and relay CPU per change before frames
#   FRAME_BYTES   the relay's --frame-bytes (default: the relay's default)
#   KEEP=1        keep the cluster and the work directory (logs)
# Needs: the walbus plugin installed (make install), postgresql-15-wal2json,
# relay/walbus-relay and client/libwalbus.a built (make), cc, libpq, nng.
#
# Throughput: the workload's WAL is written first, while one slot per
# consumer and repeat already exists; then each consumer drains it and is
# timed from its start until it has everything (or, for the relay, until
# the last change its subscribers received: a sink stops after ROWS, or
# after 2 s without a change once changes have begun to arrive):
#   wal2json v1  pg_recvlogical -P wal2json --start -E ENDPOS -f /dev/null
#   wal2json v2  the same with -o format-version=2 (one JSON line per change)
#   wal2json v1 x4  four such pg_recvlogical at once, each on its own slot:
#                how 4 consumers would be fed without a relay (each
#                walsender decodes the WAL again); the rate is per consumer
#   relay x1     walbus-relay --wait-subscribers 1 with 1 bench/bus_sink
#                (libwalbus, decodes every frame)
#   relay x4     the same with 4 subscribers
#   relay durable  walbus-relay --durable bench with 1 bus_sink durable
#                subscriber (libwalbus as a durable consumer, acking every
#                change): nothing is lost; compared with relay x1 (target
#                >= 0.8x, issue 4)
#   relay raw    1 and 4 bare nng sub sockets that decode frames with the
#                proto library and count their changes (no libwalbus): a
#                lighter subscriber, to show whether libwalbus is the
#                bottleneck
# For every relay drain the relay's own status (walbus-tap --status) gives
# bus messages, bus bytes and changes, and /proc its CPU time: messages/s,
# bus bytes per change and relay CPU per change are shown beside the
# rates.
# pub0 drops messages for a subscriber that falls behind (docs/RELAY.md,
# "The bus"), so a relay drain may deliver less than ROWS: its rate is the
# changes each subscriber received on average per second (goodput), shown
# with the share missed; a drain that missed changes does not meet the
# throughput target, whatever its rate.
# The relay's timer starts once it listens and waits for its subscribers,
# so it includes the sinks' start-up and the relay's START_REPLICATION, not
# its own start-up checks; the anchor's includes pg_recvlogical's start-up.
# Latency: bench/rate_insert commits LAT_TXN_ROWS rows every
# LAT_TXN_ROWS/RATE s for LAT_SECONDS s while 1 (then 4) bus_sink lat
# subscribers take, for every change, receive time minus the change's
# commit_time (PostgreSQL's commit timestamp; same machine clock).
#
# Prints each measurement, then a table and the verdicts: relay x4 per
# subscriber >= 1.5x each of 4 simultaneous pg_recvlogical + wal2json v1,
# 0 missed; relay x1 >= 1.0x one pg_recvlogical + wal2json v1, 0 missed;
# durable x1 >= 0.9x best effort x1, 0 missed; p99 < 5 ms (1 subscriber)
# and < 10 ms (4) at RATE; with BASELINE_RELAY, bus bytes per change of
# layout 2 <= 0.5x layout 1 and the relay's CPU per change before/after.  Exits 0 whether or not
# the targets are met (it measures, it does not test); 1 if a run failed.
# Every wait is bounded; a trap stops every process and the cluster.
set -uo pipefail

ROWS=${1:-200000}
REPEATS=${2:-2}
PORT=${PORT:-5901}
TXN_ROWS=${TXN_ROWS:-1000}
RATE=${RATE:-10000}
LAT_TXN_ROWS=${LAT_TXN_ROWS:-100}
LAT_SECONDS=${LAT_SECONDS:-5}
DRAIN_TIMEOUT=300
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RELAY=$ROOT/relay/walbus-relay
TAP=$ROOT/tools/walbus-tap
CLK_TCK=$(getconf CLK_TCK)
. "$ROOT/tests/lib/cluster.sh"

TARGET_RATIO4=1.5		# relay x4 per subscriber / 4 x pg_recvlogical per consumer
TARGET_RATIO1=1.0		# relay x1 / 1 x pg_recvlogical (wal2json v1)
TARGET_DURABLE=0.9		# durable x1 / best effort x1
TARGET_P99_US_1=5000
TARGET_P99_US_4=10000
TARGET_BYTES=0.5		# bus bytes per change, layout 2 / layout 1

BENCH_NAME=bench/relay.sh
. "$ROOT/bench/lib.sh"
bench_init relay

# ------------------------------------------------------------------ build

[ -f "$(pg_config --pkglibdir)/walbus.so" ] ||
    die "the walbus plugin is not installed (make install)"
[ -f "$(pg_config --pkglibdir)/wal2json.so" ] ||
    die "wal2json is not installed (postgresql-15-wal2json)"
make -s -C "$ROOT/relay" >"$WORK/build.log" 2>&1 &&
    make -s -C "$ROOT/client" >>"$WORK/build.log" 2>&1 ||
    { cat "$WORK/build.log" >&2; die "cannot build relay/ and client/"; }
CFLAGS="-O2 -std=c11 -D_GNU_SOURCE -Wall -Werror"
cc $CFLAGS -I"$ROOT/client" -I"$ROOT/proto" -o "$WORK/bus_sink" \
    "$ROOT/bench/bus_sink.c" "$ROOT/client/libwalbus.a" -lnng -lnats -lpthread \
    >>"$WORK/build.log" 2>&1 &&
    cc $CFLAGS -I"$(pg_config --includedir)" -o "$WORK/rate_insert" \
        "$ROOT/bench/rate_insert.c" -L"$(pg_config --libdir)" -lpq \
        >>"$WORK/build.log" 2>&1 ||
    { cat "$WORK/build.log" >&2; die "cannot build the bench helpers"; }

# ---------------------------------------------------------------- cluster

cluster_create "$PORT" "max_replication_slots = 64
shared_buffers = 256MB
max_wal_size = 4GB
logical_decoding_work_mem = 256MB
output_plugin_libraries = 'pgoutput, test_decoding, walbus, wal2json'" ||
    die "cannot create a cluster"
cluster_start || die "cannot start the cluster"
DSN="host=$CLUSTER_DIR port=$PORT user=postgres dbname=postgres"
P() { cluster_psql -d postgres "$@"; }

P -c "create table bench_rows (id bigserial primary key, name text not null,
        score numeric(12,2), note text, created timestamptz default now());" ||
    die "cannot create the table"

# relay_drain NAME SLOT MODE K [RELAY]: the relay on SLOT, waiting for K
# subscribers; once it listens, K bus_sink MODE subscribers are started
# (the timer starts then) and take up to ROWS changes each.  Sets DRAIN_NS
# (timer start to the last change received by any subscriber), SPAN_NS
# (first change received to last, over all subscribers), GOT (changes
# received, summed over subscribers) and LOST (changes libwalbus proved
# lost; a raw subscriber cannot tell, ROWS*K-GOT says it); and from the
# relay before it stops: BUS_MSGS (its last seq), BUS_BYTES, BUS_CHANGES
# and CPU_US (user + system).  Returns 1 if a subscriber received nothing
# or failed.
relay_drain() {
    local name=$1 slot=$2 mode=$3 k=$4 bin=${5:-$RELAY} i t0 relay sinks=()
    local ok=1 line first=0 last=0 f l durable=() ctl=() st fb=()
    # the baseline relay predates --frame-bytes
    [ -n "${FRAME_BYTES:-}" ] && [ "$bin" = "$RELAY" ] &&
        fb=(--frame-bytes "$FRAME_BYTES")
    GOT=0 LOST=0
    if [ "$mode" = durable ]; then
        durable=(--durable bench)
        ctl=("ipc://$WORK/$name.ctl")
    fi
    "$bin" --dbname "$DSN" --slot "$slot" --bus "ipc://$WORK/$name.bus" \
        --control "ipc://$WORK/$name.ctl" --wait-subscribers "$k" \
        "${durable[@]}" "${fb[@]}" >"$WORK/$name.relay.log" 2>&1 &
    relay=$!
    PIDS+=($relay)
    for _ in $(seq 100); do
        grep -q 'waiting for' "$WORK/$name.relay.log" && break
        sleep 0.05
    done
    grep -q 'waiting for' "$WORK/$name.relay.log" ||
        { cat "$WORK/$name.relay.log" >&2; stop_pid "$relay"; return 1; }
    t0=$(now_ns)
    for i in $(seq "$k"); do
        "$WORK/bus_sink" "$mode" "ipc://$WORK/$name.bus" "$ROWS" \
            "$DRAIN_TIMEOUT" "${ctl[@]}" >"$WORK/$name.sink$i" 2>&1 &
        sinks+=($!)
        PIDS+=($!)
    done
    finish $((DRAIN_TIMEOUT + 5)) "${sinks[@]}"
    st=$("$TAP" --control "ipc://$WORK/$name.ctl" --status 2>/dev/null)
    BUS_MSGS=$(jq -r '.last_seq // 0' <<<"$st" 2>/dev/null || echo 0)
    BUS_BYTES=$(jq -r '.bytes // 0' <<<"$st" 2>/dev/null || echo 0)
    BUS_CHANGES=$(jq -r '.changes // 0' <<<"$st" 2>/dev/null || echo 0)
    CPU_US=$(awk -v t="$CLK_TCK" '{ printf "%d", ($14 + $15) * 1000000 / t }' \
        "/proc/$relay/stat" 2>/dev/null || echo 0)
    stop_pid "$relay"
    for i in $(seq "$k"); do
        line=$(cat "$WORK/$name.sink$i")
        [[ $line =~ n=([0-9]+)\ lost=([0-9]+)\ first_ns=([0-9]+)\ last_ns=([0-9]+) ]] &&
            [ "${BASH_REMATCH[1]}" -gt 0 ] || { ok=0; continue; }
        GOT=$((GOT + BASH_REMATCH[1]))
        LOST=$((LOST + BASH_REMATCH[2]))
        f=${BASH_REMATCH[3]} l=${BASH_REMATCH[4]}
        { [ "$first" = 0 ] || [ "$f" -lt "$first" ]; } && first=$f
        [ "$l" -gt "$last" ] && last=$l
    done
    if [ $ok = 0 ]; then
        echo "bench/relay.sh: $name: a subscriber received nothing or failed:" >&2
        tail -n 5 "$WORK/$name".sink* "$WORK/$name.relay.log" >&2
        return 1
    fi
    DRAIN_NS=$((last - t0))
    SPAN_NS=$((last - first))
}

# anchor_drain SLOT ENDPOS OPTS...: pg_recvlogical on SLOT to ENDPOS;
# sets DRAIN_NS.
anchor_drain() {
    local slot=$1 endpos=$2 t0 t1 pid
    shift 2
    t0=$(now_ns)
    as_postgres "$PG_BINDIR/pg_recvlogical" -h "$CLUSTER_DIR" -p "$PORT" \
        -U postgres -d postgres --slot "$slot" --start -E "$endpos" \
        -f /dev/null "$@" >"$WORK/$slot.log" 2>&1 &
    pid=$!
    PIDS+=($pid)
    finish "$DRAIN_TIMEOUT" "$pid" ||
        { cat "$WORK/$slot.log" >&2; echo "bench/relay.sh: pg_recvlogical on $slot failed" >&2; return 1; }
    t1=$(now_ns)
    DRAIN_NS=$((t1 - t0))
}

# anchor_drain4 SLOTPREFIX ENDPOS: pg_recvlogical (wal2json v1) on
# SLOTPREFIX_1..4 at once; sets DRAIN_NS to when the last one finished.
anchor_drain4() {
    local prefix=$1 endpos=$2 t0 pids=() i
    t0=$(now_ns)
    for i in 1 2 3 4; do
        as_postgres "$PG_BINDIR/pg_recvlogical" -h "$CLUSTER_DIR" -p "$PORT" \
            -U postgres -d postgres --slot "${prefix}_$i" --start -E "$endpos" \
            -f /dev/null >"$WORK/${prefix}_$i.log" 2>&1 &
        pids+=($!)
        PIDS+=($!)
    done
    finish "$DRAIN_TIMEOUT" "${pids[@]}" ||
        { cat "$WORK/${prefix}"_*.log >&2; echo "bench/relay.sh: pg_recvlogical x4 failed" >&2; return 1; }
    DRAIN_NS=$(($(now_ns) - t0))
}

# ------------------------------------------------------------- throughput

CONSUMERS=${ONLY:-w2j1 w2j2 w2j4 wb1 wbd wb1raw wb4 wb4raw${BASELINE_RELAY:+ old1}}
[ -z "${BASELINE_RELAY:-}" ] || [ -x "$BASELINE_RELAY" ] ||
    die "BASELINE_RELAY=$BASELINE_RELAY is not an executable"
wanted() { [[ " $CONSUMERS " == *" $1 "* ]]; }
for r in $(seq "$REPEATS"); do
    for c in $CONSUMERS; do
        plugin=walbus
        [[ $c == w2j* ]] && plugin=wal2json
        if [ "$c" = w2j4 ]; then
            for i in 1 2 3 4; do
                P -c "select pg_create_logical_replication_slot('s_${c}_${r}_$i', '$plugin')" \
                    >/dev/null || die "cannot create slot s_${c}_${r}_$i"
            done
            continue
        fi
        P -c "select pg_create_logical_replication_slot('s_${c}_$r', '$plugin')" \
            >/dev/null || die "cannot create slot s_${c}_$r"
    done
done

echo "writing the workload: $ROWS inserts in transactions of $TXN_ROWS rows"
for ((done_rows = 0; done_rows < ROWS; done_rows += TXN_ROWS)); do
    n=$((ROWS - done_rows < TXN_ROWS ? ROWS - done_rows : TXN_ROWS))
    echo "insert into bench_rows (name, score, note)
          select 'name ' || g, g * 1.5, 'note ' || g from generate_series(1, $n) g;"
done | P || die "cannot write the workload"
ENDPOS=$(P -At -c "select pg_current_wal_lsn()")
P -c checkpoint || die "checkpoint"

# BEST: highest changes/s per consumer (per subscriber for the relay);
# MISSED: the share of changes the subscribers missed in that pass (%);
# for relay drains, of that pass: MSGS (bus messages/s), BPC (bus bytes per
# change), CPC (relay CPU microseconds per change)
declare -A BEST MISSED MSGS BPC CPC
keep_best() {
    if [ -z "${BEST[$1]:-}" ] || [ "$2" -gt "${BEST[$1]}" ]; then
        BEST[$1]=$2
        MISSED[$1]=${3:-}
        MSGS[$1]=${4:-}
        BPC[$1]=${5:-}
        CPC[$1]=${6:-}
    fi
}

echo "draining ($REPEATS passes each; rates from consumer start to the last change received)"
failed=0
for r in $(seq "$REPEATS"); do
    if ! wanted w2j1; then :
    elif anchor_drain "s_w2j1_$r" "$ENDPOS"; then
        keep_best w2j1 "$(rate "$ROWS" "$DRAIN_NS")"
        echo "  pass $r wal2json v1 (pg_recvlogical)  $(rate "$ROWS" "$DRAIN_NS") changes/s"
    else failed=1; fi
    if ! wanted w2j4; then :
    elif anchor_drain4 "s_w2j4_$r" "$ENDPOS"; then
        keep_best w2j4 "$(rate "$ROWS" "$DRAIN_NS")"
        echo "  pass $r wal2json v1, 4 pg_recvlogical at once  $(rate "$ROWS" "$DRAIN_NS") changes/s per consumer"
    else failed=1; fi
    if ! wanted w2j2; then :
    elif anchor_drain "s_w2j2_$r" "$ENDPOS" -o format-version=2; then
        keep_best w2j2 "$(rate "$ROWS" "$DRAIN_NS")"
        echo "  pass $r wal2json v2 (pg_recvlogical)  $(rate "$ROWS" "$DRAIN_NS") changes/s"
    else failed=1; fi
    for spec in "wb1 count 1" "wbd durable 1" "wb1raw raw 1" "wb4 count 4" "wb4raw raw 4" "old1 raw1 1"; do
        set -- $spec
        wanted "$1" || continue
        bin=$RELAY
        [ "$1" = old1 ] && bin=$BASELINE_RELAY
        if relay_drain "$1_$r" "s_$1_$r" "$2" "$3" "$bin"; then
            missed=$((ROWS * $3 - GOT))
            got=$(rate $((GOT / $3)) "$DRAIN_NS")
            pct=$(printf '%.1f' "$(echo "scale=3; 100 * $missed / ($ROWS * $3)" | bc)")
            proved=$LOST
            [[ $2 == raw* ]] && proved="n/a"
            msgs=$(rate "$BUS_MSGS" "$DRAIN_NS")
            bpc=$(printf '%.1f' "$(echo "scale=3; $BUS_BYTES / ($BUS_CHANGES + ($BUS_CHANGES == 0))" | bc)")
            cpc=$(printf '%.2f' "$(echo "scale=4; $CPU_US / ($BUS_CHANGES + ($BUS_CHANGES == 0))" | bc)")
            keep_best "$1" "$got" "$pct" "$msgs" "$bpc" "$cpc"
            printf '  pass %s relay%s, %s %-11s %7s changes/s per subscriber (first to last change: %s/s), missed %s of %s = %s%% (libwalbus proved %s lost); bus %s messages/s, %s bytes/change; relay CPU %s us/change\n' \
                "$r" "$([ "$1" = old1 ] && echo " (baseline)")" "$3" "$2 sinks:" "$got" \
                "$(rate $((GOT / $3)) "$SPAN_NS")" "$missed" "$((ROWS * $3))" "$pct" "$proved" \
                "$msgs" "$bpc" "$cpc"
        else failed=1; fi
    done
done

# ---------------------------------------------------------------- latency

# latency K: K lat subscribers during a rate_insert run; sets LAT_P50,
# LAT_P99, LAT_MAX (the worst subscriber's; over the changes received),
# LAT_MISSED (changes some subscriber did not receive) and LOAD
# (rate_insert's line).
latency() {
    local k=$1 name=lat$1 i relay sinks=() count line ok=1
    count=$(echo "$RATE * $LAT_SECONDS / $LAT_TXN_ROWS * $LAT_TXN_ROWS" | bc)
    P -c "select pg_create_logical_replication_slot('s_$name', 'walbus')" \
        >/dev/null || return 1
    for i in $(seq "$k"); do
        "$WORK/bus_sink" lat "ipc://$WORK/$name.bus" "$count" \
            $((LAT_SECONDS + 60)) >"$WORK/$name.sink$i" 2>&1 &
        sinks+=($!)
        PIDS+=($!)
    done
    "$RELAY" --dbname "$DSN" --slot "s_$name" --bus "ipc://$WORK/$name.bus" \
        --control "ipc://$WORK/$name.ctl" --wait-subscribers "$k" \
        ${FRAME_BYTES:+--frame-bytes "$FRAME_BYTES"} >"$WORK/$name.relay.log" 2>&1 &
    relay=$!
    PIDS+=($relay)
    for _ in $(seq 100); do
        grep -q 'streaming slot' "$WORK/$name.relay.log" && break
        sleep 0.1
    done
    grep -q 'streaming slot' "$WORK/$name.relay.log" ||
        { cat "$WORK/$name.relay.log" >&2; stop_pid "$relay"; return 1; }
    LOAD=$("$WORK/rate_insert" "$DSN" "$RATE" "$LAT_TXN_ROWS" "$LAT_SECONDS") || ok=0
    finish 30 "${sinks[@]}"
    stop_pid "$relay"
    LAT_P50=0 LAT_P99=0 LAT_MAX=0 LAT_MISSED=0
    for i in $(seq "$k"); do
        line=$(cat "$WORK/$name.sink$i")
        [[ $line =~ n=([0-9]+)\ .*p50_us=([0-9]+)\ p99_us=([0-9]+)\ max_us=([0-9]+) ]] ||
            { ok=0; continue; }
        LAT_MISSED=$((LAT_MISSED + count - BASH_REMATCH[1]))
        [ "${BASH_REMATCH[2]}" -gt "$LAT_P50" ] && LAT_P50=${BASH_REMATCH[2]}
        [ "${BASH_REMATCH[3]}" -gt "$LAT_P99" ] && LAT_P99=${BASH_REMATCH[3]}
        [ "${BASH_REMATCH[4]}" -gt "$LAT_MAX" ] && LAT_MAX=${BASH_REMATCH[4]}
    done
    if [ $ok = 0 ]; then
        echo "bench/relay.sh: latency run with $k subscribers failed:" >&2
        tail -n 5 "$WORK/$name".sink* "$WORK/$name.relay.log" >&2
        return 1
    fi
}

[ -z "${ONLY:-}" ] || [ "${LATENCY:-0}" = 1 ] &&
    echo "latency: $RATE changes/s in transactions of $LAT_TXN_ROWS rows for $LAT_SECONDS s"
declare -A P50 P99 PMAX
for k in 1 4; do
    [ -n "${ONLY:-}" ] && [ "${LATENCY:-0}" != 1 ] && break
    if latency "$k"; then
        P50[$k]=$LAT_P50 P99[$k]=$LAT_P99 PMAX[$k]=$LAT_MAX
        echo "  $k subscriber(s): load $LOAD"
        echo "  $k subscriber(s): commit-to-subscriber p50 ${LAT_P50} us, p99 ${LAT_P99} us, max ${LAT_MAX} us (worst subscriber), missed $LAT_MISSED"
    else failed=1; fi
done

# ------------------------------------------------------------------ table

verdict() { [ "$1" = 1 ] && echo met || echo "NOT met"; }
# ratio A B: A / B with two decimals
ratio() { printf '%.2f' "$(echo "scale=4; $1 / $2" | bc)"; }
ge() { [ "$(echo "$1 >= $2" | bc)" = 1 ] && echo 1 || echo 0; }
echo
echo "machine: $(nproc) cores; $ROWS changes, transactions of $TXN_ROWS rows; best of $REPEATS"
printf '%-36s %11s %7s %11s %9s %9s\n' "consumer" "changes/s" "missed" "bus msgs/s" "B/change" "CPU us/ch"
for c in w2j1 w2j2 w2j4 wb1 wbd wb1raw wb4 wb4raw old1; do
    case $c in
    w2j4) label="4 x pg_recvlogical + wal2json v1" ;;
    w2j1) label="pg_recvlogical + wal2json v1" ;;
    w2j2) label="pg_recvlogical + wal2json v2" ;;
    wb1) label="relay, 1 libwalbus subscriber" ;;
    wbd) label="relay, 1 durable consumer (acks)" ;;
    wb1raw) label="relay, 1 raw subscriber" ;;
    wb4) label="relay, 4 libwalbus subscribers" ;;
    wb4raw) label="relay, 4 raw subscribers" ;;
    old1) label="baseline relay (layout 1), 1 raw" ;;
    esac
    [ -n "${BEST[$c]:-}" ] &&
        printf '%-36s %11s %7s %11s %9s %9s\n' "$label" "${BEST[$c]}" \
            "${MISSED[$c]:+${MISSED[$c]}%}" "${MSGS[$c]:-}" "${BPC[$c]:-}" "${CPC[$c]:-}"
done
echo "(changes/s: per consumer, per subscriber for the relay)"
if [ -n "${BEST[wb4]:-}" ] && [ -n "${BEST[w2j4]:-}" ]; then
    x=$(ratio "${BEST[wb4]}" "${BEST[w2j4]}")
    met=$(ge "$x" $TARGET_RATIO4)
    [ "${MISSED[wb4]}" = 0.0 ] || met=0
    echo "relay x4 / 4 x pg_recvlogical, per consumer: ${x}x, missed ${MISSED[wb4]}% (target >= ${TARGET_RATIO4}x, 0 missed): $(verdict "$met")"
fi
if [ -n "${BEST[wb1]:-}" ] && [ -n "${BEST[w2j1]:-}" ]; then
    x=$(ratio "${BEST[wb1]}" "${BEST[w2j1]}")
    met=$(ge "$x" $TARGET_RATIO1)
    [ "${MISSED[wb1]}" = 0.0 ] || met=0
    echo "relay x1 / pg_recvlogical + wal2json v1: ${x}x, missed ${MISSED[wb1]}% (target >= ${TARGET_RATIO1}x, 0 missed): $(verdict "$met")"
fi
if [ -n "${BEST[wbd]:-}" ] && [ -n "${BEST[wb1]:-}" ]; then
    x=$(ratio "${BEST[wbd]}" "${BEST[wb1]}")
    met=$(ge "$x" $TARGET_DURABLE)
    [ "${MISSED[wbd]}" = 0.0 ] || met=0
    echo "durable x1 / best-effort x1: ${x}x, durable missed ${MISSED[wbd]}% (target >= ${TARGET_DURABLE}x, 0 missed): $(verdict "$met")"
fi
if [ -n "${BPC[old1]:-}" ] && [ -n "${BPC[wb1raw]:-}" ]; then
    x=$(ratio "${BPC[wb1raw]}" "${BPC[old1]}")
    echo "bus bytes per change, layout 2 / layout 1: ${x}x (${BPC[wb1raw]} / ${BPC[old1]}; target <= ${TARGET_BYTES}x): $(verdict "$(ge $TARGET_BYTES "$x")")"
    echo "relay CPU per change, layout 2 / layout 1 (1 raw subscriber each): $(ratio "${CPC[wb1raw]}" "${CPC[old1]}")x (${CPC[wb1raw]} / ${CPC[old1]} us)"
fi
if [ -n "${P99[1]:-}" ]; then
    echo "latency at $RATE/s, 1 subscriber:  p50 $(ratio "${P50[1]}" 1000) ms, p99 $(ratio "${P99[1]}" 1000) ms (target p99 < $((TARGET_P99_US_1 / 1000)) ms): $(verdict "$([ "${P99[1]}" -lt $TARGET_P99_US_1 ] && echo 1)")"
fi
if [ -n "${P99[4]:-}" ]; then
    echo "latency at $RATE/s, 4 subscribers: p50 $(ratio "${P50[4]}" 1000) ms, p99 $(ratio "${P99[4]}" 1000) ms (target p99 < $((TARGET_P99_US_4 / 1000)) ms): $(verdict "$([ "${P99[4]}" -lt $TARGET_P99_US_4 ] && echo 1)")"
fi
exit $failed
