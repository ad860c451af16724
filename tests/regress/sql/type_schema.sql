-- Type names in RELATION records are schema-qualified (docs/PROTOCOL.md
-- §4 R), so renaming the schema of a column's type changes the record of
-- every table using it, in any schema: the next change of such a table is
-- preceded by a new RELATION.  Renaming a schema sends no invalidation for
-- the types in it, nor for the tables using them.
\pset format unaligned
\pset tuples_only on
SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');

CREATE SCHEMA ts_types;
CREATE TYPE ts_types.color AS ENUM ('red', 'green');
CREATE DOMAIN ts_types.positive AS int CHECK (VALUE > 0);
-- in public: an enum, an array of it and a domain from ts_types
CREATE TABLE ts_uses (id serial PRIMARY KEY, c ts_types.color, cs ts_types.color[], p ts_types.positive);
-- uses nothing from ts_types
CREATE TABLE ts_plain (id serial PRIMARY KEY, v text);
INSERT INTO ts_uses (c, cs, p) VALUES ('red', '{red}', 1);
INSERT INTO ts_plain (v) VALUES ('before the schema rename');

-- every type name of ts_uses changes; ts_plain's record stays as it was
ALTER SCHEMA ts_types RENAME TO ts_types2;
INSERT INTO ts_uses (c, cs, p) VALUES ('green', '{green,red}', 2);
INSERT INTO ts_plain (v) VALUES ('after the schema rename');

-- a type moved to another schema, then that schema renamed inside a
-- transaction, between two changes of the table
CREATE SCHEMA ts_moved;
ALTER TYPE ts_types2.color SET SCHEMA ts_moved;
INSERT INTO ts_uses (c, cs, p) VALUES ('red', '{}', 3);
BEGIN;
INSERT INTO ts_uses (c, p) VALUES ('green', 4);
ALTER SCHEMA ts_moved RENAME TO ts_moved2;
INSERT INTO ts_uses (c, p) VALUES ('red', 5);
COMMIT;

-- a schema change that leaves every name as it was sends no RELATION
GRANT USAGE ON SCHEMA ts_types2 TO PUBLIC;
INSERT INTO ts_uses (c, p) VALUES ('green', 6);

SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

SELECT pg_drop_replication_slot('regression_slot');
DROP TABLE ts_uses, ts_plain;
DROP SCHEMA ts_types2 CASCADE;
DROP SCHEMA ts_moved2 CASCADE;
