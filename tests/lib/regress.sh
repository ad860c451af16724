#!/usr/bin/env bash
# Run a pg_regress schedule against a throwaway cluster with walbus allowed.
#
# Usage: tests/lib/regress.sh [DIR]
#   DIR  holds schedule, sql/ and expected/; default tests/regress
# Environment: PORT (default 5701; the server listens only on a unix socket
# in its own directory, so parallel runs never collide).
# Needs walbus installed in `pg_config --pkglibdir` and tools/walbus-dump
# built: the tests pipe psql output through `walbus-dump --hex --stable`.
# Prints pg_regress's output, regression.diffs on failure, and last the
# line "N passed, N failed"; exits nonzero if anything failed.
#
# The tests, walbus-dump and pg_regress's output live in the cluster's
# directory, owned by postgres, so the repository itself need not be
# readable by postgres (a clone under /root works).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SRC=$(cd "${1:-$ROOT/tests/regress}" && pwd)
PORT=${PORT:-5701}
PG_REGRESS=$(dirname "$(pg_config --pgxs)")/../../src/test/regress/pg_regress
. "$ROOT/tests/lib/cluster.sh"

if [ ! -f "$SRC/schedule" ]; then
    echo "regress: $SRC/schedule not found"
    echo "0 passed, 1 failed"
    exit 1
fi

trap cluster_remove EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cluster_create "$PORT"
cluster_start
# pg_regress --use-existing leaves creating the database to us: the same
# settings it would use, so expected files do not depend on the machine.
cluster_psql -d postgres <<'SQL'
CREATE DATABASE regression TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C';
ALTER DATABASE regression SET lc_messages TO 'C';
ALTER DATABASE regression SET lc_monetary TO 'C';
ALTER DATABASE regression SET lc_numeric TO 'C';
ALTER DATABASE regression SET lc_time TO 'C';
ALTER DATABASE regression SET bytea_output TO 'hex';
ALTER DATABASE regression SET timezone_abbreviations TO 'Default';
SQL

mkdir "$CLUSTER_DIR/regress" "$CLUSTER_DIR/bin"
cp -R "$SRC/." "$CLUSTER_DIR/regress/"
cp "$ROOT/tools/walbus-dump" "$CLUSTER_DIR/bin/"
[ "$(id -u)" = 0 ] && chown -R postgres: "$CLUSTER_DIR/regress" "$CLUSTER_DIR/bin"

rc=0
(cd "$CLUSTER_DIR" && as_postgres env PATH="$CLUSTER_DIR/bin:$PG_BINDIR:$PATH" \
    "$PG_REGRESS" --use-existing --bindir="$PG_BINDIR" \
    --host="$CLUSTER_DIR" --port="$PORT" --user=postgres --dbname=regression \
    --inputdir="$CLUSTER_DIR/regress" --outputdir="$CLUSTER_DIR/out" \
    --schedule="$CLUSTER_DIR/regress/schedule") >"$CLUSTER_DIR/pg_regress.log" 2>&1 || rc=$?
cat "$CLUSTER_DIR/pg_regress.log"

# "test NAME ... ok", "     NAME ... FAILED" (in a parallel group), and
# "... failed (ignored)", which pg_regress itself does not count as failing
passed=$(grep -cE '\.\.\. (ok|failed \(ignored\))' "$CLUSTER_DIR/pg_regress.log" || true)
failed=$(grep -cE '\.\.\. FAILED' "$CLUSTER_DIR/pg_regress.log" || true)
if [ -s "$CLUSTER_DIR/out/regression.diffs" ]; then
    echo "---- regression.diffs"
    cat "$CLUSTER_DIR/out/regression.diffs"
fi
# pg_regress failed without a failing test: it could not run them
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
    echo "regress: pg_regress exited with status $rc; the server log ends:"
    tail -n 20 "$CLUSTER_DIR/server.log"
    failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
