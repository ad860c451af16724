-- Table patterns (docs/PROTOCOL.md §2 include_tables, exclude_tables):
-- schema.table or table (any schema), with * and ?; names compared as
-- stored, case-sensitively; exclude wins over include.  Patterns only
-- narrow the eligible tables: they never make an ineligible table appear.
\pset format unaligned
\pset tuples_only on
SELECT 'init' FROM pg_create_logical_replication_slot('regression_slot', 'walbus');

CREATE SCHEMA pat_s;
CREATE TABLE pat_a (id serial PRIMARY KEY);
CREATE TABLE pat_b (id serial PRIMARY KEY);
CREATE TABLE pat_long (id serial PRIMARY KEY);
CREATE TABLE "Pat_Mixed" (id serial PRIMARY KEY);
CREATE TABLE "pat.dot" (id serial PRIMARY KEY);
CREATE TABLE pat_s.pat_a (id serial PRIMARY KEY);
CREATE TABLE pat_s.other (id serial PRIMARY KEY);
CREATE TABLE pat_nopk (id serial);
BEGIN;
INSERT INTO pat_a DEFAULT VALUES;
INSERT INTO pat_b DEFAULT VALUES;
INSERT INTO pat_long DEFAULT VALUES;
INSERT INTO "Pat_Mixed" DEFAULT VALUES;
INSERT INTO "pat.dot" DEFAULT VALUES;
INSERT INTO pat_s.pat_a DEFAULT VALUES;
INSERT INTO pat_s.other DEFAULT VALUES;
INSERT INTO pat_nopk DEFAULT VALUES;
COMMIT;

-- the tables each option value lets through, from the inserts' records,
-- on one line
CREATE FUNCTION pat_tables(VARIADIC options text[]) RETURNS SETOF bytea
    LANGUAGE sql AS $$
    SELECT data FROM pg_logical_slot_peek_binary_changes('regression_slot', NULL, NULL, VARIADIC options)
$$;
SELECT pat_tables('proto_version', '1') \g |walbus-dump --hex --stable | sed -n 's/.*"kind":"insert","schema":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | paste -sd' ' 
SELECT pat_tables('proto_version', '1', 'include_tables', 'pat_a') \g |walbus-dump --hex --stable | sed -n 's/.*"kind":"insert","schema":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | paste -sd' ' 
SELECT pat_tables('proto_version', '1', 'include_tables', 'public.pat_a') \g |walbus-dump --hex --stable | sed -n 's/.*"kind":"insert","schema":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | paste -sd' ' 
SELECT pat_tables('proto_version', '1', 'include_tables', 'pat_*') \g |walbus-dump --hex --stable | sed -n 's/.*"kind":"insert","schema":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | paste -sd' ' 
SELECT pat_tables('proto_version', '1', 'include_tables', 'pat_?') \g |walbus-dump --hex --stable | sed -n 's/.*"kind":"insert","schema":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | paste -sd' ' 
SELECT pat_tables('proto_version', '1', 'include_tables', 'public.*') \g |walbus-dump --hex --stable | sed -n 's/.*"kind":"insert","schema":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | paste -sd' ' 
SELECT pat_tables('proto_version', '1', 'include_tables', '*.other, pat_b') \g |walbus-dump --hex --stable | sed -n 's/.*"kind":"insert","schema":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | paste -sd' ' 
SELECT pat_tables('proto_version', '1', 'include_tables', 'p*_*o*') \g |walbus-dump --hex --stable | sed -n 's/.*"kind":"insert","schema":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | paste -sd' ' 
SELECT pat_tables('proto_version', '1', 'include_tables', '*') \g |walbus-dump --hex --stable | sed -n 's/.*"kind":"insert","schema":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | paste -sd' ' 
SELECT pat_tables('proto_version', '1', 'include_tables', '*.*') \g |walbus-dump --hex --stable | sed -n 's/.*"kind":"insert","schema":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | paste -sd' ' 
SELECT pat_tables('proto_version', '1', 'include_tables', 'pat_nopk') \g |walbus-dump --hex --stable | sed -n 's/.*"kind":"insert","schema":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | paste -sd' ' 
SELECT pat_tables('proto_version', '1', 'include_tables', 'PAT_A') \g |walbus-dump --hex --stable | sed -n 's/.*"kind":"insert","schema":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | paste -sd' ' 
SELECT pat_tables('proto_version', '1', 'include_tables', 'Pat_Mixed') \g |walbus-dump --hex --stable | sed -n 's/.*"kind":"insert","schema":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | paste -sd' ' 
SELECT pat_tables('proto_version', '1', 'include_tables', 'public.pat.dot') \g |walbus-dump --hex --stable | sed -n 's/.*"kind":"insert","schema":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | paste -sd' ' 
SELECT pat_tables('proto_version', '1', 'exclude_tables', 'pat_s.*') \g |walbus-dump --hex --stable | sed -n 's/.*"kind":"insert","schema":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | paste -sd' ' 
SELECT pat_tables('proto_version', '1', 'exclude_tables', 'pat_a, Pat_*') \g |walbus-dump --hex --stable | sed -n 's/.*"kind":"insert","schema":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | paste -sd' ' 
SELECT pat_tables('proto_version', '1', 'include_tables', 'pat_*', 'exclude_tables', 'pat_b') \g |walbus-dump --hex --stable | sed -n 's/.*"kind":"insert","schema":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | paste -sd' ' 
SELECT pat_tables('proto_version', '1', 'include_tables', 'pat_a', 'exclude_tables', 'pat_a') \g |walbus-dump --hex --stable | sed -n 's/.*"kind":"insert","schema":"\([^"]*\)","table":"\([^"]*\)".*/\1.\2/p' | paste -sd' ' 
-- nothing matches: not even BEGIN and COMMIT
SELECT count(*) FROM pat_tables('proto_version', '1', 'include_tables', 'nomatch');

SELECT pg_drop_replication_slot('regression_slot');
DROP FUNCTION pat_tables(text[]);
DROP TABLE pat_a, pat_b, pat_long, "Pat_Mixed", "pat.dot", pat_nopk;
DROP SCHEMA pat_s CASCADE;
