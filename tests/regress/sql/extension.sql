-- The walbus extension (docs/PROTOCOL.md §3): users ask in SQL why a table
-- does not appear.  walbus_tables and walbus_eligibility() give the same
-- verdict the plugin applies, for the current role, and the stream agrees.
\pset format unaligned
\pset tuples_only on
CREATE EXTENSION walbus;
SET client_min_messages = warning;
DROP ROLE IF EXISTS walbus_ext_reader;
DROP ROLE IF EXISTS walbus_ext_other;
RESET client_min_messages;
CREATE ROLE walbus_ext_reader LOGIN REPLICATION;
CREATE ROLE walbus_ext_other NOLOGIN;
CREATE SCHEMA ext;
GRANT USAGE ON SCHEMA ext TO walbus_ext_reader;

CREATE TABLE ext.good (id bigserial PRIMARY KEY, v text);
ALTER TABLE ext.good OWNER TO walbus_ext_reader;
CREATE TABLE ext.no_pk (id serial, v text);
ALTER TABLE ext.no_pk OWNER TO walbus_ext_reader;
CREATE TABLE ext.pair (a serial, b serial, PRIMARY KEY (a, b));
ALTER TABLE ext.pair OWNER TO walbus_ext_reader;
CREATE TABLE ext.manual_key (id int PRIMARY KEY, v text);
ALTER TABLE ext.manual_key OWNER TO walbus_ext_reader;
CREATE TABLE ext.foreign_owned (id serial PRIMARY KEY, v text);
ALTER TABLE ext.foreign_owned OWNER TO walbus_ext_other;
CREATE TABLE ext.parted (id bigserial, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE ext.parted_2026 PARTITION OF ext.parted FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
ALTER TABLE ext.parted OWNER TO walbus_ext_reader;
ALTER TABLE ext.parted_2026 OWNER TO walbus_ext_reader;

-- as the superuser, the owner check passes for every table
SELECT table_name, eligible, reason FROM walbus_tables WHERE schema_name = 'ext' ORDER BY table_name;

-- as a non-superuser replication role: ownership counts
SET ROLE walbus_ext_reader;
SELECT table_name, eligible, reason FROM walbus_tables WHERE schema_name = 'ext' ORDER BY table_name;
SELECT walbus_eligibility('ext.good');
SELECT walbus_eligibility('ext.foreign_owned');

-- and the stream publishes exactly the eligible table
SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');
RESET ROLE;
INSERT INTO ext.good (v) VALUES ('appears');
INSERT INTO ext.no_pk (v) VALUES ('never');
INSERT INTO ext.pair DEFAULT VALUES;
INSERT INTO ext.manual_key VALUES (1, 'never');
INSERT INTO ext.foreign_owned (v) VALUES ('never');
INSERT INTO ext.parted (at) VALUES ('2026-06-01');
SET ROLE walbus_ext_reader;
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable
SELECT pg_drop_replication_slot('regression_slot');
RESET ROLE;

-- a missing table is an error, not a verdict
SELECT walbus_eligibility('ext.does_not_exist');

DROP SCHEMA ext CASCADE;
DROP EXTENSION walbus;
DROP ROLE walbus_ext_reader;
DROP ROLE walbus_ext_other;
