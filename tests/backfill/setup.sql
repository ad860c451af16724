-- tests/backfill/setup.sql: tables and helpers of the backfill suite
-- (tests/backfill/run), run as postgres on a fresh cluster before the relay
-- creates its slot.  The relay connects as postgres too (a superuser owns
-- every table's role), so eligibility is decided by the tables alone.
--
-- Every table is (id bigserial PRIMARY KEY, a text, b int): a bigint key
-- with a default (eligibility rule 3, docs/PROTOCOL.md §3), a text and an
-- int column.
--
-- In the initial load (eligible when the slot is created):
--   e0      no rows
--   e1      one row
--   big     200,000 rows
--   hot     40,000 rows, keys 4, 8, ..., 160000; later backfilled again
--           under the workload (wl_run): keys = 2 (mod 4) are free for its
--           inserts, = 1 and = 3 (mod 4) for its key changes, negative ones
--           too; its sequence starts above the backfill's range
--   parted  partitioned (rows read from its root), 10 rows in 2 partitions
-- Not in it (ineligible when the slot is created, made eligible later by
-- REPLICA IDENTITY DEFAULT, so their rows can only reach a worker as reads):
--   big3    300,000 rows, a longer text: backfilled while the relay is
--           killed twice
--   w4      150,000 rows: backfilled while the worker is killed
-- Never eligible:
--   nopk    no primary key

CREATE EXTENSION walbus;

CREATE TABLE e0 (id bigserial PRIMARY KEY, a text, b int);

CREATE TABLE e1 (id bigserial PRIMARY KEY, a text, b int);
INSERT INTO e1 (a, b) VALUES ('only row', 1);

CREATE TABLE big (id bigserial PRIMARY KEY, a text, b int);
INSERT INTO big (a, b)
    SELECT 'big row ' || g, CASE WHEN g % 10 = 0 THEN NULL ELSE g % 1000 END
    FROM generate_series(1, 200000) AS g;

CREATE TABLE hot (id bigserial PRIMARY KEY, a text, b int);
INSERT INTO hot (id, a, b)
    SELECT 4 * g, 'hot row ' || g, g FROM generate_series(1, 40000) AS g;
SELECT setval('hot_id_seq', 10000000);

CREATE TABLE parted (id bigserial, a text, b int, PRIMARY KEY (id))
    PARTITION BY RANGE (id);
CREATE TABLE parted_lo PARTITION OF parted FOR VALUES FROM (MINVALUE) TO (6);
CREATE TABLE parted_hi PARTITION OF parted FOR VALUES FROM (6) TO (MAXVALUE);
INSERT INTO parted (a, b) SELECT 'part row ' || g, g FROM generate_series(1, 10) AS g;

CREATE TABLE big3 (id bigserial PRIMARY KEY, a text, b int);
INSERT INTO big3 (a, b)
    SELECT 'big3 row ' || g || ' ' || repeat(md5(g::text), 3), g
    FROM generate_series(1, 300000) AS g;
ALTER TABLE big3 REPLICA IDENTITY NOTHING;

CREATE TABLE w4 (id bigserial PRIMARY KEY, a text, b int);
INSERT INTO w4 (a, b) SELECT 'w4 row ' || g, g FROM generate_series(1, 150000) AS g;
ALTER TABLE w4 REPLICA IDENTITY NOTHING;

CREATE TABLE nopk (id int, a text);
INSERT INTO nopk VALUES (1, 'no key');

VACUUM ANALYZE;

-- The workload on hot.  wl_ctl.stop ends wl_run.
CREATE TABLE wl_ctl (stop bool NOT NULL);
INSERT INTO wl_ctl VALUES (false);

-- An existing key of hot at or after a random point of the initial range
-- (NULL past its last one), optionally only keys = 0 (mod 4).
CREATE FUNCTION wl_pick(only_original bool) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    SELECT id FROM hot
    WHERE id >= floor(random() * 160000)::bigint
      AND (NOT only_original OR id % 4 = 0)
    ORDER BY id LIMIT 1
$$;

-- One transaction's worth of changes of hot: an insert inside the key range
-- (a free key = 2 mod 4) and one above it, three updates of values, a key
-- change (to k + 1, k - 1: both free, or -k: below the range), a delete,
-- and an update of 100 random rows of the initial range (those left), so
-- that rows change in the blocks a backfill is reading.
CREATE FUNCTION wl_step(n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    k bigint;
BEGIN
    INSERT INTO hot (id, a, b)
        VALUES (4 * floor(random() * 40000)::bigint + 2, 'ins ' || n, n)
        ON CONFLICT (id) DO NOTHING;
    INSERT INTO hot (a, b) VALUES ('seq ' || n, n);
    FOR i IN 1..3 LOOP
        k := wl_pick(false);
        UPDATE hot SET a = 'upd ' || n || '.' || i, b = coalesce(b, 0) + 1
        WHERE id = k;
    END LOOP;
    k := wl_pick(true);
    IF k IS NOT NULL THEN
        UPDATE hot SET id = CASE n % 3 WHEN 0 THEN k + 1 WHEN 1 THEN k - 1 ELSE -k END,
                       a = 'key ' || n
        WHERE id = k;
    END IF;
    k := wl_pick(false);
    DELETE FROM hot WHERE id = k;
    UPDATE hot SET b = coalesce(b, 0) + 1, a = 'many ' || n
    WHERE id IN (SELECT 4 * (1 + floor(random() * 40000))::bigint
                 FROM generate_series(1, 100));
END
$$;

-- Run wl_step, one transaction each, until wl_ctl.stop (at most max_s).
CREATE PROCEDURE wl_run(max_s float8) LANGUAGE plpgsql AS $$
DECLARE
    n int := 0;
    t_end timestamptz := clock_timestamp() + make_interval(secs => max_s);
BEGIN
    WHILE clock_timestamp() < t_end AND NOT (SELECT stop FROM wl_ctl) LOOP
        n := n + 1;
        PERFORM wl_step(n);
        COMMIT;
        PERFORM pg_sleep(0.001);
    END LOOP;
    RAISE NOTICE 'wl_run: % transactions', n;
END
$$;
