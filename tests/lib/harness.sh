# The harness of the walbus test suites (tests/*/run): source this file.
#
# It sources tests/lib/cluster.sh and sets ROOT (the source tree), RELAY
# and TAP (the binaries under test).  Every function below is a contract
# the suites rely on; tests/run counts "ok N - " lines and reads the last
# "N passed, N failed" line, so check, bail and summary keep that format.
#
# Start and cleanup
#   harness_start SUITE [TIMEOUT]  make WORK (/tmp/walbus-SUITE.XXXXXX),
#                   trap EXIT (harness_cleanup), INT and TERM (exit 130,
#                   143); with TIMEOUT > 0, a watchdog that stops the run
#                   after TIMEOUT seconds ("SUITE: timed out after ...").
#   harness_cleanup stop the watchdog, call cleanup_hook if the suite
#                   defines one, stop every pid in PIDS (stop_pid), remove
#                   every cluster in CLUSTERS and the current one, then
#                   WORK (kept when KEEP=1).
#   require_plugin  bail unless the walbus plugin is installed.
#   build DIR...    make -s -C ROOT/DIR for each (log in WORK/build.log);
#                   on failure show the log and bail "build DIR/ and DIR/".
# Checks
#   check WHAT CMD...  run CMD; print "ok N - WHAT", or "not ok N - WHAT"
#                   and CMD's output indented by "#   ", through the
#                   command in CHECK_SHOW (default cat; e.g. "head -40").
#                   Returns 0 either way.
#   bail WHY        count WHY as a failure, print the summary, exit 1.
#   summary         print "N passed, N failed"; status 0 if none failed.
#   note TEXT...    a "# TEXT" comment line.
#   expect_eq WHAT EXPECTED ACTUAL   equal, or both shown and status 1.
#   contains WHAT TEXT NEEDLE        NEEDLE occurs in TEXT, or TEXT shown.
#   file_has FILE TEXT  TEXT (fixed string) occurs in FILE, or the last
#                   FILE_HAS_SHOW lines of FILE are shown (default all).
# Waiting (every wait is bounded)
#   wait_until SECONDS CMD...   poll CMD (quietly) every 0.1 s until it
#                   succeeds; status 1 if SECONDS pass first.
#   wait_lines FILE N SECONDS   FILE has N lines or more within SECONDS,
#                   or says how many it has; status 1.
# Background processes (PIDS: the suite adds every pid it starts)
#   forget_pid PID  remove PID from PIDS (reaped: its number may be reused).
#   stop_pid PID    SIGCONT, SIGTERM, SIGKILL after a second; reap, forget.
#   stop_all        stop_pid every pid in PIDS.
#   finish PID SECONDS  wait for PID (a child of this shell, never from a
#                   subshell) to exit; its status in FINISH_RC, or
#                   "timeout (stacks: ...)" when it had to be killed.
# PostgreSQL
#   sql ARGS...     psql -At on database postgres of the current cluster.
#   lsn_num X/Y     an LSN as a number.
# Scenarios by name (every suite but trigger, tsource and heartbeat)
#   scenario_add NUM NAME FUNC [NEED...]  register FUNC as scenario NUM,
#                   called NAME, that needs the scenarios NEED (numbers) to
#                   have run before it in the same run.
#   scenarios_select ARGS...  SELECTED: the functions of the scenarios
#                   named (by number or name) in ARGS and of what they
#                   need, in registration order; every scenario when ARGS
#                   is empty.  "--list" prints the scenarios and exits 0;
#                   an unknown name prints the list and exits 2.
# shellcheck shell=bash disable=SC2034 # its variables are for the suites

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=cluster.sh
. "$ROOT/tests/lib/cluster.sh"

RELAY=$ROOT/relay/walbus-relay
TAP=$ROOT/tools/walbus-tap
PIDS=()
CLUSTERS=()
WATCHDOG=
WORK=
n=0
passed=0
failed=0

