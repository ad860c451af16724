-- RELATION records of protocol version 2 (docs/PROTOCOL.md §4 R): each
-- column carries its attnum, which a rename keeps and which is never
-- reused within the table, and the record carries its schema's OID, which
-- ALTER SCHEMA RENAME keeps and ALTER TABLE SET SCHEMA changes.  Consumers
-- key what they keep on them, so renames never break their mappings.  A
-- version-1 session over the same changes sends what it always sent.
\pset format unaligned
\pset tuples_only on
SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');

CREATE SCHEMA rv_first;
CREATE TABLE rv_first.rv_t (id serial PRIMARY KEY, a text, b int, c text);
INSERT INTO rv_first.rv_t (a, b, c) VALUES ('original', 1, 'c1');

-- drop a column: its attnum leaves a gap
ALTER TABLE rv_first.rv_t DROP COLUMN b;
INSERT INTO rv_first.rv_t (a, c) VALUES ('after drop column', 'c2');

-- add a column under the dropped one's name: a new attnum, not its old one
ALTER TABLE rv_first.rv_t ADD COLUMN b int;
INSERT INTO rv_first.rv_t (a, b, c) VALUES ('after add column', 3, 'c3');

-- drop the last column and add it back with the same name and type: a
-- new column (the old values are gone) that only its attnum tells apart
ALTER TABLE rv_first.rv_t DROP COLUMN b;
ALTER TABLE rv_first.rv_t ADD COLUMN b int;
INSERT INTO rv_first.rv_t (a, b, c) VALUES ('after drop and add back', 4, 'c4');

-- rename a column: same attnum, new name
ALTER TABLE rv_first.rv_t RENAME COLUMN a TO label;
INSERT INTO rv_first.rv_t (label) VALUES ('after rename column');

-- rename the schema: same schema OID, new name
ALTER SCHEMA rv_first RENAME TO rv_renamed;
INSERT INTO rv_renamed.rv_t (label) VALUES ('after rename schema');

-- move the table to another schema: another schema OID
CREATE SCHEMA rv_second;
ALTER TABLE rv_renamed.rv_t SET SCHEMA rv_second;
INSERT INTO rv_second.rv_t (label) VALUES ('after set schema');

-- a partition's changes carry its root's attnums, whatever its own are
CREATE TABLE rv_root (id int DEFAULT 1 PRIMARY KEY, gone int, v text)
    PARTITION BY RANGE (id);
ALTER TABLE rv_root DROP COLUMN gone;
CREATE TABLE rv_leaf (v text, id int DEFAULT 1 NOT NULL);
ALTER TABLE rv_root ATTACH PARTITION rv_leaf FOR VALUES FROM (1) TO (100);
INSERT INTO rv_root (id, v) VALUES (1, 'through the root');

SELECT data FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '2') \g |walbus-dump --hex --stable

-- The schema OIDs, which --stable leaves out, named: for each RELATION of
-- rv_t, the schema it names and whose OID it carries.
SELECT oid AS rv_first_oid FROM pg_namespace WHERE nspname = 'rv_renamed' \gset
SELECT oid AS rv_second_oid FROM pg_namespace WHERE nspname = 'rv_second' \gset
\setenv RV_FIRST_OID :rv_first_oid
\setenv RV_SECOND_OID :rv_second_oid
SELECT data FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, 'proto_version', '2') \g |walbus-dump --hex | sed -n 's/.*"schema":"\([^"]*\)","table":"rv_t".*"schema_oid":\([0-9]*\)}$/\1 \2/p' | sed "s/ $RV_FIRST_OID\$/: OID of schema rv_first (now rv_renamed)/; s/ $RV_SECOND_OID\$/: OID of schema rv_second/"

-- version 1 over the same changes: no attnums, no schema OID, and no
-- RELATION after the column was dropped and added back, since the record
-- is the same as the last one sent
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

SELECT pg_drop_replication_slot('regression_slot');
DROP SCHEMA rv_renamed;
DROP SCHEMA rv_second CASCADE;
DROP TABLE rv_root;
