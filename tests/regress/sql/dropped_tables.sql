-- The relation cache forgets dropped tables (plugin/walbus_relcache.h): an
-- entry is freed at the end of the transaction that dropped its table, so
-- a stream over many short-lived tables does not grow or slow down.
-- Forgetting must never lose a change or repeat a RELATION of a table that
-- still exists, nor leave a partition pointing at its dropped root.
\pset format unaligned
\pset tuples_only on
SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');

-- short-lived tables, each created, written once and dropped, in
-- transactions of their own
SELECT format('CREATE TABLE dt_short_%s (id serial PRIMARY KEY, v text)', i),
       format('INSERT INTO dt_short_%s (v) VALUES (%L)', i, 'short-lived ' || i),
       format('DROP TABLE dt_short_%s', i)
FROM generate_series(1, 5) AS i \gexec

-- written and dropped in one transaction, between changes of another table
CREATE TABLE dt_stays (id serial PRIMARY KEY, v text);
CREATE TABLE dt_gone (id serial PRIMARY KEY, v text);
BEGIN;
INSERT INTO dt_stays (v) VALUES ('before the drop');
INSERT INTO dt_gone (v) VALUES ('decoded, then its table is dropped');
DROP TABLE dt_gone;
INSERT INTO dt_stays (v) VALUES ('after the drop, same transaction');
COMMIT;

-- a drop rolled back is no drop: the table's entry, and the RELATION
-- already sent, stay; no RELATION before its next change
BEGIN;
SAVEPOINT before_drop;
DROP TABLE dt_stays;
ROLLBACK TO SAVEPOINT before_drop;
INSERT INTO dt_stays (v) VALUES ('drop rolled back to a savepoint');
COMMIT;
INSERT INTO dt_stays (v) VALUES ('next transaction: still no RELATION');

-- a partition outlives its dropped root: detached, it is published under
-- its own name (the key's default uses no sequence of the root, which
-- would keep the root from being dropped)
CREATE TABLE dt_root (id int DEFAULT 0 PRIMARY KEY, v text) PARTITION BY RANGE (id);
CREATE TABLE dt_leaf PARTITION OF dt_root FOR VALUES FROM (0) TO (100);
INSERT INTO dt_root (id, v) VALUES (1, 'published as dt_root');
ALTER TABLE dt_root DETACH PARTITION dt_leaf;
DROP TABLE dt_root;
INSERT INTO dt_leaf (id, v) VALUES (2, 'root dropped: published as dt_leaf');

-- a new table under a dropped table's name is another relation
CREATE TABLE dt_again (id serial PRIMARY KEY, v text);
INSERT INTO dt_again (v) VALUES ('first dt_again');
DROP TABLE dt_again;
CREATE TABLE dt_again (id bigserial PRIMARY KEY, label text, n int);
INSERT INTO dt_again (label, n) VALUES ('second dt_again', 2);

SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

SELECT pg_drop_replication_slot('regression_slot');
DROP TABLE dt_stays, dt_leaf, dt_again;
