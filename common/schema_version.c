/*-------------------------------------------------------------------------
 *
 * schema_version.c
 *	  Schema versions of RELATION records (see schema_version.h).
 *
 * FNV-1a over the fields in a fixed order, each string length-prefixed
 * and each integer in little-endian bytes, so that the value depends on
 * neither the host nor how fields happen to concatenate.
 *
 *-------------------------------------------------------------------------
 */
#include "schema_version.h"

#include "hashmap.h"

/* Hash a length-prefixed field so "ab"+"c" and "a"+"bc" differ. */
static uint64_t
wsv_hash_str(uint64_t h, wb_str s)
{
	uint32_t len = s.len;

	h = whm_fnv1a(h, &len, sizeof(len));
	return whm_fnv1a(h, s.ptr, s.len);
}

static uint64_t
wsv_hash_u32(uint64_t h, uint32_t v)
{
	unsigned char b[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff,
						  v >> 24};

	return whm_fnv1a(h, b, 4);
}

uint64_t
wsv_of_relation(const wb_record *rec)
{
	uint64_t h = WHM_FNV_OFFSET;

	h = wsv_hash_str(h, rec->u.relation.schema);
	h = wsv_hash_str(h, rec->u.relation.table);
	h = wsv_hash_u32(h, rec->u.relation.key_index);
	h = wsv_hash_u32(h, rec->u.relation.ncolumns);
	for (uint32_t i = 0; i < rec->u.relation.ncolumns; i++)
	{
		const wb_column *c = &rec->u.relation.columns[i];

		h = wsv_hash_str(h, c->name);
		h = wsv_hash_u32(h, c->typoid);
		h = wsv_hash_u32(h, (uint32_t) c->typmod);
		h = wsv_hash_str(h, c->typname);
		/* version 2: a column dropped and added again is another column */
		if (c->attnum != 0)
			h = wsv_hash_u32(h, (uint32_t) c->attnum);
	}
	if (rec->u.relation.schema_oid != 0)
		h = wsv_hash_u32(h, rec->u.relation.schema_oid);
	/* never 0, so that 0 can mean "no version" to consumers */
	h &= WSV_MASK;
	return h ? h : 1;
}
