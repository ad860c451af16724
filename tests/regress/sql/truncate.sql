-- TRUNCATE (docs/PROTOCOL.md §4 T): one record per statement listing the
-- eligible tables it truncated, with the CASCADE and RESTART IDENTITY
-- flags; ineligible tables are left out, and a statement that truncated
-- only ineligible tables produces nothing at all.
\pset format unaligned
\pset tuples_only on
SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');

CREATE TABLE tr_a (id serial PRIMARY KEY, v text);
CREATE TABLE tr_b (id bigserial PRIMARY KEY, v text);
CREATE TABLE tr_child (id serial PRIMARY KEY, a_id int REFERENCES tr_a (id));
CREATE TABLE tr_nopk_child (a_id int REFERENCES tr_a (id));
CREATE TABLE tr_nopk (v text);
INSERT INTO tr_a (v) VALUES ('a');
INSERT INTO tr_b (v) VALUES ('b');
INSERT INTO tr_nopk (v) VALUES ('no pk');

-- the first record naming a table is preceded by its RELATION
TRUNCATE tr_b, tr_nopk, tr_a, tr_child, tr_nopk_child;
TRUNCATE tr_nopk;
TRUNCATE tr_b RESTART IDENTITY;
TRUNCATE tr_a CASCADE;
TRUNCATE tr_nopk, tr_a, tr_b RESTART IDENTITY CASCADE;
-- in a transaction with other changes, in statement order
BEGIN;
INSERT INTO tr_b (v) VALUES ('before');
TRUNCATE tr_b;
INSERT INTO tr_b (v) VALUES ('after');
COMMIT;
-- a rolled back truncate is not decoded
BEGIN;
TRUNCATE tr_b;
ROLLBACK;

SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

SELECT pg_drop_replication_slot('regression_slot');
DROP TABLE tr_a, tr_b, tr_child, tr_nopk_child, tr_nopk;
