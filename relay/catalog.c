/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Table definitions read from the catalog (see catalog.h).
 *
 *-------------------------------------------------------------------------
 */
#include "catalog.h"

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"
#include "pgconn.h"
#include "relay.h"

/*
 * Every table with a one-column primary key, its columns as the plugin
 * sends them (not dropped, not generated, in attnum order), the type as
 * format_type prints it with search_path = pg_catalog (qualified unless
 * in pg_catalog, as the plugin does), and whether the column is the key.
 */
#define WR_CATALOG_SQL \
	"SELECT c.oid, n.nspname, c.relname, n.oid, a.attname, a.atttypid, " \
	"a.atttypmod, format_type(a.atttypid, a.atttypmod), a.attnum, " \
	"a.attnum = i.indkey[0] " \
	"FROM pg_class c " \
	"JOIN pg_namespace n ON n.oid = c.relnamespace " \
	"JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary " \
	"AND i.indnatts = 1 " \
	"JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 " \
	"AND NOT a.attisdropped AND a.attgenerated = '' " \
	"WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition " \
	"AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' " \
	"ORDER BY c.oid, a.attnum"

void
wr_catalog_init(wr_catalog *cat)
{
	memset(cat, 0, sizeof(*cat));
	wr_relcache_init(&cat->defs);
}

void
wr_catalog_free(wr_catalog *cat)
{
	wr_relcache_free(&cat->defs);
	memset(cat, 0, sizeof(*cat));
}

static wb_str
wr_catalog_str(const PGresult *res, int row, int col)
{
	wb_str s;

	s.ptr = PQgetvalue(res, row, col);
	s.len = (size_t) PQgetlength(res, row, col);
	return s;
}

/* Record the table of rows [first, end) of res; false when out of memory. */
static bool
wr_catalog_table(wr_relcache *defs, const PGresult *res, int first, int end)
{
	wb_record  rec;
	wb_column *cols = calloc((size_t) (end - first), sizeof(wb_column));
	bool	   changed;
	bool	   ok;

	if (cols == NULL)
		return false;
	memset(&rec, 0, sizeof(rec));
	rec.kind = WB_RELATION;
	rec.u.relation.relid = (uint32_t) strtoul(PQgetvalue(res, first, 0), NULL,
											  10);
	rec.u.relation.schema = wr_catalog_str(res, first, 1);
	rec.u.relation.table = wr_catalog_str(res, first, 2);
	rec.u.relation.schema_oid = (uint32_t) strtoul(PQgetvalue(res, first, 3),
												   NULL, 10);
	rec.u.relation.ncolumns = (uint32_t) (end - first);
	rec.u.relation.columns = cols;
	for (int i = first; i < end; i++)
	{
		wb_column *c = &cols[i - first];

		c->name = wr_catalog_str(res, i, 4);
		c->typoid = (uint32_t) strtoul(PQgetvalue(res, i, 5), NULL, 10);
		c->typmod = (int32_t) strtol(PQgetvalue(res, i, 6), NULL, 10);
		c->typname = wr_catalog_str(res, i, 7);
		c->attnum = (int32_t) strtol(PQgetvalue(res, i, 8), NULL, 10);
		if (strcmp(PQgetvalue(res, i, 9), "t") == 0)
			rec.u.relation.key_index = (uint32_t) (i - first);
	}
	ok = wr_relcache_update(defs, &rec, &changed) != NULL;
	free(cols);
	return ok;
}

/* Read every definition into a fresh cache; false (logged) on failure. */
static bool
wr_catalog_read(wr_catalog *cat, const char *conninfo)
{
	PGconn	 *conn = wr_pg_session(conninfo, "walbus-relay catalog");
	PGresult *res = NULL;
	char	  err[256];
	bool	  ok = false;
	int		  n;

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		wr_warning("cannot read table definitions from the catalog: %s",
				   conn ? PQerrorMessage(conn) : "out of memory");
		goto done;
	}
	res = wr_pg_exec(conn, "SET search_path = pg_catalog", 0, NULL,
					 PGRES_COMMAND_OK, err, sizeof(err));
	if (res == NULL)
	{
		wr_warning("cannot read table definitions from the catalog: %s", err);
		goto done;
	}
	PQclear(res);
	res = wr_pg_exec(conn, WR_CATALOG_SQL, 0, NULL, PGRES_TUPLES_OK, err,
					 sizeof(err));
	if (res == NULL)
	{
		wr_warning("cannot read table definitions from the catalog: %s", err);
		goto done;
	}
	wr_relcache_free(&cat->defs);
	wr_relcache_init(&cat->defs);
	n = PQntuples(res);
	for (int first = 0, i = 1; first < n; i++)
	{
		if (i < n &&
			strcmp(PQgetvalue(res, i, 0), PQgetvalue(res, first, 0)) == 0)
			continue;
		if (!wr_catalog_table(&cat->defs, res, first, i))
		{
			wr_warning("cannot read table definitions from the catalog: "
					   "out of memory");
			goto done;
		}
		first = i;
	}
	ok = true;

done:
	PQclear(res);
	PQfinish(conn);
	return ok;
}

const wr_relversion *
wr_catalog_version(wr_catalog *cat, const char *conninfo, uint32_t relid,
				   uint64_t schema_version)
{
	const wr_relversion *v = NULL;
	int64_t				 now;

	if (cat->loaded)
		v = wr_relcache_version(&cat->defs, relid, schema_version);
	if (v != NULL)
		return v;
	now = wr_now_ms();
	if (cat->reads > 0 && now - cat->loaded_ms < WR_CATALOG_REFRESH_MS)
		return NULL; /* read (or tried) a moment ago */
	cat->loaded_ms = now;
	cat->reads++;
	if (!wr_catalog_read(cat, conninfo))
	{
		cat->loaded = false;
		return NULL;
	}
	cat->loaded = true;
	return wr_relcache_version(&cat->defs, relid, schema_version);
}
