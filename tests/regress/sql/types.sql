-- Values (docs/PROTOCOL.md §5): native msgpack types for integers,
-- booleans, floats, bytea and timestamps; exact text for numeric; the
-- type's text output, in UTF-8, for everything else.  Domains map as their
-- base type.  Settings that change text output are fixed here.
SET TimeZone = 'America/New_York';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 1;
\pset format unaligned
\pset tuples_only on
SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');

CREATE TYPE ty_mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN ty_posint AS int4 CHECK (VALUE > 0);
CREATE DOMAIN ty_label AS text;
CREATE DOMAIN ty_stamp AS timestamptz;
CREATE TYPE ty_pair AS (x int, label text);

CREATE TABLE ty_numbers (
    id serial PRIMARY KEY,
    i2 int2, i4 int4, i8 int8, o oid,
    f4 float4, f8 float8,
    n numeric, n_scaled numeric(12, 4), b bool,
    posint ty_posint);
INSERT INTO ty_numbers (i2, i4, i8, o, f4, f8, n, n_scaled, b, posint) VALUES
    (1, 2, 3, 4, 1.5, 2.25, 123.4500, 1.5, true, 7),
    (-32768, -2147483648, -9223372036854775808, 0, '-Infinity', '-Infinity', '-Infinity', -99999999.9999, false, 1),
    (32767, 2147483647, 9223372036854775807, 4294967295, 'Infinity', 'Infinity', 'Infinity', 99999999.9999, true, 2147483647),
    (0, 0, 0, 0, 'NaN', 'NaN', 'NaN', 0, false, 1),
    (0, 0, 0, 0, '-0', '-0', '-0', 0, false, 1),
    (0, 0, 0, 0, 3.4028235e38, 1.7976931348623157e308,
     12345678901234567890123456789012345678901234567890.123456789012345678901234567890, 0.0001, false, 1),
    (0, 0, 0, 0, 1e-45, 5e-324, 1e-130, -0.0001, false, 1),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

CREATE TABLE ty_texts (
    id serial PRIMARY KEY,
    t text, vc varchar(12), bc char(5), nm name, label ty_label, by bytea, ch "char");
INSERT INTO ty_texts (t, vc, bc, nm, label, by, ch) VALUES
    ('plain', 'varchar', 'ab', 'a_name', 'domain over text', '\x00ff10', 'x'),
    ('unicode: héllo wörld ✓ 日本語 😀', 'ünïcödé', 'é', 'naïve', 'ω', '\x', 'y'),
    ('', '', '', '', '', '\x00', 'z'),
    (E'quotes " and \\ and \t tab and \n newline', 'x', 'x', 'x', 'x', decode('deadbeef', 'hex'), 'q'),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL);

CREATE TABLE ty_times (
    id serial PRIMARY KEY,
    d date, tm time, tmtz timetz, ts timestamp, tstz timestamptz, stamp ty_stamp,
    iv interval, ts3 timestamp(3));
INSERT INTO ty_times (d, tm, tmtz, ts, tstz, stamp, iv, ts3) VALUES
    ('2024-02-29', '13:14:15.123456', '13:14:15+02', '2024-02-29 13:14:15.123456',
     '2024-02-29 13:14:15.123456+02', '2024-07-01 00:00:00+00', '1 year 2 mons 3 days 04:05:06.5', '2024-02-29 13:14:15.123456'),
    ('1999-12-31', '00:00', '23:59:59.999999-12', '1999-12-31 23:59:59.999999',
     '1999-12-31 23:59:59.999999+00', '1970-01-01 00:00:00+00', '-1 day -00:00:01', '1900-01-01'),
    ('4713-01-01 BC', '24:00', '00:00+14', '4713-01-01 00:00 BC', '4713-01-01 00:00+00 BC', '294276-12-31 23:59:59.999999+00', '0', '1970-01-01 00:00:00.001'),
    ('infinity', '00:00', '00:00', 'infinity', 'infinity', 'infinity', '1 microsecond', 'infinity'),
    ('-infinity', '00:00', '00:00', '-infinity', '-infinity', '-infinity', '-178000000 years', '-infinity'),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

CREATE TABLE ty_others (
    id serial PRIMARY KEY,
    u uuid, j json, jb jsonb, ints int[], texts text[], grid float8[][],
    mood ty_mood, moods ty_mood[], pair ty_pair, range int4range, addr inet,
    bits bit varying(8), pt point, money_v money);
INSERT INTO ty_others (u, j, jb, ints, texts, grid, mood, moods, pair, range, addr, bits, pt, money_v) VALUES
    ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": 1,  "a": [true, null]}', '{"b": 1,  "a": [true, null], "é": "ü"}',
     '{1,2,3}', '{"a","b c","d\"e",NULL}', '{{1.5,2},{NaN,Infinity}}', 'happy', '{sad,ok}',
     ROW(1, 'one'), '[1,10)', '192.168.0.1/24', B'101', '(1.5,-2)', 12.34),
    ('00000000-0000-0000-0000-000000000000', '[]', '[]', '{}', '{}', '{}', 'sad', '{}',
     ROW(NULL, NULL), 'empty', '::1', B'', '(0,0)', 0),
    (NULL, 'null', 'null', '{NULL}', '{NULL}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

SELECT data FROM pg_logical_slot_get_binary_changes('regression_slot', NULL, NULL, 'proto_version', '1') \g |walbus-dump --hex --stable

-- numeric and floats go through no float conversion: compare with ::text
SELECT n::text FROM ty_numbers WHERE id = 6;

SELECT pg_drop_replication_slot('regression_slot');
DROP TABLE ty_numbers, ty_texts, ty_times, ty_others;
DROP TYPE ty_mood, ty_pair;
DROP DOMAIN ty_posint, ty_label, ty_stamp;
