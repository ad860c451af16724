# Throwaway PostgreSQL clusters for tests and benchmarks: source this file.
#
#   cluster_create PORT [EXTRA_CONF]  initdb in a fresh mktemp dir under /tmp,
#                                     configured for logical decoding with the
#                                     walbus plugin allowed; sets CLUSTER_DIR
#   cluster_start / cluster_stop      pg_ctl -w
#   cluster_remove                    stop (immediately) and delete the dir
#                                     (kept, for inspection, when KEEP=1)
#   cluster_psql ARGS...              psql -X as postgres on the cluster
#   as_postgres CMD...                run CMD as user postgres (as is when
#                                     not root: then you own the cluster)
#
# The server listens on a unix socket in CLUSTER_DIR only (no TCP), so runs
# in parallel never collide, whatever their ports.  Callers arrange for
# cluster_remove to run on every exit, e.g.
#   trap cluster_remove EXIT; trap 'exit 130' INT; trap 'exit 143' TERM
# (the INT/TERM traps turn a signal into a normal exit, which runs EXIT).
# PostgreSQL refuses to run as root, hence the postgres user; the directory
# is owned by postgres so nothing else needs to be readable by it.

PG_BINDIR=$(pg_config --bindir)
[ -x "$PG_BINDIR/initdb" ] || PG_BINDIR=/usr/lib/postgresql/15/bin
CLUSTER_DIR=
CLUSTER_PORT=

as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

cluster_create() {
    CLUSTER_PORT=$1
    CLUSTER_DIR=$(mktemp -d /tmp/walbus-cluster.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres: "$CLUSTER_DIR"
    as_postgres "$PG_BINDIR/initdb" -D "$CLUSTER_DIR/data" -A trust -U postgres \
        --encoding=UTF8 --no-locale >"$CLUSTER_DIR/initdb.log" 2>&1 || {
        cat "$CLUSTER_DIR/initdb.log" >&2
        return 1
    }
    as_postgres tee -a "$CLUSTER_DIR/data/postgresql.conf" >/dev/null <<CONF
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
port = $CLUSTER_PORT
listen_addresses = ''
unix_socket_directories = '$CLUSTER_DIR'
fsync = off
output_plugin_libraries = 'pgoutput, test_decoding, walbus'
${2:-}
CONF
}

cluster_start() {
    as_postgres "$PG_BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" \
        -w start >/dev/null || {
        echo "cluster_start: the server did not start; its log:" >&2
        cat "$CLUSTER_DIR/server.log" >&2
        return 1
    }
}

cluster_stop() {
    as_postgres "$PG_BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null
}

cluster_remove() {
    [ -n "$CLUSTER_DIR" ] || return 0
    # a second Ctrl-C must not cut the cleanup short (nor kill rm, which
    # inherits the ignored signals)
    trap '' INT TERM
    if [ -f "$CLUSTER_DIR/data/postmaster.pid" ]; then
        as_postgres "$PG_BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate -w stop \
            >/dev/null 2>&1 || true
    fi
    if [ -n "${KEEP:-}" ]; then
        echo "cluster kept in $CLUSTER_DIR" >&2
    else
        rm -rf "$CLUSTER_DIR"
    fi
    CLUSTER_DIR=
}

cluster_psql() {
    as_postgres "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$CLUSTER_DIR" \
        -p "$CLUSTER_PORT" -U postgres "$@"
}
