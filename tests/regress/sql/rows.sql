-- walbus_row() and walbus_key() (docs/PROTOCOL.md §5): a row read by SQL,
-- encoded exactly as the plugin encodes it in the stream, so that a
-- backfill can splice it in among streamed changes.  Every row of every
-- table below is compared byte for byte with the values element of its
-- INSERT record, and its key with the key element of its DELETE record.
-- Text output depends on these settings in both, as in any one session.
SET TimeZone = 'America/New_York';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 1;
\pset format unaligned
\pset tuples_only on
CREATE EXTENSION walbus;
SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');

-- The last element of an INSERT, UPDATE (without old key) or DELETE
-- record, [kind, relid, element]: the bytes after the relid.  Only the
-- array header, the kind and the relid (a msgpack uint: 1, 2, 3 or 5
-- bytes) are read; other records give a null kind.
CREATE FUNCTION rw_split(rec bytea, OUT kind text, OUT relid oid, OUT elem bytea)
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    b int := get_byte(rec, 2);
    n int;
BEGIN
    IF get_byte(rec, 0) <> 147 OR chr(get_byte(rec, 1)) NOT IN ('I', 'U', 'D') THEN
        RETURN;
    END IF;
    kind := chr(get_byte(rec, 1));
    IF b < 128 THEN
        relid := b; n := 1;
    ELSIF b = 204 THEN
        relid := get_byte(rec, 3); n := 2;
    ELSIF b = 205 THEN
        relid := get_byte(rec, 3) * 256 + get_byte(rec, 4); n := 3;
    ELSIF b = 206 THEN
        relid := ((get_byte(rec, 3)::bigint << 24) + (get_byte(rec, 4) << 16)
                  + (get_byte(rec, 5) << 8) + get_byte(rec, 6))::oid;
        n := 5;
    ELSE
        RAISE EXCEPTION 'relid is not a msgpack uint in %', rec;
    END IF;
    elem := substr(rec, 3 + n);
END $$;

-- walbus_row or walbus_key of every row of rel, read as a backfill reads
-- them: with a whole-row reference written r.*, which no column can shadow.
CREATE FUNCTION rw_encode(fn text, rel regclass) RETURNS SETOF bytea
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format('SELECT %I(%L::regclass, r.*) FROM %s r', fn, rel, rel);
END $$;

-- The records decoded since the last call, split.  Temporary, and emptied
-- by a DELETE: a transaction that decodes must not change the catalog
-- (TRUNCATE would), or decoding it later fails to map the filenode.
CREATE TEMP TABLE rw_stream (kind text, relid oid, elem bytea);
CREATE FUNCTION rw_decode() RETURNS void LANGUAGE sql AS $$
    DELETE FROM rw_stream;
    INSERT INTO rw_stream
    SELECT s.* FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL,
                                                       'proto_version', '2') c,
         rw_split(c.data) s
    WHERE s.kind IS NOT NULL;
$$;

-- Per table: rows, records of that kind, and how many of each have no
-- equal on the other side, as multisets.  0 and 0 with equal counts: every
-- row's bytes are its record's.
CREATE FUNCTION rw_compare(fn text, rel regclass, rec_kind text,
                           OUT rows bigint, OUT records bigint,
                           OUT rows_unmatched bigint, OUT records_unmatched bigint)
LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM rw_encode(fn, rel)),
           (SELECT count(*) FROM rw_stream WHERE kind = rec_kind AND relid = rel),
           (SELECT count(*) FROM (SELECT * FROM rw_encode(fn, rel)
                                  EXCEPT ALL
                                  SELECT elem FROM rw_stream WHERE kind = rec_kind AND relid = rel) d),
           (SELECT count(*) FROM (SELECT elem FROM rw_stream WHERE kind = rec_kind AND relid = rel
                                  EXCEPT ALL
                                  SELECT * FROM rw_encode(fn, rel)) d);
$$;

CREATE TYPE rw_mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN rw_posint AS int4 CHECK (VALUE > 0);
CREATE TYPE rw_pair AS (x int, label text);

CREATE TABLE rw_numbers (
    id serial PRIMARY KEY,
    i2 int2, i4 int4, i8 int8, o oid, f4 float4, f8 float8,
    n numeric, n_scaled numeric(12, 4), b bool, posint rw_posint);
