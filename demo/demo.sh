#!/usr/bin/env bash
# make demo: the whole walbus pipeline on a throwaway local cluster.
#
# Usage: demo/demo.sh          (make demo runs it after deps and install)
# Environment: PORT (default 5690), DEMO_SECONDS (stop by itself after that
# many seconds; default: run until Ctrl-C, or 20 s without a terminal).
#
# It starts a PostgreSQL cluster as user postgres (wal_level = logical,
# output_plugin_libraries listing walbus), creates a sample CRM schema with
# eligible and ineligible tables, shows why each table is or is not
# published (the walbus extension's walbus_tables), starts walbus-relay and
# walbus-tap, and runs a small workload: the tap prints each change as one
# JSON line.  Ctrl-C (or the end of DEMO_SECONDS) stops the workload, the
# tap, the relay and the cluster, and removes everything it created.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tests/lib/cluster.sh"

PORT=${PORT:-5690}
if [ -z "${DEMO_SECONDS:-}" ] && [ ! -t 0 ]; then
    DEMO_SECONDS=20
fi
RELAY=$(command -v walbus-relay || echo "$ROOT/relay/walbus-relay")
TAP=$(command -v walbus-tap || echo "$ROOT/tools/walbus-tap")
PIDS=()

cleanup() {
    trap '' INT TERM
    echo
    echo "demo: stopping the workload, walbus-tap, walbus-relay and the cluster"
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    cluster_remove
    echo "demo: cleaned up"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
sql() { cluster_psql -q -v ON_ERROR_STOP=1 -d postgres "$@"; }

say "starting a throwaway PostgreSQL cluster (user postgres, wal_level = logical)"
cluster_create "$PORT" || exit 1
cluster_start || exit 1
echo "cluster in $CLUSTER_DIR; output_plugin_libraries = $(sql -Atc 'SHOW output_plugin_libraries')"

say "sample schema: which tables walbus publishes, and why not"
sql <<'SQL'
CREATE EXTENSION walbus;
CREATE SCHEMA crm;
CREATE TABLE crm.contacts (id bigserial PRIMARY KEY, name text NOT NULL,
    email text, score numeric(10,2), updated_at timestamptz DEFAULT now());
CREATE TABLE crm.deals (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id bigint REFERENCES crm.contacts ON UPDATE CASCADE, amount numeric(12,2), stage text);
CREATE TABLE crm.notes (contact_id bigint, body text);            -- no primary key
CREATE TABLE crm.tags (contact_id bigint, tag text,
    PRIMARY KEY (contact_id, tag));                               -- two-column key
CREATE TABLE crm.countries (code text PRIMARY KEY, name text);    -- natural key
-- least privilege (docs/RELAY.md §1): the relay's role has LOGIN and
-- REPLICATION only, and is a member of crm_owner, which owns the tables
CREATE ROLE crm_owner NOLOGIN;
ALTER TABLE crm.contacts OWNER TO crm_owner;
ALTER TABLE crm.deals OWNER TO crm_owner;
CREATE ROLE walbus_demo LOGIN REPLICATION;
GRANT crm_owner TO walbus_demo;
GRANT USAGE ON SCHEMA crm TO crm_owner, walbus_demo;
SQL
sql -P pager=off -c "SET ROLE walbus_demo" \
    -c "SELECT schema_name, table_name, eligible, reason FROM walbus_tables ORDER BY 1, 2"

# the tap is a durable consumer: it acknowledges what it printed, and the
# slot advances only past that (docs/DELIVERY.md)
say "starting walbus-relay (slot walbus_demo, durable consumer demo-tap) and walbus-tap"
"$RELAY" --dbname "host=$CLUSTER_DIR port=$PORT user=walbus_demo dbname=postgres" \
    --slot walbus_demo --create-slot --wait-subscribers 1 --durable demo-tap \
    --bus "ipc://$CLUSTER_DIR/bus" --control "ipc://$CLUSTER_DIR/ctl" \
    --heartbeat-interval 2 --status-interval 1 2>"$CLUSTER_DIR/relay.log" &
PIDS+=($!)
"$TAP" --bus "ipc://$CLUSTER_DIR/bus" --control "ipc://$CLUSTER_DIR/ctl" --topic 'crm.*' \
    --consumer demo-tap &
PIDS+=($!)
for _ in $(seq 50); do
    grep -q "streaming" "$CLUSTER_DIR/relay.log" 2>/dev/null && break
    sleep 0.2
done
sed 's/^/relay: /' "$CLUSTER_DIR/relay.log"

if [ -n "${DEMO_SECONDS:-}" ]; then until="for $DEMO_SECONDS s"; else until="Ctrl-C to stop"; fi
say "workload: inserts, updates, key changes, deletes; the tap prints crm.contacts and crm.deals only ($until)"
say "at round 5, crm.deals is renamed crm.opportunities and its column stage becomes phase: the tap prints the schema event and keeps going (docs/SCHEMA.md)"
(
    i=0
    deals=crm.deals stage=stage
    while :; do
        i=$((i + 1))
        if [ "$i" = 5 ]; then
            sql -c "ALTER TABLE crm.deals RENAME TO opportunities" \
                -c "ALTER TABLE crm.opportunities RENAME COLUMN stage TO phase"
            deals=crm.opportunities stage=phase
        fi
        sql <<SQL
BEGIN;
INSERT INTO crm.contacts (name, email, score) VALUES ('Contact $i', 'c$i@example.com', $i * 1.5);
INSERT INTO $deals (contact_id, amount, $stage)
    SELECT max(id), $i * 100, 'open' FROM crm.contacts;
INSERT INTO crm.notes VALUES ($i, 'ineligible: never on the bus');
INSERT INTO crm.tags VALUES ($i, 'vip');
COMMIT;
UPDATE $deals SET $stage = 'won' WHERE id % 3 = 0 AND $stage = 'open';
SQL
        if [ $((i % 4)) = 0 ]; then
            sql -c "UPDATE crm.contacts SET id = id + 1000 WHERE id = $((i - 1))" \
                -c "DELETE FROM $deals WHERE id = $((i - 2))"
        fi
        sleep 1
    done
) >/dev/null &
PIDS+=($!)

if [ -n "${DEMO_SECONDS:-}" ]; then
    sleep "$DEMO_SECONDS"
    say "relay status"
    "$TAP" --control "ipc://$CLUSTER_DIR/ctl" --status
else
    wait
fi
