-- trigger_source.sql
--	  What the trigger source installs in its own schema, walbus_trigger, as
--	  the connecting role: no superuser, no REPLICATION attribute, no C
--	  extension (docs/TRIGGER.md).  walbus-relay trigger-install creates the
--	  schema if it does not exist (or uses an empty one made for the role),
--	  runs this script in it, then walbus_trigger.attach(), all in one
--	  transaction; walbus-relay trigger-remove runs detach() and drops the
--	  schema.
--
--	  The eligibility rules and their reason sentences are those of the
--	  plugin (plugin/walbus_eligibility.c), written again in PL/pgSQL because
--	  the plugin's C code cannot be loaded where this source is needed;
--	  tests/trigger checks that the two agree on every case of the matrix.

COMMENT ON SCHEMA walbus_trigger IS 'walbus trigger source, version 2';

-- The events.  One row per row changed (and per TRUNCATE statement), in the
-- transaction that changed it: the transaction's id, the table that fired
-- (a partition's own OID: the relay publishes it under its root), the kind
-- ('I', 'U', 'D' or 'T': only capture writes it), and the rows as their
-- record text, in the formats the capture functions ensure, so that the
-- relay reads the same values whatever the writing session's settings.
--
-- Every column and index here is paid by each write to an attached table
-- (docs/TRIGGER.md, "Cost"), so the queue keeps only what reading needs:
--   - id orders the events of one transaction.  A transaction runs in one
--     session, and a session takes the values of its cache in ascending
--     order, so a cache keeps that order and spares the sequence's lock
--     and WAL on most writes; ids of different sessions interleave, which
--     nothing reads.
--   - txid is the 64-bit transaction id as a bigint (txid_current(), the
--     value of pg_current_xact_id() without the text round trip a cast
--     from xid8 needs) because a batch is a range of it, and a BRIN index
--     on it costs the writer almost nothing: xid8 has no BRIN operator
--     class, and a B-tree cost writers about 10% of their throughput.
--     Rows are appended in roughly the order transactions start, so the
--     range of a batch touches few block ranges.
CREATE TABLE walbus_trigger.queue (
	id		bigint GENERATED ALWAYS AS IDENTITY (CACHE 1000),
	txid	bigint NOT NULL DEFAULT txid_current(),
	relid	oid NOT NULL,
	kind	"char" NOT NULL,
	new_row text,				-- I, U: NEW::text
	old_row text				-- U, D: OLD::text
);
CREATE INDEX queue_txid ON walbus_trigger.queue USING brin (txid);

-- Snapshot ticks (docs/TRIGGER.md, "Commit order"): the relay inserts one
-- per tick; the events of a tick are those of the transactions visible in
-- its snapshot and not in the previous tick's.  The oldest tick kept is
-- the last one every durable consumer has: the relay deletes older ticks,
-- and the events they cover, as consumers acknowledge.  The installation
-- inserts the first tick.
CREATE TABLE walbus_trigger.tick (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	snap	pg_snapshot NOT NULL,
	taken	timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- the relay's own bookkeeping: never published by a plugin source on the
-- same database (its eligibility rules refuse this replica identity)
ALTER TABLE walbus_trigger.tick REPLICA IDENTITY NOTHING;

-- An event written in the fixed formats: dates, intervals, floats and bytea
-- as the relay reads them, set for the duration of the call (restored on
-- return).  Setting them costs each call about as much as the rest of the
-- capture, so capture() calls this only for sessions whose own settings
-- would print the row differently.  It writes any event it is given: only
-- its owner may call it.
CREATE FUNCTION walbus_trigger.capture_fixed(relid oid, kind "char",
											 new_row anyelement, old_row anyelement)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO'
SET intervalstyle = 'postgres'
SET extra_float_digits = 1
SET bytea_output = 'hex'
AS $capture_fixed$
BEGIN
	INSERT INTO walbus_trigger.queue (relid, kind, new_row, old_row)
		VALUES (relid, kind, new_row::text, old_row::text);
END
$capture_fixed$;
REVOKE EXECUTE ON FUNCTION walbus_trigger.capture_fixed(oid, "char", anyelement, anyelement)
	FROM PUBLIC;

-- The row trigger (and the TRUNCATE one).  Triggers fire as the role that
-- writes, which need not be allowed to write the queue, so this runs as its
-- owner.  It has no SET search_path, whose switching back and forth on
-- every call costs writers about 8% of their throughput; instead every
-- name in it is schema-qualified, operators and types included, so that no
-- caller's search_path can put its own objects in their place.  The record
-- text of a row depends on four settings: where the session's print a row
-- as the relay reads it (ISO dates in any field order, the postgres
-- interval style, shortest exact floats, hex bytea: the defaults), the row
-- is written here; otherwise capture_fixed writes it.
CREATE FUNCTION walbus_trigger.capture() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
AS $capture$
BEGIN
	IF TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE' THEN
		INSERT INTO walbus_trigger.queue (relid, kind) VALUES (TG_RELID, 'T');
	ELSIF pg_catalog.current_setting('datestyle') OPERATOR(pg_catalog.!~~) 'ISO,%'
	   OR pg_catalog.current_setting('intervalstyle') OPERATOR(pg_catalog.<>) 'postgres'
	   OR pg_catalog.current_setting('extra_float_digits')::pg_catalog.int4
		  OPERATOR(pg_catalog.<) 1
	   OR pg_catalog.current_setting('bytea_output') OPERATOR(pg_catalog.<>) 'hex' THEN
		PERFORM walbus_trigger.capture_fixed(TG_RELID,
			pg_catalog.left(TG_OP, 1)::pg_catalog."char", NEW, OLD);
	ELSIF TG_OP OPERATOR(pg_catalog.=) 'INSERT' THEN
		INSERT INTO walbus_trigger.queue (relid, kind, new_row)
			VALUES (TG_RELID, 'I', NEW::pg_catalog.text);
	ELSIF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' THEN
		INSERT INTO walbus_trigger.queue (relid, kind, new_row, old_row)
			VALUES (TG_RELID, 'U', NEW::pg_catalog.text, OLD::pg_catalog.text);
	ELSE
		INSERT INTO walbus_trigger.queue (relid, kind, old_row)
			VALUES (TG_RELID, 'D', OLD::pg_catalog.text);
	END IF;
	RETURN NULL;
END
$capture$;

-- Rule 1: a table PostgreSQL decodes at all.
CREATE FUNCTION walbus_trigger.judge_storage(c pg_class) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE
		WHEN c.relkind NOT IN ('r', 'p') THEN 'not an ordinary or partitioned table'
		WHEN c.relpersistence = 't' THEN 'temporary table: never decoded'
		WHEN c.relpersistence = 'u' THEN 'unlogged table: never decoded'
	END
$$;

-- The primary key as PostgreSQL counts it (RelationGetPrimaryKeyIndex): an
-- immediate one, valid (a partitioned table's index counts as it is); a
-- row of NULLs when there is none.
CREATE FUNCTION walbus_trigger.primary_key(c pg_class) RETURNS pg_index
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT i.* FROM pg_index i
	WHERE i.indrelid = c.oid AND i.indisprimary AND i.indimmediate
	  AND (i.indisvalid OR c.relkind = 'p')
$$;

-- Rule 5: what a delete would carry as the row's key.
CREATE FUNCTION walbus_trigger.judge_replica_identity(c pg_class) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	replidx oid;
	pkidx oid;
BEGIN
	IF c.relreplident IN ('d', 'f') THEN
		RETURN NULL;
	ELSIF c.relreplident = 'n' THEN
		RETURN 'replica identity NOTHING: deletes would carry no key';
	END IF;
	SELECT i.indexrelid INTO replidx FROM pg_index i
		WHERE i.indrelid = c.oid AND i.indisreplident AND i.indimmediate
		  AND i.indpred IS NULL;
	pkidx := (walbus_trigger.primary_key(c)).indexrelid;
	IF replidx IS NOT NULL AND replidx = pkidx THEN
		RETURN NULL;
	END IF;
	RETURN format('replica identity USING INDEX %s: deletes would not carry the primary key',
				  coalesce((SELECT relname FROM pg_class WHERE oid = replidx)::text, '(null)'));
END
$$;

-- Rules 2 to 5 on a table published under its own name.
CREATE FUNCTION walbus_trigger.judge_table(c pg_class) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	pk pg_index;
	att pg_attribute;
BEGIN
	pk := walbus_trigger.primary_key(c);
	IF pk.indexrelid IS NULL THEN
		IF EXISTS (SELECT FROM pg_index i
				   WHERE i.indrelid = c.oid AND i.indisprimary AND NOT i.indimmediate) THEN
			IF c.relreplident = 'f' THEN
				RETURN 'primary key is deferrable: rows may share a key within a transaction';
			END IF;
			RETURN 'primary key is deferrable: PostgreSQL logs no key for its deletes';
		END IF;
		RETURN 'no primary key';
	END IF;
	IF pk.indnkeyatts <> 1 THEN
		RETURN format('primary key has %s columns (%s)', pk.indnkeyatts,
					  (SELECT string_agg(a.attname, ', ' ORDER BY k.n)
					   FROM generate_series(0, pk.indnkeyatts - 1) AS k(n)
					   JOIN pg_attribute a ON a.attrelid = c.oid
											AND a.attnum = pk.indkey[k.n]));
	END IF;
	SELECT * INTO att FROM pg_attribute a
		WHERE a.attrelid = c.oid AND a.attnum = pk.indkey[0];
	IF att.attgenerated <> '' THEN
		RETURN format('primary key column %s is a generated column', att.attname);
	END IF;
	IF NOT att.atthasdef AND att.attidentity = '' THEN
		RETURN format('primary key column %s has no default and is not an identity column',
					  att.attname);
	END IF;
	IF NOT pg_has_role(current_user, c.relowner, 'MEMBER') THEN
		RETURN format('owned by role %s, of which role %s is not a member',
					  pg_get_userbyid(c.relowner), current_user);
	END IF;
	RETURN walbus_trigger.judge_replica_identity(c);
END
$$;

-- The verdict for the current role: 'eligible', or why not, in the words of
-- the plugin's walbus_eligibility().  A partition's storage and replica
-- identity are judged on itself, the rest on its topmost root.
CREATE FUNCTION walbus_trigger.eligibility(rel regclass) RETURNS text
LANGUAGE plpgsql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c pg_class;
	root pg_class;
	prefix text := '';
	why text;
BEGIN
	SELECT * INTO c FROM pg_class WHERE oid = rel;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no relation with OID %', rel::oid;
	END IF;
	why := walbus_trigger.judge_storage(c);
	IF why IS NOT NULL THEN
		RETURN why;
	END IF;
	IF c.relispartition THEN
		why := walbus_trigger.judge_replica_identity(c);
		IF why IS NOT NULL THEN
			RETURN why;
		END IF;
		SELECT * INTO root FROM pg_class WHERE oid = pg_partition_root(rel);
		prefix := format('partition of %s.%s: ',
						 (SELECT nspname FROM pg_namespace WHERE oid = root.relnamespace),
						 root.relname);
		why := walbus_trigger.judge_storage(root);
		IF why IS NOT NULL THEN
			RETURN prefix || why;
		END IF;
		c := root;
	END IF;
	why := walbus_trigger.judge_table(c);
	IF why IS NOT NULL THEN
		RETURN prefix || why;
	END IF;
	RETURN 'eligible';
END
$$;

-- Every user table with the verdict, as the plugin's walbus_tables view.
CREATE VIEW walbus_trigger.tables AS
	SELECT c.oid::regclass AS rel,
		   n.nspname AS schema_name,
		   c.relname AS table_name,
		   c.relispartition AS is_partition,
		   walbus_trigger.eligibility(c.oid) AS reason
	FROM pg_class c
	JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE c.relkind IN ('r', 'p')
	  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'walbus_trigger')
	  AND n.nspname NOT LIKE 'pg\_toast%'
	  AND n.nspname NOT LIKE 'pg\_temp%';

-- Which of our triggers a table has.
CREATE VIEW walbus_trigger.attached AS
	SELECT t.tgrelid::regclass AS rel, t.tgname
	FROM pg_trigger t
	WHERE t.tgname IN ('walbus_capture', 'walbus_capture_truncate')
	  AND NOT t.tgisinternal
	  AND t.tgparentid = 0;

-- Give every eligible table that is published under its own name (a plain
-- table or the root of a partition tree; partitions inherit the row
-- trigger, and get the TRUNCATE one of their own) its triggers, and take
-- them off tables that are no longer eligible.  Returns what it did: one
-- row per table, action 'attached', 'kept', 'detached', 'skipped' or
-- 'failed' (the role may not create triggers on it), with the reason for
-- the last three.
CREATE FUNCTION walbus_trigger.attach()
RETURNS TABLE (rel regclass, action text, reason text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t record;
	has_row bool;
	has_trunc bool;
BEGIN
	FOR t IN SELECT * FROM walbus_trigger.tables ORDER BY schema_name, table_name LOOP
		has_row := EXISTS (SELECT FROM walbus_trigger.attached a
						   WHERE a.rel = t.rel AND a.tgname = 'walbus_capture');
		has_trunc := EXISTS (SELECT FROM walbus_trigger.attached a
							 WHERE a.rel = t.rel AND a.tgname = 'walbus_capture_truncate');
		IF t.reason = 'eligible' THEN
			BEGIN
				IF NOT t.is_partition AND NOT has_row THEN
					EXECUTE format('CREATE TRIGGER walbus_capture AFTER INSERT OR UPDATE OR DELETE '
								   'ON %s FOR EACH ROW EXECUTE FUNCTION walbus_trigger.capture()',
								   t.rel);
				END IF;
				IF NOT has_trunc THEN
					EXECUTE format('CREATE TRIGGER walbus_capture_truncate AFTER TRUNCATE '
								   'ON %s FOR EACH STATEMENT EXECUTE FUNCTION walbus_trigger.capture()',
								   t.rel);
				END IF;
			EXCEPTION WHEN insufficient_privilege THEN
				-- a member of the owner that does not inherit its privileges
				rel := t.rel;
				action := 'failed';
				reason := SQLERRM;
				RETURN NEXT;
				CONTINUE;
			END;
			rel := t.rel;
			action := CASE WHEN (has_row OR t.is_partition) AND has_trunc THEN 'kept'
						   ELSE 'attached' END;
			reason := NULL;
			RETURN NEXT;
		ELSE
			IF has_row THEN
				EXECUTE format('DROP TRIGGER walbus_capture ON %s', t.rel);
			END IF;
			IF has_trunc THEN
				EXECUTE format('DROP TRIGGER walbus_capture_truncate ON %s', t.rel);
			END IF;
			rel := t.rel;
			action := CASE WHEN has_row OR has_trunc THEN 'detached' ELSE 'skipped' END;
			reason := t.reason;
			RETURN NEXT;
		END IF;
	END LOOP;
END
$$;

-- Take every trigger of ours off every table (before the schema is dropped).
CREATE FUNCTION walbus_trigger.detach() RETURNS SETOF regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	a record;
BEGIN
	FOR a IN SELECT * FROM walbus_trigger.attached ORDER BY rel::text, tgname LOOP
		EXECUTE format('DROP TRIGGER %I ON %s', a.tgname, a.rel);
		IF a.tgname = 'walbus_capture_truncate' THEN
			RETURN NEXT a.rel;
		END IF;
	END LOOP;
END
$$;
