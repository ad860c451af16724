#!/bin/sh
# postgres-entrypoint.sh: the walbus postgres image's entrypoint, run as
# user postgres.  On the first start (an empty $PGDATA, a new volume) it
# makes the cluster walbus needs, then it runs the server in the
# foreground; later starts only run the server.
#
# The cluster made:
#   - wal_level = logical, replication slots and WAL senders for the relay;
#   - output_plugin_libraries listing walbus, on PostgreSQL builds that
#     have this setting (only plugins it lists may be used by slots);
#   - pg_hba: password (SCRAM) connections from the container network, the
#     relay's replication connection included; local ones by peer;
#   - docker/postgres-init.sql: the database, the owner role of the sample
#     tables, and the relay's least-privilege role (LOGIN REPLICATION,
#     member of the owner role, no superuser).
#
# Environment: POSTGRES_PASSWORD (the superuser's, required on the first
# start), WALBUS_RELAY_PASSWORD (the relay role's, required on the first
# start), WALBUS_DB (the database, default "app").
set -eu

: "${PGDATA:=/var/lib/postgresql/data}"
WALBUS_DB=${WALBUS_DB:-app}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ] || [ -z "${WALBUS_RELAY_PASSWORD:-}" ]; then
        echo "walbus-postgres: error: the first start makes the cluster and needs" \
             "POSTGRES_PASSWORD and WALBUS_RELAY_PASSWORD in the environment" >&2
        exit 2
    fi
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb --username=postgres --pwfile="$pwfile" --auth-local=peer \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"

    plugins=""
    if postgres --describe-config 2>/dev/null | grep -q '^output_plugin_libraries'; then
        plugins="output_plugin_libraries = 'pgoutput, test_decoding, walbus'"
    fi
    cat >>"$PGDATA/postgresql.conf" <<CONF

# walbus (docker/postgres-entrypoint.sh)
listen_addresses = '*'
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
$plugins
CONF
    cat >>"$PGDATA/pg_hba.conf" <<HBA

# walbus: the container network, by password
host    all             all             all                     scram-sha-256
host    replication     all             all                     scram-sha-256
HBA

    # set up on a server that no one else can reach yet
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
    psql -X -q -v ON_ERROR_STOP=1 -d postgres \
        -v db="$WALBUS_DB" -v relay_password="$WALBUS_RELAY_PASSWORD" \
        -f /usr/local/share/walbus/postgres-init.sql
    pg_ctl -D "$PGDATA" -w -m fast stop >/dev/null
    echo "walbus-postgres: cluster made in $PGDATA (database $WALBUS_DB)"
fi

exec postgres -D "$PGDATA" "$@"
