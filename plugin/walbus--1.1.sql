/* walbus--1.1.sql: SQL face of the plugin's eligibility rules (docs/PROTOCOL.md §3) and of its row encoding (§5). */

\echo Use "CREATE EXTENSION walbus" to load this file. \quit

-- 'eligible', or the sentence saying why the plugin does not publish the
-- table's changes for the current role.  The same C code as the plugin.
CREATE FUNCTION walbus_eligibility(regclass) RETURNS text
	AS 'MODULE_PATHNAME', 'walbus_eligibility_sql'
	LANGUAGE C STRICT STABLE;

-- Every user table of the database with the plugin's verdict for the
-- current role.  Partitions are listed too: their changes are published
-- under their root, so their verdict names it.
CREATE VIEW walbus_tables AS
	SELECT n.nspname AS schema_name,
		   c.relname AS table_name,
		   walbus_eligibility(c.oid) = 'eligible' AS eligible,
		   walbus_eligibility(c.oid) AS reason
	FROM pg_class c
	JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE c.relkind IN ('r', 'p')
	  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
	  AND n.nspname NOT LIKE 'pg\_toast%'
	  AND n.nspname NOT LIKE 'pg\_temp%';

-- Any role may ask; the verdict is computed for the role asking.
GRANT SELECT ON walbus_tables TO PUBLIC;

-- The published columns of row r of table rel as one msgpack array: the
-- bytes of the values element of an INSERT record of that row.  rel is a
-- table published under its own name: for a partitioned table, the root,
-- and r a row read from it.  The same C code as the plugin.
CREATE FUNCTION walbus_row(rel regclass, r anyelement) RETURNS bytea
	AS 'MODULE_PATHNAME', 'walbus_row_sql'
	LANGUAGE C STRICT STABLE PARALLEL SAFE;

-- The table's RELATION record (docs/PROTOCOL.md §4), in the newest format
-- version, exactly as a stream would send it before a change of the table
-- now.  An error unless the plugin publishes rel for the current role.
CREATE FUNCTION walbus_relation(rel regclass) RETURNS bytea
	AS 'MODULE_PATHNAME', 'walbus_relation_sql'
	LANGUAGE C STRICT STABLE PARALLEL SAFE;

-- The msgpack bytes of row r's primary-key value, as the key element of a
-- DELETE record of that row.  An error unless the plugin publishes rel for
-- the current role.
CREATE FUNCTION walbus_key(rel regclass, r anyelement) RETURNS bytea
	AS 'MODULE_PATHNAME', 'walbus_key_sql'
	LANGUAGE C STRICT STABLE PARALLEL SAFE;
