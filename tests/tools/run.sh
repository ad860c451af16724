#!/usr/bin/env bash
# walbus-dump's tests: each case below is a shell command run in a scratch
# directory holding the inputs (written by gen_records.c with proto/'s
# encoder, plus the hand-written ones in input/).  Its stdout, stderr and exit
# status must equal expected/NAME.out.
#
# Usage: tests/tools/run.sh [--accept]
#   --accept  write the actual results into expected/ (review the diff!)
# Prints "ok NAME" or "FAILED NAME" (with the diff) per case, then the
# summary line "N passed, N failed"; exits nonzero if a case failed.
# Builds walbus-dump (make -C tools) if needed.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ACCEPT=
case "${1:-}" in
    "") ;;
    --accept) ACCEPT=1 ;;
    *) echo "usage: $0 [--accept]" >&2; exit 2 ;;
esac

make -s -C "$ROOT/tools" >/dev/null
WORK=$(mktemp -d /tmp/walbus-dump-tests.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/in"
${CC:-cc} -std=c11 -Wall -Wextra -Werror -I"$ROOT/proto" \
    -o "$WORK/gen_records" "$HERE/gen_records.c" "$ROOT/proto/libwalbusproto.a" -lm
"$WORK/gen_records" "$WORK/in"
cp "$HERE"/input/* "$WORK/in/"
export PATH="$ROOT/tools:$PATH"

passed=0
failed=0

# run_case NAME COMMAND: run COMMAND in the inputs' directory, compare.
run_case() {
    local name=$1 cmd=$2 actual="$WORK/$1.out" expected="$HERE/expected/$1.out"
    local rc=0
    (cd "$WORK/in" && bash -c "$cmd" >"$WORK/stdout" 2>"$WORK/stderr") || rc=$?
    {
        cat "$WORK/stdout"
        echo "-- stderr:"
        cat "$WORK/stderr"
        echo "-- exit status: $rc"
    } >"$actual"
    if [ -n "$ACCEPT" ]; then
        cp "$actual" "$expected"
    fi
    if diff -u "$expected" "$actual" >"$WORK/diff" 2>&1; then
        echo "ok $name"
        passed=$((passed + 1))
    else
        echo "FAILED $name: $cmd"
        cat "$WORK/diff"
        failed=$((failed + 1))
    fi
}

# A live stream: records must be printed while the writer still holds the
# pipe open, not when the input ends.
live_case() {
    local lines=0 i writer reader
    mkfifo "$WORK/fifo"
    (cat stream.bin; exec sleep 30) >"$WORK/fifo" &
    writer=$!
    # made here: the reader's shell creates it only once it has forked, and
    # the first count below may come before that
    : >"$WORK/live"
    walbus-dump --stable <"$WORK/fifo" >"$WORK/live" &
    reader=$!
    for i in $(seq 100); do
        lines=$(wc -l <"$WORK/live")
        [ "$lines" -ge 13 ] && break
        sleep 0.1
    done
    kill "$writer"
    wait "$reader" || echo "walbus-dump exited with $?"
    echo "$lines lines printed before the input ended"
}
export -f live_case
export WORK

while read -r name cmd; do
    case "$name" in ""|"#"*) continue ;; esac
    run_case "$name" "$cmd"
done <<'CASES'
# usage
help                walbus-dump --help
usage_option        walbus-dump --bogus
usage_args          walbus-dump stream.bin stream.bin
missing_file        walbus-dump no-such-file
empty_input         walbus-dump </dev/null
# raw input, every record kind, full and stable
stream              walbus-dump stream.bin
stream_stable       walbus-dump --stable <stream.bin
stream_dash         walbus-dump --stable - <stream.bin
newlines            walbus-dump --stable newlines.bin
values              walbus-dump values.bin
redefine            walbus-dump redefine.bin
messages            walbus-dump messages.bin
violations          walbus-dump violations.bin
big                 cat big.bin | walbus-dump --stable | awk '{ print length($0) }'
live                live_case
# broken raw input
malformed           walbus-dump malformed.bin
truncated           walbus-dump <truncated.bin
text_as_raw         walbus-dump stream.txt
# psql text input
hex_stream          walbus-dump --hex --stable stream.txt
hex_formats         walbus-dump --hex hex_formats.txt
hex_odd             walbus-dump --hex hex_odd.txt
hex_badchar         walbus-dump --hex hex_badchar.txt
hex_trailing        walbus-dump --hex <hex_trailing.txt
hex_malformed       walbus-dump --hex hex_malformed.txt
hex_empty           walbus-dump --hex hex_empty.txt
raw_as_hex          walbus-dump --hex stream.bin
# version 2: attnums, schema OIDs, WITHDRAWN
version2            walbus-dump version2.bin
version2_stable     walbus-dump --hex --stable version2.txt
version2_violations walbus-dump --stable version2_violations.bin
CASES

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
