-- Partitioned tables (docs/PROTOCOL.md §3): changes to a partition are
-- published as changes of the topmost partitioned table, with its relation
-- id, name and column order, whatever the partition's own column layout.
CREATE FUNCTION walbus_eligibility(regclass) RETURNS text
    AS 'walbus', 'walbus_eligibility_sql' LANGUAGE C STRICT STABLE;
\pset format unaligned
\pset tuples_only on
SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');

CREATE TABLE pt_root (id bigserial PRIMARY KEY, v text, n int) PARTITION BY RANGE (id);
-- same layout as the root
CREATE TABLE pt_1 PARTITION OF pt_root FOR VALUES FROM (1) TO (100);
-- columns in another order, attached afterwards
CREATE TABLE pt_2 (n int, v text, id bigint NOT NULL);
ALTER TABLE pt_root ATTACH PARTITION pt_2 FOR VALUES FROM (100) TO (200);
-- a dropped column shifts the attribute numbers
CREATE TABLE pt_3 (junk int, id bigint NOT NULL, v text, n int);
ALTER TABLE pt_3 DROP COLUMN junk;
ALTER TABLE pt_root ATTACH PARTITION pt_3 FOR VALUES FROM (200) TO (300);
-- two levels: changes go to the topmost table
CREATE TABLE pt_4 PARTITION OF pt_root FOR VALUES FROM (300) TO (400) PARTITION BY RANGE (id);
CREATE TABLE pt_4a (v text, id bigint NOT NULL, n int);
ALTER TABLE pt_4 ATTACH PARTITION pt_4a FOR VALUES FROM (300) TO (350);

SELECT c.relname, walbus_eligibility(c.oid)
FROM pg_class c WHERE c.relname LIKE 'pt\_%' AND c.relkind IN ('r', 'p') ORDER BY c.relname;

INSERT INTO pt_root (id, v, n) VALUES (1, 'in pt_1', 1), (101, 'in pt_2', 2), (201, 'in pt_3', 3), (301, 'in pt_4a', 4);
INSERT INTO pt_2 (id, v, n) VALUES (102, 'directly into pt_2', 5);
UPDATE pt_root SET v = v || ', updated' WHERE id IN (1, 101, 201, 301);
-- a key change within a partition, and one moving the row to another
-- partition (decoded as a delete and an insert)
UPDATE pt_root SET id = 150 WHERE id = 102;
UPDATE pt_root SET id = 250 WHERE id = 150;
DELETE FROM pt_root WHERE id IN (1, 101, 201, 301);
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

-- truncating the root truncates its partitions: one record naming the root;
-- truncating some partitions names the root with "partial" (PROTOCOL.md §4 T)
TRUNCATE pt_root;
TRUNCATE pt_2, pt_3;
-- a whole table and a partly truncated root in one statement: two records
CREATE TABLE pt_plain (id serial PRIMARY KEY);
TRUNCATE pt_1, pt_plain;
DROP TABLE pt_plain;
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

-- a column added to the root reaches every partition: one new RELATION
ALTER TABLE pt_root ADD COLUMN added text DEFAULT 'default';
INSERT INTO pt_root (id, v, n) VALUES (2, 'after add column', 6), (202, 'after add column', 7);
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

-- a partition whose replica identity logs no key is not published (its
-- deletes could not be streamed), while its siblings still are
CREATE TABLE pt_5 PARTITION OF pt_root FOR VALUES FROM (400) TO (500);
ALTER TABLE pt_5 REPLICA IDENTITY NOTHING;
SELECT walbus_eligibility('pt_5');
INSERT INTO pt_root (id, v) VALUES (401, 'in pt_5'), (3, 'in pt_1');
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

-- the root decides eligibility: a root without a single-column key makes
-- all its partitions ineligible, and a root owner change reaches them
CREATE TABLE pt_multi (a serial, b int, v text, PRIMARY KEY (a, b)) PARTITION BY RANGE (a);
CREATE TABLE pt_multi_1 PARTITION OF pt_multi FOR VALUES FROM (1) TO (100);
SELECT walbus_eligibility('pt_multi_1');
INSERT INTO pt_multi (b, v) VALUES (1, 'never published');
SET client_min_messages = warning;
DROP ROLE IF EXISTS walbus_pt_owner;
DROP ROLE IF EXISTS walbus_pt_reader;
RESET client_min_messages;
CREATE ROLE walbus_pt_owner NOLOGIN;
CREATE ROLE walbus_pt_reader LOGIN REPLICATION;
ALTER TABLE pt_root OWNER TO walbus_pt_reader;
INSERT INTO pt_root (id, v) VALUES (4, 'root owned by the reader');
ALTER TABLE pt_root OWNER TO walbus_pt_owner;
INSERT INTO pt_root (id, v) VALUES (5, 'root owned by another role');
SET ROLE walbus_pt_reader;
SELECT walbus_eligibility('pt_1');
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable
RESET ROLE;

SELECT pg_drop_replication_slot('regression_slot');
DROP TABLE pt_root, pt_multi;
DROP ROLE walbus_pt_owner;
DROP ROLE walbus_pt_reader;
DROP FUNCTION walbus_eligibility(regclass);