# ------------------------------------------------------- start and cleanup

harness_start() {
    local suite=$1 timeout=${2:-0}
    WORK=$(mktemp -d "/tmp/walbus-$suite.XXXXXX")
    trap harness_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    [ "$timeout" -gt 0 ] || return 0
    # The watchdog turns a hang into a failed run.  Its sleep holds no
    # descriptor of ours, and the watchdog takes it along when stopped: a
    # leftover sleep on our stdout would keep a caller's pipe (tests/run's
    # tee) open after we exit.
    (
        # shellcheck disable=SC2217 # no descriptor of ours, stdin included
        sleep "$timeout" </dev/null >/dev/null 2>&1 &
        sleeper=$!
        trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
        wait "$sleeper" 2>/dev/null
        echo "$suite: timed out after $timeout s" >&2
        kill -TERM $$
    ) &
    WATCHDOG=$!
}

harness_cleanup() {
    local dir
    # a second Ctrl-C must not cut the cleanup short
    trap '' INT TERM
    [ -n "$WATCHDOG" ] && kill "$WATCHDOG" 2>/dev/null
    declare -F cleanup_hook >/dev/null && cleanup_hook
    stop_all
    for dir in "${CLUSTERS[@]}"; do
        CLUSTER_DIR=$dir
        cluster_remove
    done
    cluster_remove
    [ -n "$WORK" ] || return 0
    if [ -n "${KEEP:-}" ]; then
        echo "logs kept in $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}

require_plugin() {
    [ -f "$(pg_config --pkglibdir)/walbus.so" ] ||
        bail "the walbus plugin is not installed (make -C plugin install)"
}

build() {
    local dir names
    : >"$WORK/build.log"
    for dir in "$@"; do
        make -s -C "$ROOT/$dir" >>"$WORK/build.log" 2>&1 && continue
        cat "$WORK/build.log"
        names=$(printf '%s/, ' "$@")
        names=${names%, }
        [ $# -gt 1 ] && names="${names%, *} and ${names##*, }"
        bail "build $names"
    done
}

# ------------------------------------------------------------------ checks

check() {
    local what=$1 out
    shift
    n=$((n + 1))
    if out=$("$@" 2>&1); then
        passed=$((passed + 1))
        echo "ok $n - $what"
    else
        failed=$((failed + 1))
        echo "not ok $n - $what"
        # shellcheck disable=SC2086 # CHECK_SHOW is a command and its arguments
        [ -n "$out" ] && printf '%s\n' "$out" | ${CHECK_SHOW:-cat} | sed 's/^/#   /'
    fi
    return 0
}

bail() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    summary
    exit 1
}

summary() {
    echo "$passed passed, $failed failed"
    [ "$failed" = 0 ]
}

note() {
    echo "# $*"
}

expect_eq() {
    if [ "$2" != "$3" ]; then
        echo "$1: expected:"
        printf '%s\n' "$2" | sed 's/^/    /'
        echo "$1: got:"
        printf '%s\n' "$3" | sed 's/^/    /'
        return 1
    fi
}

contains() {
    [[ "$2" == *"$3"* ]] && return 0
    echo "$1 lacks \"$3\":"
    printf '%s\n' "$2" | sed 's/^/    /'
    return 1
}

file_has() {
    grep -qF -- "$2" "$1" && return 0
    echo "$1 lacks \"$2\"; it has:"
    if [ -n "${FILE_HAS_SHOW:-}" ]; then
        tail -n "$FILE_HAS_SHOW" "$1"
    else
        cat "$1"
    fi
    return 1
}

# ----------------------------------------------------------------- waiting

wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.1
    done
}

wait_lines() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        [ "$(wc -l <"$1")" -ge "$2" ] && return 0
        sleep 0.1
    done
    echo "$1: $(wc -l <"$1") lines, expected $2"
    return 1
}

# ---------------------------------------------------- background processes

