/* walbus--1.0.sql: SQL face of the plugin's eligibility rules (docs/PROTOCOL.md §3). */

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
