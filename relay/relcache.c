/*-------------------------------------------------------------------------
 *
 * relcache.c
 *	  Relation cache with schema versions (see relcache.h).
 *
 *-------------------------------------------------------------------------
 */
#include "relcache.h"

#include <stdlib.h>
#include <string.h>

#include "schema_version.h"

void
wr_relcache_init(wr_relcache *rc)
{
	whm_init(&rc->rels);
}

static void
wr_relversion_free(wr_relversion *v)
{
	while (v != NULL)
	{
		wr_relversion *older = v->older;

		for (uint32_t i = 0; i < v->ncolumns; i++)
		{
			free(v->columns[i].name);
			free(v->columns[i].typname);
		}
		free(v->columns);
		free(v->def.columns);
		free(v->schema);
		free(v->table);
		free(v);
		v = older;
	}
}

static void
wr_rel_free(void *p)
{
	wr_rel *rel = p;

	wr_relversion_free(rel->current);
	free(rel);
}

void
wr_relcache_free(wr_relcache *rc)
{
	whm_free(&rc->rels, wr_rel_free);
}

static char *
wr_strndup(wb_str s)
{
	char *p = malloc((size_t) s.len + 1);

	if (p != NULL)
	{
		memcpy(p, s.ptr, s.len);
		p[s.len] = '\0';
	}
	return p;
}

static wr_relversion *
wr_relversion_make(const wb_record *rec, uint64_t sv)
{
	wr_relversion *v = calloc(1, sizeof(wr_relversion));
	uint32_t	   n = rec->u.relation.ncolumns;

	if (v == NULL)
		return NULL;
	v->relid = rec->u.relation.relid;
	v->schema_version = sv;
	v->key_index = rec->u.relation.key_index;
	v->schema = wr_strndup(rec->u.relation.schema);
	v->table = wr_strndup(rec->u.relation.table);
	v->schema_oid = rec->u.relation.schema_oid;
	v->columns = calloc(n ? n : 1, sizeof(wr_column));
	v->def.columns = calloc(n ? n : 1, sizeof(wbc_column));
	if (v->schema == NULL || v->table == NULL || v->columns == NULL ||
		v->def.columns == NULL)
		goto fail;
	v->ncolumns = n;
	for (uint32_t i = 0; i < n; i++)
	{
		const wb_column *c = &rec->u.relation.columns[i];
		wr_column		*col = &v->columns[i];

		col->typoid = c->typoid;
		col->typmod = c->typmod;
		col->attnum = c->attnum;
		col->name = wr_strndup(c->name);
		col->typname = wr_strndup(c->typname);
		if (col->name == NULL || col->typname == NULL)
			goto fail;
		v->def.columns[i] = (wbc_column) {
			.name = {col->name, (uint32_t) strlen(col->name)},
			.typoid = col->typoid,
			.typmod = col->typmod,
			.typname = {col->typname, (uint32_t) strlen(col->typname)},
			.attnum = col->attnum,
		};
	}
	v->def.relid = v->relid;
	v->def.schema_version = sv;
	v->def.schema = (wb_str) {v->schema, (uint32_t) strlen(v->schema)};
	v->def.table = (wb_str) {v->table, (uint32_t) strlen(v->table)};
	v->def.schema_oid = v->schema_oid;
	v->def.key_index = v->key_index;
	v->def.ncolumns = n;
	return v;

fail:
	wr_relversion_free(v);
	return NULL;
}

wr_rel *
wr_relcache_update(wr_relcache *rc, const wb_record *rec, bool *changed)
{
	uint32_t		relid = rec->u.relation.relid;
	uint64_t		sv = wsv_of_relation(rec);
	wr_rel		   *rel = whm_get(&rc->rels, &relid, sizeof(relid));
	wr_relversion **link;
	wr_relversion  *v;

	*changed = false;
	if (rel == NULL)
	{
		rel = calloc(1, sizeof(wr_rel));
		if (rel == NULL)
			return NULL;
		rel->relid = relid;
		if (whm_put(&rc->rels, &relid, sizeof(relid), rel) != 0)
		{
			free(rel);
			return NULL;
		}
	}
	if (rel->current != NULL && rel->current->schema_version == sv)
		return rel;

	/* a definition seen before (e.g. a column dropped, then re-added) */
	*changed = true;
	for (link = &rel->current; *link != NULL; link = &(*link)->older)
		if ((*link)->schema_version == sv)
		{
			v = *link;
			*link = v->older;
			v->older = rel->current;
			rel->current = v;
			return rel;
		}

	v = wr_relversion_make(rec, sv);
	if (v == NULL)
		return NULL;
	v->older = rel->current;
	rel->current = v;
	return rel;
}

wr_rel *
wr_relcache_get(const wr_relcache *rc, uint32_t relid)
{
	return whm_get(&rc->rels, &relid, sizeof(relid));
}

const wr_relversion *
wr_relcache_version(const wr_relcache *rc, uint32_t relid,
					uint64_t schema_version)
{
	wr_rel *rel = wr_relcache_get(rc, relid);

	if (rel == NULL)
		return NULL;
	for (wr_relversion *v = rel->current; v != NULL; v = v->older)
		if (v->schema_version == schema_version)
			return v;
	return NULL;
}
