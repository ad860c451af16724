-- Updates (docs/PROTOCOL.md §4 U): the new row always; the old key only
-- when the update changed the primary key.
\pset format unaligned
\pset tuples_only on
SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');

CREATE TABLE uk_default (id serial PRIMARY KEY, v text);
CREATE TABLE uk_full (id serial PRIMARY KEY, v text);
ALTER TABLE uk_full REPLICA IDENTITY FULL;
CREATE TABLE uk_text (code text PRIMARY KEY DEFAULT 'generated', v int);
INSERT INTO uk_default (v) VALUES ('a'), ('b');
INSERT INTO uk_full (v) VALUES ('a'), ('b');
INSERT INTO uk_text (code, v) VALUES ('k1', 1), ('k2', 2);

-- replica identity DEFAULT: the WAL has the old key only when it changed
UPDATE uk_default SET v = 'a2' WHERE id = 1;
UPDATE uk_default SET id = 10 WHERE id = 1;
UPDATE uk_default SET id = id, v = 'same key' WHERE id = 2;
UPDATE uk_default SET id = 20, v = 'both' WHERE id = 2;
-- two keys swapped in one statement
UPDATE uk_default SET id = CASE id WHEN 10 THEN 21 ELSE 11 END;

-- replica identity FULL: the old row is always there; the key is sent
-- only when it differs
UPDATE uk_full SET v = 'a2' WHERE id = 1;
UPDATE uk_full SET id = 10 WHERE id = 1;
UPDATE uk_full SET id = 2, v = 'b2' WHERE id = 2;

-- a varlena key
UPDATE uk_text SET v = 10 WHERE code = 'k1';
UPDATE uk_text SET code = 'k1-renamed' WHERE code = 'k1';
UPDATE uk_text SET code = 'k2' WHERE code = 'k2';

-- INSERT ... ON CONFLICT: decoded as the insert or the update it became
INSERT INTO uk_default (id, v) VALUES (30, 'upserted') ON CONFLICT (id) DO UPDATE SET v = excluded.v;
INSERT INTO uk_default (id, v) VALUES (30, 'upserted again') ON CONFLICT (id) DO UPDATE SET v = excluded.v;
INSERT INTO uk_default (id, v) VALUES (30, 'not inserted') ON CONFLICT DO NOTHING;

-- deletes carry the (latest) key
DELETE FROM uk_default;
DELETE FROM uk_full;
DELETE FROM uk_text;

SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

SELECT pg_drop_replication_slot('regression_slot');
DROP TABLE uk_default, uk_full, uk_text;
