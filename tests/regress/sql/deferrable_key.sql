-- A DEFERRABLE primary key (docs/PROTOCOL.md §3 rule 2): PostgreSQL does
-- not use it as the replica identity, so deletes log no key and the table
-- is ineligible.  walbus_tables and walbus_eligibility() say so in the
-- plugin's words (not "no primary key"), and the stream leaves the table
-- out until the key is made immediate.
\pset format unaligned
\pset tuples_only on
CREATE EXTENSION walbus;
CREATE SCHEMA dk;

CREATE TABLE dk.deferrable (id serial PRIMARY KEY DEFERRABLE, v text);
CREATE TABLE dk.deferred (id serial PRIMARY KEY DEFERRABLE INITIALLY DEFERRED, v text);
-- FULL logs whole rows, but the key may still be shared within a transaction
CREATE TABLE dk.deferrable_full (id serial PRIMARY KEY DEFERRABLE, v text);
ALTER TABLE dk.deferrable_full REPLICA IDENTITY FULL;
CREATE TABLE dk.deferrable_pair (a serial, b int DEFAULT 0, PRIMARY KEY (a, b) DEFERRABLE);
-- a deferrable unique constraint is no primary key either
CREATE TABLE dk.unique_only (id serial UNIQUE DEFERRABLE, v text);
CREATE TABLE dk.root (id serial PRIMARY KEY DEFERRABLE, v text) PARTITION BY RANGE (id);
CREATE TABLE dk.root_1 PARTITION OF dk.root FOR VALUES FROM (1) TO (100);
CREATE TABLE dk.immediate (id serial PRIMARY KEY NOT DEFERRABLE, v text);

SELECT table_name, eligible, reason FROM walbus_tables WHERE schema_name = 'dk' ORDER BY table_name;
SELECT walbus_eligibility('dk.deferrable');
SELECT walbus_eligibility('dk.deferrable_full');

SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');
INSERT INTO dk.deferrable (v) VALUES ('never');
INSERT INTO dk.deferred (v) VALUES ('never');
INSERT INTO dk.deferrable_full (v) VALUES ('never');
INSERT INTO dk.deferrable_pair DEFAULT VALUES;
INSERT INTO dk.root (v) VALUES ('never');
INSERT INTO dk.immediate (v) VALUES ('appears');
DELETE FROM dk.deferrable;
DELETE FROM dk.root;
DELETE FROM dk.immediate;

-- made immediate, the key is the replica identity: eligible from the next
-- change on
ALTER TABLE dk.deferrable DROP CONSTRAINT deferrable_pkey;
ALTER TABLE dk.deferrable ADD PRIMARY KEY (id);
INSERT INTO dk.deferrable (v) VALUES ('appears: key now immediate');
DELETE FROM dk.deferrable;
SELECT walbus_eligibility('dk.deferrable');
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

SELECT pg_drop_replication_slot('regression_slot');
DROP SCHEMA dk CASCADE;
DROP EXTENSION walbus;