INSERT INTO rw_numbers (i2, i4, i8, o, f4, f8, n, n_scaled, b, posint) VALUES
    (1, 2, 3, 4, 1.5, 2.25, 123.4500, 1.5, true, 7),
    (-32768, -2147483648, -9223372036854775808, 0, '-Infinity', '-Infinity', '-Infinity', -99999999.9999, false, 1),
    (32767, 2147483647, 9223372036854775807, 4294967295, 'Infinity', 'Infinity', 'Infinity', 99999999.9999, true, 2147483647),
    (0, 0, 0, 0, 'NaN', 'NaN', 'NaN', 0, false, 1),
    (0, 0, 0, 0, '-0', '-0', '-0', 0, false, 1),
    (0, 0, 0, 0, 3.4028235e38, 1.7976931348623157e308,
     12345678901234567890123456789012345678901234567890.123456789012345678901234567890, 0.0001, false, 1),
    (0, 0, 0, 0, 1e-45, 5e-324, 1e-130, -0.0001, false, 1),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

CREATE TABLE rw_texts (
    id bigserial PRIMARY KEY,
    t text, vc varchar(12), bc char(5), nm name, by bytea, ch "char");
INSERT INTO rw_texts (t, vc, bc, nm, by, ch) VALUES
    ('plain', 'varchar', 'ab', 'a_name', '\x00ff10', 'x'),
    ('unicode: héllo wörld ✓ 日本語 😀', 'ünïcödé', 'é', 'naïve', '\x', 'y'),
    ('', '', '', '', '\x00', 'z'),
    (E'quotes " and \\ and \t tab and \n newline', 'x', 'x', 'x', decode('deadbeef', 'hex'), 'q'),
    (NULL, NULL, NULL, NULL, NULL, NULL);

CREATE TABLE rw_times (
    id serial PRIMARY KEY,
    d date, tm time, tmtz timetz, ts timestamp, tstz timestamptz,
    iv interval, ts3 timestamp(3));
INSERT INTO rw_times (d, tm, tmtz, ts, tstz, iv, ts3) VALUES
    ('2024-02-29', '13:14:15.123456', '13:14:15+02', '2024-02-29 13:14:15.123456',
     '2024-02-29 13:14:15.123456+02', '1 year 2 mons 3 days 04:05:06.5', '2024-02-29 13:14:15.123456'),
    ('4713-01-01 BC', '24:00', '00:00+14', '4713-01-01 00:00 BC', '4713-01-01 00:00+00 BC', '0', '1970-01-01 00:00:00.001'),
    ('infinity', '00:00', '00:00', 'infinity', 'infinity', '1 microsecond', 'infinity'),
    ('-infinity', '00:00', '00:00', '-infinity', '-infinity', '-178000000 years', '-infinity'),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL);

-- a key sent as a string
CREATE TABLE rw_others (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    u uuid, j json, jb jsonb, ints int[], texts text[], grid float8[][],
    stamps timestamptz[], mood rw_mood, moods rw_mood[], pair rw_pair,
    range int4range, addr inet, bits bit varying(8));
INSERT INTO rw_others (u, j, jb, ints, texts, grid, stamps, mood, moods, pair, range, addr, bits) VALUES
    ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": 1,  "a": [true, null]}', '{"b": 1,  "a": [true, null], "é": "ü"}',
     '{1,2,3}', '{"a","b c","d\"e",NULL}', '{{1.5,2},{NaN,Infinity}}', '{2024-02-29 13:14:15+02,infinity}',
     'happy', '{sad,ok}', ROW(1, 'one'), '[1,10)', '192.168.0.1/24', B'101'),
    ('00000000-0000-0000-0000-000000000000', '[]', '[]', '{}', '{}', '{}', '{}', 'sad', '{}',
     ROW(NULL, NULL), 'empty', '::1', B''),
    (NULL, 'null', 'null', '{NULL}', '{NULL}', NULL, '{NULL}', NULL, NULL, NULL, NULL, NULL, NULL),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

-- large values: stored out of line as is, compressed inline, compressed
-- out of line; a key stored out of line
CREATE TABLE rw_toast (k text PRIMARY KEY DEFAULT 'k', small text, big text,
                       squeezed text, packed text, blob bytea);
ALTER TABLE rw_toast ALTER COLUMN k SET STORAGE EXTERNAL;
ALTER TABLE rw_toast ALTER COLUMN big SET STORAGE EXTERNAL;
ALTER TABLE rw_toast ALTER COLUMN blob SET STORAGE EXTERNAL;
INSERT INTO rw_toast VALUES
    (repeat('K', 2100), 's', repeat('0123456789', 25000), repeat('a', 3000),
     (SELECT string_agg(md5(i::text) || repeat('-', 64), '') FROM generate_series(1, 5000) i),
     decode(repeat('ab', 5000), 'hex')),
    ('short', NULL, NULL, NULL, NULL, NULL);
