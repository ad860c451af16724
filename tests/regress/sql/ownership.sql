-- Ownership (docs/PROTOCOL.md §3 rule 4): a table is published only when
-- the role the stream runs as owns it or is a member of its owner.
-- Superusers are members of every role; the reading role below is not a
-- superuser, only REPLICATION.
CREATE FUNCTION walbus_eligibility(regclass) RETURNS text
    AS 'walbus', 'walbus_eligibility_sql' LANGUAGE C STRICT STABLE;
\pset format unaligned
\pset tuples_only on
SET client_min_messages = warning;
DROP ROLE IF EXISTS walbus_reader;
DROP ROLE IF EXISTS walbus_team;
DROP ROLE IF EXISTS walbus_stranger;
RESET client_min_messages;
CREATE ROLE walbus_reader LOGIN REPLICATION;
CREATE ROLE walbus_team NOLOGIN;
CREATE ROLE walbus_stranger NOLOGIN;
GRANT walbus_team TO walbus_reader;

SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');

CREATE TABLE own_reader (id serial PRIMARY KEY, v text);
ALTER TABLE own_reader OWNER TO walbus_reader;
CREATE TABLE own_team (id serial PRIMARY KEY, v text);
ALTER TABLE own_team OWNER TO walbus_team;
CREATE TABLE own_stranger (id serial PRIMARY KEY, v text);
ALTER TABLE own_stranger OWNER TO walbus_stranger;
CREATE TABLE own_superuser (id serial PRIMARY KEY, v text);

INSERT INTO own_reader (v) VALUES ('owned by the reader');
INSERT INTO own_team (v) VALUES ('owned by a role the reader is a member of');
INSERT INTO own_stranger (v) VALUES ('owned by a stranger');
INSERT INTO own_superuser (v) VALUES ('owned by the superuser');

-- as the superuser: every table
SELECT data FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

-- as walbus_reader: its own table and its team's
SET ROLE walbus_reader;
SELECT c.relname, walbus_eligibility(c.oid)
FROM pg_class c WHERE c.relname LIKE 'own\_%' AND c.relkind = 'r' ORDER BY c.relname;
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable
RESET ROLE;

-- verdicts follow ownership and membership changes, change by change
INSERT INTO own_stranger (v) VALUES ('before the grant');
GRANT walbus_stranger TO walbus_reader;
INSERT INTO own_stranger (v) VALUES ('while a member');
REVOKE walbus_stranger FROM walbus_reader;
INSERT INTO own_stranger (v) VALUES ('after the revoke');
ALTER TABLE own_stranger OWNER TO walbus_team;
INSERT INTO own_stranger (v) VALUES ('after the owner became the team');
ALTER TABLE own_team OWNER TO walbus_stranger;
INSERT INTO own_team (v) VALUES ('after the owner became a stranger');
SET ROLE walbus_reader;
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable
RESET ROLE;

-- becoming a superuser, or ceasing to be one, changes the verdict on every
-- table, in the middle of a transaction too; a partition and its root
-- always agree, even when the partition alone was changed since
CREATE TABLE own_root (id serial PRIMARY KEY, v text) PARTITION BY RANGE (id);
CREATE TABLE own_part PARTITION OF own_root FOR VALUES FROM (1) TO (100);
BEGIN;
INSERT INTO own_superuser (v) VALUES ('before the reader became a superuser');
INSERT INTO own_root (id, v) VALUES (1, 'before the reader became a superuser');
ALTER ROLE walbus_reader SUPERUSER;
INSERT INTO own_superuser (v) VALUES ('while the reader is a superuser');
ALTER TABLE own_part SET (fillfactor = 90);
INSERT INTO own_root (id, v) VALUES (2, 'while the reader is a superuser');
ALTER ROLE walbus_reader NOSUPERUSER;
INSERT INTO own_superuser (v) VALUES ('after the reader stopped being one');
INSERT INTO own_root (id, v) VALUES (3, 'after the reader stopped being one');
COMMIT;
SET ROLE walbus_reader;
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable
RESET ROLE;

SELECT pg_drop_replication_slot('regression_slot');
DROP TABLE own_reader, own_team, own_stranger, own_superuser, own_root;
DROP ROLE walbus_reader;
DROP ROLE walbus_team;
DROP ROLE walbus_stranger;
DROP FUNCTION walbus_eligibility(regclass);
