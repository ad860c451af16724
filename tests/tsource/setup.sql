-- tests/tsource/setup.sql: the role and tables of tests/tsource/run.
CREATE ROLE app LOGIN;					-- no superuser, no REPLICATION
GRANT CREATE ON DATABASE postgres TO app;
CREATE SCHEMA s AUTHORIZATION app;
SET ROLE app;
-- the workload's table: its copy is compared with it
CREATE TABLE s.kv (id bigserial PRIMARY KEY, a text, b int);
-- every kind of value of PROTOCOL.md §5, for the differential test
CREATE TABLE s.types (
	id bigserial PRIMARY KEY,
	i2 int2, i4 int4, i8 int8, o oid,
	f4 float4, f8 float8, n numeric, n2 numeric(12,2), ok bool,
	by bytea, ts timestamp, tz timestamptz, d date, tm time, iv interval,
	arr int[], tarr text[], farr float8[], j jsonb, js json, u uuid,
	t text, vc varchar(10), ch char(3), gen int GENERATED ALWAYS AS (i4 * 2) STORED
);
CREATE TABLE s.parted (id bigserial, v text, PRIMARY KEY (id)) PARTITION BY RANGE (id);
CREATE TABLE s.parted_lo PARTITION OF s.parted FOR VALUES FROM (MINVALUE) TO (1000);
CREATE TABLE s.parted_hi (v text, id bigint NOT NULL);	-- columns in another order
ALTER TABLE s.parted ATTACH PARTITION s.parted_hi FOR VALUES FROM (1000) TO (MAXVALUE);
RESET ROLE;