SELECT pg_column_size(k) AS k, pg_column_size(big) AS big,
       pg_column_size(squeezed) < 3000 AS squeezed_compressed,
       pg_column_size(packed) BETWEEN 2100 AND 479999 AS packed_compressed_out_of_line,
       pg_column_size(blob) AS blob
FROM rw_toast WHERE small = 's';

-- columns that RELATION records leave out: dropped, generated
CREATE TABLE rw_shape (id serial PRIMARY KEY, a int, gone text, b text,
                       g int GENERATED ALWAYS AS (a * 2) STORED, c text);
ALTER TABLE rw_shape DROP COLUMN gone;
INSERT INTO rw_shape (a, b, c) VALUES (1, 'one', 'c1'), (2, NULL, 'c2'), (NULL, 'three', NULL);

-- a partitioned table, read from its root: rows in the root's column
-- order, whatever the layout of the partition they are stored in
CREATE TABLE rw_parted (id bigserial PRIMARY KEY, at date, v text) PARTITION BY RANGE (id);
CREATE TABLE rw_parted_1 PARTITION OF rw_parted FOR VALUES FROM (1) TO (100);
CREATE TABLE rw_parted_2 (junk int, v text, at date, id bigint NOT NULL);
ALTER TABLE rw_parted_2 DROP COLUMN junk;
ALTER TABLE rw_parted ATTACH PARTITION rw_parted_2 FOR VALUES FROM (100) TO (200);
INSERT INTO rw_parted (id, at, v) VALUES
    (1, '2024-01-01', 'in rw_parted_1'), (101, '2024-01-02', 'in rw_parted_2'),
    (102, NULL, NULL);

CREATE TEMP VIEW rw_tables AS
    SELECT c.oid::regclass AS rel FROM pg_class c
    WHERE c.relname IN ('rw_numbers', 'rw_texts', 'rw_times', 'rw_others',
                        'rw_toast', 'rw_shape', 'rw_parted')
    ORDER BY c.relname;

-- every row is its INSERT record's values element
SELECT rw_decode();
SELECT rel, r.* FROM rw_tables, rw_compare('walbus_row', rel, 'I') r ORDER BY rel::text;

-- what walbus_row returns: the values array, e.g. [1, "one", null, 2, "c1"]
-- for rw_shape (no dropped column, no generated one)
SELECT id, encode(walbus_row('rw_shape', s), 'hex') FROM rw_shape s ORDER BY id;

-- a row read by SQL is whole: where an UPDATE record carries the unchanged
-- marker (c7 00 01) for a large value the update left alone, walbus_row
-- has the value, as the row's INSERT record had it
UPDATE rw_toast SET small = small;
SELECT s.kind, position('\xc70001'::bytea IN s.elem) > 0 AS has_unchanged_marker,
       s.elem = w.val AS update_equals_walbus_row,
       w.val IN (SELECT elem FROM rw_stream WHERE kind = 'I') AS insert_equals_walbus_row
FROM (SELECT walbus_row('rw_toast', t) AS val FROM rw_toast t WHERE small = 's') w,
     pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '2') c,
     rw_split(c.data) s
WHERE s.kind IS NOT NULL AND length(s.elem) > 1000;

-- a column added with a default after the rows were written: the rows read
-- with it, and so do the UPDATE records that rewrite them
ALTER TABLE rw_shape ADD COLUMN added int DEFAULT 7;
UPDATE rw_shape SET a = a;
SELECT rw_decode();
SELECT 'rw_shape', r.* FROM rw_compare('walbus_row', 'rw_shape', 'U') r;

-- every key is its DELETE record's key element
CREATE TEMP TABLE rw_keys AS
    SELECT rel::oid AS relid, k FROM rw_tables, rw_encode('walbus_key', rel) k;
DELETE FROM rw_numbers;
DELETE FROM rw_texts;
DELETE FROM rw_times;
DELETE FROM rw_others;
DELETE FROM rw_toast;
DELETE FROM rw_shape;
DELETE FROM rw_parted;
SELECT rw_decode();
SELECT rel,
       (SELECT count(*) FROM rw_keys WHERE relid = rel) AS keys,
       (SELECT count(*) FROM rw_stream WHERE kind = 'D' AND relid = rel) AS deletes,
       (SELECT count(*) FROM (SELECT k FROM rw_keys WHERE relid = rel
                              EXCEPT ALL
                              SELECT elem FROM rw_stream WHERE kind = 'D' AND relid = rel) d) AS keys_unmatched,
       (SELECT count(*) FROM (SELECT elem FROM rw_stream WHERE kind = 'D' AND relid = rel
                              EXCEPT ALL
                              SELECT k FROM rw_keys WHERE relid = rel) d) AS deletes_unmatched
