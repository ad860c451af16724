/* walbus--1.0--1.1.sql: rows encoded as the plugin encodes them, for backfills (docs/PROTOCOL.md §5). */

\echo Use "ALTER EXTENSION walbus UPDATE TO '1.1'" to load this file. \quit

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

-- CREATE EXTENSION took the comment from walbus.control as it was then,
-- and updates do not read it again.
COMMENT ON EXTENSION walbus IS 'explain which tables the walbus logical decoding plugin publishes, and encode their rows as it does';
