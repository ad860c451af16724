-- A RELATION record is sent only when it differs from the last one this
-- stream sent for the relation (docs/PROTOCOL.md §4 R).  A table that
-- becomes ineligible and then eligible again with the same definition is
-- not described again; one whose definition changed meanwhile is.  The
-- reading role is not a superuser, so ownership decides (§3 rule 4).
\pset format unaligned
\pset tuples_only on
SET client_min_messages = warning;
DROP ROLE IF EXISTS walbus_ru_reader;
DROP ROLE IF EXISTS walbus_ru_other;
RESET client_min_messages;
CREATE ROLE walbus_ru_reader LOGIN REPLICATION;
CREATE ROLE walbus_ru_other NOLOGIN;

SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');

CREATE TABLE ru_t (id serial PRIMARY KEY, v text);
ALTER TABLE ru_t OWNER TO walbus_ru_reader;
INSERT INTO ru_t (v) VALUES ('first change: RELATION');

-- owned by a role the reader is not a member of, then back
ALTER TABLE ru_t OWNER TO walbus_ru_other;
INSERT INTO ru_t (v) VALUES ('while owned by another role: not sent');
ALTER TABLE ru_t OWNER TO walbus_ru_reader;
INSERT INTO ru_t (v) VALUES ('owned by the reader again: no RELATION');

-- replica identity NOTHING, then back
ALTER TABLE ru_t REPLICA IDENTITY NOTHING;
INSERT INTO ru_t (v) VALUES ('replica identity nothing: not sent');
ALTER TABLE ru_t REPLICA IDENTITY DEFAULT;
INSERT INTO ru_t (v) VALUES ('replica identity default again: no RELATION');

-- the definition changed while ineligible: a new RELATION
ALTER TABLE ru_t OWNER TO walbus_ru_other;
ALTER TABLE ru_t ADD COLUMN w int;
INSERT INTO ru_t (v, w) VALUES ('column added while ineligible: not sent', 1);
ALTER TABLE ru_t OWNER TO walbus_ru_reader;
INSERT INTO ru_t (v, w) VALUES ('eligible again: RELATION with w', 2);

-- changed and changed back while ineligible: the same as last sent
ALTER TABLE ru_t REPLICA IDENTITY NOTHING;
ALTER TABLE ru_t RENAME COLUMN w TO x;
INSERT INTO ru_t (v, x) VALUES ('renamed while ineligible: not sent', 3);
ALTER TABLE ru_t RENAME COLUMN x TO w;
ALTER TABLE ru_t REPLICA IDENTITY DEFAULT;
INSERT INTO ru_t (v, w) VALUES ('renamed back, eligible again: no RELATION', 4);

-- a partitioned table: its partition's changes are published under it
CREATE TABLE ru_root (id serial PRIMARY KEY, v text) PARTITION BY RANGE (id);
CREATE TABLE ru_part PARTITION OF ru_root FOR VALUES FROM (1) TO (100);
ALTER TABLE ru_root OWNER TO walbus_ru_reader;
INSERT INTO ru_root (v) VALUES ('partition, first change: RELATION of the root');
ALTER TABLE ru_root OWNER TO walbus_ru_other;
INSERT INTO ru_root (v) VALUES ('root owned by another role: not sent');
ALTER TABLE ru_root OWNER TO walbus_ru_reader;
INSERT INTO ru_root (v) VALUES ('root owned by the reader again: no RELATION');

SET ROLE walbus_ru_reader;
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable
RESET ROLE;

SELECT pg_drop_replication_slot('regression_slot');
DROP TABLE ru_t, ru_root;
DROP ROLE walbus_ru_reader;
DROP ROLE walbus_ru_other;
