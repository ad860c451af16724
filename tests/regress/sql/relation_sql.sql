-- walbus_relation() (docs/PROTOCOL.md §5): the RELATION record a version-2
-- stream sends for a table, byte for byte, read by SQL.  Backfills publish
-- the rows they read under it, taken in the same snapshot as the rows.
\pset format unaligned
\pset tuples_only on
CREATE EXTENSION walbus;
SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');

CREATE SCHEMA rs_s;
CREATE TABLE rs_s.rs_t (id bigserial PRIMARY KEY, a text, b numeric(10,2),
						g int GENERATED ALWAYS AS (1) STORED);
ALTER TABLE rs_s.rs_t DROP COLUMN a;
ALTER TABLE rs_s.rs_t ADD COLUMN c text;
INSERT INTO rs_s.rs_t (b, c) VALUES (1.5, 'x');

-- the stream's RELATION record is exactly walbus_relation()'s
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot',
	NULL, NULL, 'proto_version', '2')
WHERE substring(data FROM 2 FOR 1) = '\x52'::bytea
  AND data = walbus_relation('rs_s.rs_t');

-- a rename: both follow it
ALTER TABLE rs_s.rs_t RENAME COLUMN c TO c2;
INSERT INTO rs_s.rs_t (b, c2) VALUES (2, 'y');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('regression_slot',
	NULL, NULL, 'proto_version', '2')
WHERE data = walbus_relation('rs_s.rs_t');

-- tables the plugin does not publish under their own name: an error with
-- the reason
CREATE TABLE rs_nokey (v int);
SELECT walbus_relation('rs_nokey');
CREATE TABLE rs_p (id serial, v int, PRIMARY KEY (id)) PARTITION BY RANGE (id);
CREATE TABLE rs_p1 PARTITION OF rs_p FOR VALUES FROM (1) TO (100);
SELECT length(walbus_relation('rs_p')) > 0;
SELECT walbus_relation('rs_p1');

SELECT 'stop' FROM pg_drop_replication_slot('regression_slot');
DROP SCHEMA rs_s CASCADE;
DROP TABLE rs_nokey, rs_p;
DROP EXTENSION walbus;