forget_pid() {
    local keep=() p
    for p in "${PIDS[@]}"; do
        [ "$p" != "$1" ] && keep+=("$p")
    done
    PIDS=("${keep[@]}")
}

stop_pid() {
    local pid=$1 i
    kill -CONT "$pid" 2>/dev/null
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    forget_pid "$pid"
}

stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do
        stop_pid "$pid"
    done
    PIDS=()
}

finish() {
    local pid=$1 i
    # (bash reports a child killed by SIGKILL when it reaps it, after any
    # command: some suites' workers are meant to die that way)
    {
        for ((i = 0; i < $2 * 10; i++)); do
            kill -0 "$pid" || break
            sleep 0.1
        done
    } 2>/dev/null
    if kill -0 "$pid" 2>/dev/null; then
        # a hang is a bug: keep its stacks for the failure report
        command -v gdb >/dev/null &&
            gdb -p "$pid" -batch -ex 'thread apply all bt' >"$WORK/hang.$pid.bt" 2>&1
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        forget_pid "$pid"
        FINISH_RC="timeout (stacks: $(grep -E '^#[0-9]+ .* in (walbus|wb|nng|main|json)' \
            "$WORK/hang.$pid.bt" 2>/dev/null | head -8 | tr '\n' ';'))"
        return
    fi
    wait "$pid" 2>/dev/null
    FINISH_RC=$?
    forget_pid "$pid"
}

# -------------------------------------------------------------- PostgreSQL

sql() {
    cluster_psql -d postgres -At "$@"
}

lsn_num() {
    local hi=${1%/*} lo=${1#*/}
    echo $(((16#$hi << 32) | 16#$lo))
}

# --------------------------------------------------------------- scenarios

SCENARIO_NUMS=()
declare -A SCENARIO_NAME SCENARIO_FUNC SCENARIO_NEEDS

scenario_add() {
    local num=$1
    SCENARIO_NUMS+=("$num")
    SCENARIO_NAME[$num]=$2
    SCENARIO_FUNC[$num]=$3
    shift 3
    SCENARIO_NEEDS[$num]="$*"
}

scenarios_list() {
    local num
    for num in "${SCENARIO_NUMS[@]}"; do
        if [ -n "${SCENARIO_NEEDS[$num]}" ]; then
            printf '%3s  %-16s (needs %s)\n' "$num" "${SCENARIO_NAME[$num]}" \
                "${SCENARIO_NEEDS[$num]}"
        else
            printf '%3s  %s\n' "$num" "${SCENARIO_NAME[$num]}"
        fi
    done
}

# scenario_want NUM: mark NUM and, first, what it needs
scenario_want() {
    local need
    [ -n "${want[$1]:-}" ] && return
    want[$1]=1
    for need in ${SCENARIO_NEEDS[$1]}; do
        scenario_want "$need"
    done
}

scenarios_select() {
    local arg num found
    local -A want=()
    SELECTED=()
    if [ $# = 0 ]; then
        for num in "${SCENARIO_NUMS[@]}"; do
            want[$num]=1
        done
    fi
    for arg in "$@"; do
        if [ "$arg" = --list ]; then
            scenarios_list
            exit 0
        fi
        found=
        for num in "${SCENARIO_NUMS[@]}"; do
            if [ "$arg" = "$num" ] || [ "$arg" = "${SCENARIO_NAME[$num]}" ] ||
                [ "$arg" = "${SCENARIO_FUNC[$num]}" ]; then
                scenario_want "$num"
                found=1
            fi
        done
        if [ -z "$found" ]; then
            echo "$(basename "$(dirname "$0")"): no scenario \"$arg\"; the scenarios:" >&2
            scenarios_list >&2
            exit 2
        fi
    done
    for num in "${SCENARIO_NUMS[@]}"; do
        [ -n "${want[$num]:-}" ] && SELECTED+=("${SCENARIO_FUNC[$num]}")
    done
}
