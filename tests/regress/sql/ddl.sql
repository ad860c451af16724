-- Definition changes in the middle of a stream (docs/PROTOCOL.md §4 R):
-- the next change after any change to a table's definition is preceded by
-- a RELATION record with the new definition, and no change is lost.
-- Everything is read in one stream at the end, so the decoder has to
-- follow the definitions as they were at each change.
\pset format unaligned
\pset tuples_only on
SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');

CREATE TABLE ddl_t (id serial PRIMARY KEY, a text, b int);
INSERT INTO ddl_t (a, b) VALUES ('original', 1);

-- add a column with a default: old rows read it from the catalog
ALTER TABLE ddl_t ADD COLUMN c numeric DEFAULT 1.5;
INSERT INTO ddl_t (a, b) VALUES ('after add column', 2);
UPDATE ddl_t SET b = 10 WHERE id = 1;

-- drop a column
ALTER TABLE ddl_t DROP COLUMN b;
INSERT INTO ddl_t (a) VALUES ('after drop column');

-- rename a column
ALTER TABLE ddl_t RENAME COLUMN a TO label;
INSERT INTO ddl_t (label) VALUES ('after rename column');

-- change a column's type (rewrites the table; the rewrite is not decoded)
ALTER TABLE ddl_t ALTER COLUMN c TYPE numeric(6, 2);
INSERT INTO ddl_t (label, c) VALUES ('after retype', 2.25);

-- rename the table
ALTER TABLE ddl_t RENAME TO ddl_renamed;
INSERT INTO ddl_renamed (label) VALUES ('after rename table');

-- move it to another schema, then rename that schema: no relcache
-- invalidation reaches the table for the latter
CREATE SCHEMA ddl_s;
ALTER TABLE ddl_renamed SET SCHEMA ddl_s;
INSERT INTO ddl_s.ddl_renamed (label) VALUES ('after set schema');
ALTER SCHEMA ddl_s RENAME TO ddl_s2;
INSERT INTO ddl_s2.ddl_renamed (label) VALUES ('after rename schema');

-- rename a type used by a column: RELATION carries type names
CREATE TYPE ddl_mood AS ENUM ('sad', 'happy');
ALTER TABLE ddl_s2.ddl_renamed ADD COLUMN mood ddl_mood;
INSERT INTO ddl_s2.ddl_renamed (label, mood) VALUES ('with a mood', 'happy');
ALTER TYPE ddl_mood RENAME TO ddl_feeling;
INSERT INTO ddl_s2.ddl_renamed (label, mood) VALUES ('after rename type', 'sad');

-- definition changes inside one transaction, between its changes
BEGIN;
INSERT INTO ddl_s2.ddl_renamed (label) VALUES ('in txn, before');
ALTER TABLE ddl_s2.ddl_renamed ADD COLUMN d int;
INSERT INTO ddl_s2.ddl_renamed (label, d) VALUES ('in txn, after add', 4);
ALTER TABLE ddl_s2.ddl_renamed DROP COLUMN d;
INSERT INTO ddl_s2.ddl_renamed (label) VALUES ('in txn, after drop');
COMMIT;

-- invalidations that leave the definition as it was send no RELATION
CREATE INDEX ON ddl_s2.ddl_renamed (label);
VACUUM ANALYZE ddl_s2.ddl_renamed;
ALTER TABLE ddl_s2.ddl_renamed ALTER COLUMN label SET STATISTICS 50;
INSERT INTO ddl_s2.ddl_renamed (label) VALUES ('after no-op changes');

-- a dropped table's changes before the drop are still decoded
CREATE TABLE ddl_gone (id serial PRIMARY KEY, v text);
INSERT INTO ddl_gone (v) VALUES ('decoded although the table is gone');
DROP TABLE ddl_gone;

SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

SELECT pg_drop_replication_slot('regression_slot');
DROP SCHEMA ddl_s2 CASCADE;
DROP TYPE ddl_feeling;
