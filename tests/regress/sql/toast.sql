-- TOAST (docs/PROTOCOL.md §4 U, §5): a large value that an update did not
-- touch is not in the WAL and is sent as the "unchanged" marker, never as
-- null and never omitted; a changed or inserted one is sent whole.
\pset format unaligned
\pset tuples_only on
SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');

-- EXTERNAL storage: stored out of line, uncompressed, whatever the content
CREATE TABLE tt (id serial PRIMARY KEY, small text, big text, blob bytea, doc jsonb);
ALTER TABLE tt ALTER COLUMN big SET STORAGE EXTERNAL;
ALTER TABLE tt ALTER COLUMN blob SET STORAGE EXTERNAL;
ALTER TABLE tt ALTER COLUMN doc SET STORAGE EXTERNAL;
INSERT INTO tt (small, big, blob, doc) VALUES
    ('s', repeat('0123456789', 250), decode(repeat('ab', 2500), 'hex'),
     jsonb_build_object('k', repeat('j', 2500)));
-- the row is really out of line: more than the 2 kB TOAST threshold
SELECT pg_column_size(big) AS big, pg_column_size(blob) AS blob, pg_column_size(doc) AS doc FROM tt;

UPDATE tt SET small = 'untouched large values';
UPDATE tt SET big = repeat('abcdefghij', 250), small = 'big changed';
UPDATE tt SET blob = NULL;
UPDATE tt SET small = 'untouched again';
-- a key change does not make untouched large values appear
UPDATE tt SET id = 2;
DELETE FROM tt;
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

-- with REPLICA IDENTITY FULL the old row is in the WAL, but the new row's
-- unchanged value still is not
ALTER TABLE tt REPLICA IDENTITY FULL;
INSERT INTO tt (id, small, big) VALUES (3, 'full', repeat('x', 2500));
UPDATE tt SET small = 'full, untouched';
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

-- compressed values that stay inline are in the WAL and are sent whole
CREATE TABLE tt_inline (id serial PRIMARY KEY, small text, squeezed text);
INSERT INTO tt_inline (small, squeezed) VALUES ('s', repeat('a', 3000));
SELECT pg_column_size(squeezed) < 3000 AS compressed FROM tt_inline;
UPDATE tt_inline SET small = 'squeezed untouched';
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

-- a large primary key kept out of line: an update that does not change it
-- still sends it (taken from the old key in the WAL), never the marker
CREATE TABLE tt_bigkey (k text PRIMARY KEY DEFAULT 'k', v int);
ALTER TABLE tt_bigkey ALTER COLUMN k SET STORAGE EXTERNAL;
INSERT INTO tt_bigkey VALUES (repeat('K', 2100), 1);
SELECT pg_column_size(k) AS stored_size FROM tt_bigkey;
UPDATE tt_bigkey SET v = 2;
SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

SELECT pg_drop_replication_slot('regression_slot');
DROP TABLE tt, tt_inline, tt_bigkey;