FROM rw_tables;

-- the cache a call site keeps follows the table's definition: here one
-- expression, evaluated again after a column was added, and after it was
-- dropped
CREATE TABLE rw_alter (id serial PRIMARY KEY, a int);
INSERT INTO rw_alter (a) VALUES (1);
DO $$
DECLARE
    rel regclass := 'rw_alter';
    r rw_alter;
BEGIN
    FOR i IN 1..3 LOOP
        SELECT * INTO r FROM rw_alter;
        RAISE NOTICE '%: %', i, walbus_row(rel, r);
        IF i = 1 THEN
            ALTER TABLE rw_alter ADD COLUMN b text DEFAULT 'b';
        ELSIF i = 2 THEN
            ALTER TABLE rw_alter DROP COLUMN a;
        END IF;
    END LOOP;
END $$;

-- errors
CREATE VIEW rw_view AS SELECT * FROM rw_numbers;
CREATE TABLE rw_no_key (id int, v text);
INSERT INTO rw_no_key VALUES (1, 'no key');
INSERT INTO rw_numbers (i2) VALUES (1);
INSERT INTO rw_parted (id) VALUES (103);
SELECT walbus_row('rw_view', v) FROM rw_view v;
SELECT walbus_row('rw_parted_2', p) FROM rw_parted_2 p;
SELECT walbus_row('rw_texts', nums.*) FROM rw_numbers nums;
SELECT walbus_row('rw_numbers', ROW(1, 2));
SELECT walbus_row('rw_numbers', 1);
SELECT walbus_key('rw_numbers', 1);
-- walbus_row encodes any table's rows; walbus_key only those of tables the
-- plugin publishes for the role asking
SELECT encode(walbus_row('rw_no_key', t), 'hex') FROM rw_no_key t;
SELECT walbus_key('rw_no_key', t) FROM rw_no_key t;
CREATE ROLE walbus_rw_other;
GRANT SELECT ON rw_numbers TO walbus_rw_other;
SET ROLE walbus_rw_other;
SELECT encode(walbus_row('rw_numbers', nums.*), 'hex') FROM rw_numbers nums;
SELECT walbus_key('rw_numbers', nums.*) FROM rw_numbers nums;
RESET ROLE;
-- their SQLSTATEs: wrong_object_type, datatype_mismatch,
-- object_not_in_prerequisite_state
CREATE FUNCTION rw_sqlstate(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE query;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT rw_sqlstate(q), q FROM (VALUES
    ($q$SELECT walbus_row('rw_view', v) FROM rw_view v$q$),
    ($q$SELECT walbus_key('rw_parted_2', p) FROM rw_parted_2 p$q$),
    ($q$SELECT walbus_row('rw_texts', nums.*) FROM rw_numbers nums$q$),
    ($q$SELECT walbus_key('rw_numbers', 1)$q$),
    ($q$SELECT walbus_key('rw_no_key', t) FROM rw_no_key t$q$)) v(q);
-- the verdict is the role's: a new role at the same call site is judged anew
CREATE FUNCTION rw_key_as(role text) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
    rel regclass := 'rw_numbers';
    r rw_numbers;
BEGIN
    SELECT * INTO r FROM rw_numbers;
    EXECUTE format('SET LOCAL ROLE %I', role);
    RETURN walbus_key(rel, r);
END $$;
BEGIN;
SELECT rw_key_as('postgres');
SELECT rw_key_as('walbus_rw_other');
ROLLBACK;

SELECT pg_drop_replication_slot('regression_slot');
DROP VIEW rw_view;
DROP TABLE rw_numbers, rw_texts, rw_times, rw_others, rw_toast, rw_shape,
    rw_parted, rw_alter, rw_no_key, rw_stream, rw_keys;
DROP FUNCTION rw_split(bytea), rw_encode(text, regclass), rw_decode(),
    rw_compare(text, regclass, text), rw_key_as(text), rw_sqlstate(text);
DROP TYPE rw_mood, rw_pair;
DROP DOMAIN rw_posint;
DROP ROLE walbus_rw_other;
DROP EXTENSION walbus;
