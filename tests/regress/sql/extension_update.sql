-- The walbus extension's versions: 1.1 adds walbus_row() and walbus_key()
-- (docs/PROTOCOL.md §5).  1.0 stays installable, an update brings it to
-- exactly what a new installation of 1.1 is, and 1.1 is the default.
\pset format unaligned
\pset tuples_only on
CREATE FUNCTION wu_objects() RETURNS TABLE (extversion text, comment text, object text)
LANGUAGE sql AS $$
    SELECT e.extversion, obj_description(e.oid, 'pg_extension'),
           pg_describe_object(d.classid, d.objid, 0)
           || coalesce(' volatile=' || p.provolatile::text || ' parallel=' || p.proparallel::text
                       || ' strict=' || p.proisstrict::text, '')
    FROM pg_extension e
    JOIN pg_depend d ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
                        AND d.deptype = 'e'
    LEFT JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
    WHERE e.extname = 'walbus'
    ORDER BY 3;
$$;

SELECT name, version, installed FROM pg_available_extension_versions
WHERE name = 'walbus' ORDER BY version;
SELECT default_version FROM pg_available_extensions WHERE name = 'walbus';

CREATE EXTENSION walbus VERSION '1.0';
SELECT * FROM wu_objects();
ALTER EXTENSION walbus UPDATE;
SELECT * FROM wu_objects();
CREATE TEMP TABLE wu_updated AS SELECT * FROM wu_objects();
DROP EXTENSION walbus;

CREATE EXTENSION walbus;
-- nothing differs from the updated installation
(SELECT * FROM wu_objects() EXCEPT SELECT * FROM wu_updated)
UNION ALL
(SELECT * FROM wu_updated EXCEPT SELECT * FROM wu_objects());

-- and the functions an update added work
CREATE TABLE wu_t (id serial PRIMARY KEY, v text);
INSERT INTO wu_t (v) VALUES ('one');
SELECT encode(walbus_row('wu_t', t.*), 'hex'), encode(walbus_key('wu_t', t.*), 'hex') FROM wu_t t;

DROP TABLE wu_t;
DROP EXTENSION walbus;
DROP FUNCTION wu_objects();
