# Shared scaffolding of the bench scripts (sourced, not run): a work
# directory, the processes started, a cleanup that stops them and removes
# the cluster (tests/lib/cluster.sh) and the directory, and small helpers.
#
# Usage: BENCH_NAME=bench/x.sh; . "$ROOT/bench/lib.sh"; bench_init NAME
# then add every background process to PIDS.  KEEP=1 keeps the work
# directory and the cluster for inspection.

PIDS=()

# bench_init NAME: WORK=/tmp/walbus-bench-NAME.XXXXXX and the traps.
bench_init() {
    WORK=$(mktemp -d "/tmp/walbus-bench-$1.XXXXXX")
    chmod 755 "$WORK"
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

bench_cleanup() {
    trap '' INT TERM
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    cluster_remove
    if [ -n "${KEEP:-}" ]; then
        echo "logs kept in $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}

die() {
    echo "$BENCH_NAME: $*" >&2
    exit 1
}

now_ns() { date +%s%N; }

# rate N NS: N per second over NS nanoseconds
rate() { echo "scale=0; $1 * 1000000000 / $2" | bc; }

# finish SECONDS PID...: wait for every PID (children of this shell) to
# exit, at most SECONDS in all; kill those still running.  Returns 1 if any
# had to be killed or failed.
finish() {
    local deadline=$((SECONDS + $1)) pid rc=0
    shift
    for pid in "$@"; do
        while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
            sleep 0.02
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null
            rc=1
        fi
        wait "$pid" || rc=1
    done
    return $rc
}

# stop_pid PID: SIGTERM, then at most 10 s before SIGKILL.
stop_pid() {
    kill -TERM "$1" 2>/dev/null
    finish 10 "$1" || true
}
