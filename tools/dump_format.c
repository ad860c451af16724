/*-------------------------------------------------------------------------
 *
 * dump_format.c
 *	  Records to JSON objects for walbus-dump, with a RELATION cache
 *	  (see dump_format.h), in the JSON dialect of docs/JSON.md.
 *
 * Version 1 and 2 records are told apart by what the decoder filled in: a
 * version-2 RELATION's columns carry an attnum (never 0), a version-1
 * RELATION's do not, so version-1 output is what it always was.
 *
 * Building is sticky on failure: jansson's setters accept a NULL value (they
 * return -1 and leave the container alone), so nested objects are built
 * without checks and put() remembers the first failure; the formatter
 * reports it once, at the end of the record.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump_format.h"
#include "wire_text.h"

/*
 * The latest RELATION of one relid, as much as changes need of it.  A slot
 * stays used once taken (the table is open addressing without deletion);
 * table is NULL when its relid is not described, after a WITHDRAWN.
 */
typedef struct cached_relation
{
	bool	 used;
	uint32_t relid;
	json_t	*schema; /* JSON strings, as text_json makes them */
	json_t	*table;	 /* NULL: not described */
	uint32_t ncolumns;
	char   **colnames;	   /* NUL-terminated copies */
	bool	 names_usable; /* distinct valid UTF-8 without NUL: keys */
} cached_relation;

struct dump_formatter
{
	bool   stable;	/* leave out run-dependent fields */
	bool   oom;		/* a jansson allocation failed (sticky) */
	char  *warning; /* caller's buffer for this record */
	size_t warning_size;

	/* open addressing on relid; capacity a power of two, at most half full */
	cached_relation *rels;
	size_t			 nrels;
	size_t			 capacity;
};

static void put(dump_formatter *f, json_t *obj, const char *key,
				json_t *value);
static void append(dump_formatter *f, json_t *array, json_t *value);
static void warn(dump_formatter *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static cached_relation *find_relation(dump_formatter *f, uint32_t relid,
									  bool create);
static cached_relation *described_relation(dump_formatter *f, uint32_t relid);
static const char	   *undescribed(dump_formatter *f, uint32_t relid);
static bool	   remember_relation(dump_formatter *f, const wb_record *rec);
static void	   forget_relation(cached_relation *rel);
static json_t *format_relation(dump_formatter *f, const wb_record *rec);
static json_t *format_change(dump_formatter *f, const wb_record *rec);
static json_t *format_delete(dump_formatter *f, const wb_record *rec);
static json_t *format_truncate(dump_formatter *f, const wb_record *rec);
static json_t *format_message(dump_formatter *f, const wb_record *rec);
static json_t *format_withdrawn(dump_formatter *f, const wb_record *rec);
static void	   put_table(dump_formatter *f, json_t *obj,
						 const cached_relation *rel);
static json_t *value_json(const wb_value *v);
static json_t *text_json(const char *p, size_t len);
static json_t *hex_text(const void *p, size_t len);
static json_t *real_json(double d, bool single);
static json_t *lsn_json(uint64_t lsn);
static json_t *timestamp_text(wb_timestamp ts);

dump_formatter *
dump_formatter_create(bool stable)
{
	dump_formatter *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->stable = stable;
	f->capacity = 64;
	f->rels = calloc(f->capacity, sizeof(*f->rels));
	if (f->rels == NULL)
	{
		free(f);
		return NULL;
	}
	return f;
}

void
dump_formatter_free(dump_formatter *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->capacity; i++)
		if (f->rels[i].used)
			forget_relation(&f->rels[i]);
	free(f->rels);
	free(f);
}

json_t *
dump_format_record(dump_formatter *f, const wb_record *rec, char *warning,
				   size_t warning_size)
{
	json_t *obj = NULL;

	f->oom = false;
	f->warning = warning;
	f->warning_size = warning_size;
	warning[0] = '\0';

	switch (rec->kind)
	{
		case WB_BEGIN:
			obj = json_object();
			put(f, obj, "kind", json_string("begin"));
			if (!f->stable)
			{
				put(f, obj, "xid", json_integer(rec->u.begin.xid));
				/* the wire's final_lsn: the commit's LSN, named as tap does */
				put(f, obj, "commit_lsn", lsn_json(rec->u.begin.final_lsn));
				put(f, obj, "commit_time",
					timestamp_text(rec->u.begin.commit_time));
			}
			break;
		case WB_COMMIT:
			obj = json_object();
			put(f, obj, "kind", json_string("commit"));
			if (!f->stable)
			{
				put(f, obj, "commit_lsn", lsn_json(rec->u.commit.commit_lsn));
				put(f, obj, "end_lsn", lsn_json(rec->u.commit.end_lsn));
				put(f, obj, "commit_time",
					timestamp_text(rec->u.commit.commit_time));
			}
			break;
		case WB_RELATION:
			obj = format_relation(f, rec);
			if (!remember_relation(f, rec))
				f->oom = true;
			break;
		case WB_INSERT:
		case WB_UPDATE:
			obj = format_change(f, rec);
			break;
		case WB_DELETE:
			obj = format_delete(f, rec);
			break;
		case WB_TRUNCATE:
			obj = format_truncate(f, rec);
			break;
		case WB_MESSAGE:
			obj = format_message(f, rec);
			break;
		case WB_WITHDRAWN:
			obj = format_withdrawn(f, rec);
			break;
	}

	if (obj == NULL || f->oom)
	{
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* Set obj[key] = value, taking value's reference; remember any failure. */
static void
put(dump_formatter *f, json_t *obj, const char *key, json_t *value)
{
	if (json_object_set_new(obj, key, value) != 0)
		f->oom = true;
}

static void
append(dump_formatter *f, json_t *array, json_t *value)
{
	if (json_array_append_new(array, value) != 0)
		f->oom = true;
}

/* Describe what is wrong with this record; the first problem wins. */
static void
warn(dump_formatter *f, const char *fmt, ...)
{
	va_list ap;

	if (f->warning[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(f->warning, f->warning_size, fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------- RELATION cache */

/*
 * The slot of relid, or, when create, a fresh slot for it (growing the table
 * first if needed); NULL when absent, or when growing ran out of memory.
 */
static cached_relation *
find_relation(dump_formatter *f, uint32_t relid, bool create)
{
	size_t mask = f->capacity - 1;
	size_t i;

	for (i = (relid * 2654435761u) & mask; f->rels[i].used; i = (i + 1) & mask)
		if (f->rels[i].relid == relid)
			return &f->rels[i];
	if (!create)
		return NULL;

	if ((f->nrels + 1) * 2 > f->capacity)
	{
		cached_relation *old = f->rels;
		size_t			 old_capacity = f->capacity;
		size_t			 j;

		f->rels = calloc(old_capacity * 2, sizeof(*f->rels));
		if (f->rels == NULL)
		{
			f->rels = old;
			return NULL;
		}
		f->capacity = old_capacity * 2;
		f->nrels = 0;
		for (j = 0; j < old_capacity; j++)
			if (old[j].used)
				*find_relation(f, old[j].relid, true) = old[j];
		free(old);
		return find_relation(f, relid, true);
	}
	f->nrels++;
	f->rels[i].used = true;
	f->rels[i].relid = relid;
	return &f->rels[i];
}

/* The slot of relid if its latest RELATION is known, else NULL. */
static cached_relation *
described_relation(dump_formatter *f, uint32_t relid)
{
	cached_relation *rel = find_relation(f, relid, false);

	return rel != NULL && rel->table != NULL ? rel : NULL;
}

/* How a change of relid that is not described breaks the rules. */
static const char *
undescribed(dump_formatter *f, uint32_t relid)
{
	return find_relation(f, relid, false) != NULL ?
		"after its WITHDRAWN record, before a new RELATION record" :
		"before any RELATION record for it";
}

/* Replace the cached RELATION of rec's relid; false when out of memory. */
static bool
remember_relation(dump_formatter *f, const wb_record *rec)
{
	cached_relation *rel = find_relation(f, rec->u.relation.relid, true);
	json_t			*seen;
	uint32_t		 i;

	if (rel == NULL)
		return false;
	forget_relation(rel);

	rel->schema = text_json(rec->u.relation.schema.ptr,
							rec->u.relation.schema.len);
	rel->table = text_json(rec->u.relation.table.ptr,
						   rec->u.relation.table.len);
	rel->ncolumns = rec->u.relation.ncolumns;
	rel->colnames = calloc(rel->ncolumns + 1, sizeof(char *));
	seen = json_object();
	if (rel->schema == NULL || rel->table == NULL || rel->colnames == NULL ||
		seen == NULL)
	{
		json_decref(seen);
		return false;
	}

	/* names become object keys: they must be distinct, NUL-free UTF-8 */
	rel->names_usable = true;
	for (i = 0; i < rel->ncolumns; i++)
	{
		const wb_str *name = &rec->u.relation.columns[i].name;

		rel->colnames[i] = malloc((size_t) name->len + 1);
		if (rel->colnames[i] == NULL)
		{
			json_decref(seen);
			return false;
		}
		memcpy(rel->colnames[i], name->ptr, name->len);
		rel->colnames[i][name->len] = '\0';
		if (memchr(rel->colnames[i], '\0', name->len) != NULL ||
			json_object_get(seen, rel->colnames[i]) != NULL ||
			json_object_set_new(seen, rel->colnames[i], json_true()) != 0)
			rel->names_usable = false;
	}
	json_decref(seen);
	return true;
}

/* Free a slot's contents, keeping the slot itself. */
static void
forget_relation(cached_relation *rel)
{
	uint32_t i;

	json_decref(rel->schema);
	json_decref(rel->table);
	rel->schema = NULL;
	rel->table = NULL;
	if (rel->colnames != NULL)
		for (i = 0; i < rel->ncolumns; i++)
			free(rel->colnames[i]);
	free(rel->colnames);
	rel->colnames = NULL;
	rel->ncolumns = 0;
}

/* ------------------------------------------------------------------ records */

/*
 * Version 2 adds "key_attnum", "attnum" to each column and, after them,
 * "schema_oid".  The key column is "key_column": "key" is a key's value
 * everywhere else in the dialect.
 */
static json_t *
format_relation(dump_formatter *f, const wb_record *rec)
{
	json_t	*obj = json_object();
	json_t	*columns = json_array();
	uint32_t key_index = rec->u.relation.key_index;
	/* the decoder rejects a RELATION without columns */
	bool	 version2 = rec->u.relation.columns[0].attnum != 0;
	uint32_t i;

	put(f, obj, "kind", json_string("relation"));
	if (!f->stable)
		put(f, obj, "relid", json_integer(rec->u.relation.relid));
	put(f, obj, "schema",
		text_json(rec->u.relation.schema.ptr, rec->u.relation.schema.len));
	put(f, obj, "table",
		text_json(rec->u.relation.table.ptr, rec->u.relation.table.len));
	/* the decoder rejects a key_index that names no column */
	put(f, obj, "key_column",
		text_json(rec->u.relation.columns[key_index].name.ptr,
				  rec->u.relation.columns[key_index].name.len));
	if (version2)
		put(f, obj, "key_attnum",
			json_integer(rec->u.relation.columns[key_index].attnum));

	for (i = 0; i < rec->u.relation.ncolumns; i++)
	{
		const wb_column *c = &rec->u.relation.columns[i];
		json_t			*col = json_object();

		put(f, col, "name", text_json(c->name.ptr, c->name.len));
		if (!f->stable)
			put(f, col, "type_oid", json_integer(c->typoid));
		put(f, col, "typmod", json_integer(c->typmod));
		put(f, col, "type", text_json(c->typname.ptr, c->typname.len));
		if (version2)
			put(f, col, "attnum", json_integer(c->attnum));
		append(f, columns, col);
	}
	put(f, obj, "columns", columns);
	if (version2 && !f->stable)
		put(f, obj, "schema_oid", json_integer(rec->u.relation.schema_oid));
	return obj;
}

/*
 * INSERT and UPDATE.  Values are an object keyed by column name when the
 * relid's RELATION is known and matches; otherwise an array, and a warning.
 */
static json_t *
format_change(dump_formatter *f, const wb_record *rec)
{
	cached_relation *rel = described_relation(f, rec->u.change.relid);
	const char		*kind = rec->kind == WB_INSERT ? "insert" : "update";
	json_t			*obj = json_object();
	json_t			*values;
	uint32_t		 i;

	put(f, obj, "kind", json_string(kind));
	put_table(f, obj, rel);
	if (!f->stable || rel == NULL)
		put(f, obj, "relid", json_integer(rec->u.change.relid));

	if (rel == NULL)
		warn(f, "%s for relid %u %s", kind, rec->u.change.relid,
			 undescribed(f, rec->u.change.relid));
	else if (rec->u.change.nvalues != rel->ncolumns)
		warn(f,
			 "%s for relid %u has %u values but its RELATION has %u columns",
			 kind, rec->u.change.relid, rec->u.change.nvalues, rel->ncolumns);
	else if (!rel->names_usable)
		warn(
			f,
			"RELATION of relid %u has column names that are not distinct UTF-8",
			rec->u.change.relid);

	if (f->warning[0] == '\0')
	{
		values = json_object();
		for (i = 0; i < rel->ncolumns; i++)
			put(f, values, rel->colnames[i],
				value_json(&rec->u.change.values[i]));
	}
	else
	{
		values = json_array();
		for (i = 0; i < rec->u.change.nvalues; i++)
			append(f, values, value_json(&rec->u.change.values[i]));
	}
	put(f, obj, "values", values);

	if (rec->kind == WB_UPDATE && rec->u.change.has_old_key)
		put(f, obj, "old_key", value_json(&rec->u.change.old_key));
	return obj;
}

static json_t *
format_delete(dump_formatter *f, const wb_record *rec)
{
	cached_relation *rel = described_relation(f, rec->u.del.relid);
	json_t			*obj = json_object();

	put(f, obj, "kind", json_string("delete"));
	put_table(f, obj, rel);
	if (!f->stable || rel == NULL)
		put(f, obj, "relid", json_integer(rec->u.del.relid));
	if (rel == NULL)
		warn(f, "delete for relid %u %s", rec->u.del.relid,
			 undescribed(f, rec->u.del.relid));
	put(f, obj, "key", value_json(&rec->u.del.key));
	return obj;
}

/*
 * Truncated tables as {"schema", "table"}, or {"relid"} for a relation not
 * described; the flags as walbus-tap prints them.
 */
static json_t *
format_truncate(dump_formatter *f, const wb_record *rec)
{
	json_t	*obj = json_object();
	json_t	*tables = json_array();
	json_t	*flags = json_array();
	uint32_t i;

	put(f, obj, "kind", json_string("truncate"));
	if (!f->stable)
	{
		json_t *relids = json_array();

		for (i = 0; i < rec->u.truncate.nrelids; i++)
			append(f, relids, json_integer(rec->u.truncate.relids[i]));
		put(f, obj, "relids", relids);
	}
	for (i = 0; i < rec->u.truncate.nrelids; i++)
	{
		cached_relation *rel = described_relation(f,
												  rec->u.truncate.relids[i]);
		json_t			*table = json_object();

		if (rel != NULL)
			put_table(f, table, rel);
		else
			put(f, table, "relid", json_integer(rec->u.truncate.relids[i]));
		append(f, tables, table);
	}
	put(f, obj, "tables", tables);
	if (rec->u.truncate.flags & WB_TRUNCATE_CASCADE)
		append(f, flags, json_string("cascade"));
	if (rec->u.truncate.flags & WB_TRUNCATE_RESTART_IDENTITY)
		append(f, flags, json_string("restart_identity"));
	if (rec->u.truncate.flags & WB_TRUNCATE_PARTIAL)
		append(f, flags, json_string("partial"));
	put(f, obj, "flags", flags);
	return obj;
}

/* Content that is not UTF-8 is "content_hex", as walbus-tap prints it. */
static json_t *
format_message(dump_formatter *f, const wb_record *rec)
{
	json_t *obj = json_object();
	json_t *content = json_stringn(rec->u.message.content.ptr,
								   rec->u.message.content.len);

	put(f, obj, "kind", json_string("message"));
	put(f, obj, "transactional", json_boolean(rec->u.message.transactional));
	if (!f->stable)
		put(f, obj, "lsn", lsn_json(rec->u.message.lsn));
	put(f, obj, "prefix",
		text_json(rec->u.message.prefix.ptr, rec->u.message.prefix.len));
	if (content != NULL)
		put(f, obj, "content", content);
	else
		put(f, obj, "content_hex",
			hex_text(rec->u.message.content.ptr, rec->u.message.content.len));
	return obj;
}

/*
 * A table left the stream.  It is named like a change's table, and then
 * forgotten: the stream must describe it again before any further change
 * of it, which is what the plugin does.
 */
static json_t *
format_withdrawn(dump_formatter *f, const wb_record *rec)
{
	cached_relation *rel = described_relation(f, rec->u.withdrawn.relid);
	json_t			*obj = json_object();

	put(f, obj, "kind", json_string("withdrawn"));
	put_table(f, obj, rel);
	if (!f->stable || rel == NULL)
		put(f, obj, "relid", json_integer(rec->u.withdrawn.relid));
	if (rel == NULL)
		warn(f, "withdrawn for relid %u %s", rec->u.withdrawn.relid,
			 undescribed(f, rec->u.withdrawn.relid));
	put(f, obj, "dropped", json_boolean(rec->u.withdrawn.dropped));
	put(f, obj, "reason",
		text_json(rec->u.withdrawn.reason.ptr, rec->u.withdrawn.reason.len));
	if (rel != NULL)
		forget_relation(rel);
	return obj;
}

/* "schema" and "table" of a described relation; nothing for NULL. */
static void
put_table(dump_formatter *f, json_t *obj, const cached_relation *rel)
{
	if (rel == NULL)
		return;
	put(f, obj, "schema", json_incref(rel->schema));
	put(f, obj, "table", json_incref(rel->table));
}

/* ------------------------------------------------------------------- values */

static json_t *
value_json(const wb_value *v)
{
	json_t *obj;

	switch (v->type)
	{
		case WB_V_NIL:
			return json_null();
		case WB_V_BOOL:
			return json_boolean(v->v.b);
		case WB_V_INT:
			return json_integer(v->v.i);
		case WB_V_FLOAT32:
			return real_json(v->v.f32, true);
		case WB_V_FLOAT64:
			return real_json(v->v.f64, false);
		case WB_V_STR:
			return text_json(v->v.s.ptr, v->v.s.len);
		case WB_V_BIN:
			return hex_text(v->v.s.ptr, v->v.s.len);
		case WB_V_TIMESTAMP:
			return timestamp_text(v->v.ts);
		case WB_V_UNCHANGED_TOAST:
			obj = json_object();
			if (json_object_set_new(obj, "unchanged_toast", json_true()) != 0)
			{
				json_decref(obj);
				return NULL;
			}
			return obj;
	}
	abort(); /* the decoder yields no other type */
}

/*
 * A JSON string when the bytes are valid UTF-8, else their "\\x..." hex
 * text (docs/JSON.md); jansson refuses invalid UTF-8, which is how it is
 * detected.  NULL only when out of memory.
 */
static json_t *
text_json(const char *p, size_t len)
{
	json_t *s = json_stringn(p, len);

	return s != NULL ? s : hex_text(p, len);
}

/* "\\x<lowercase hex of the bytes>", as PostgreSQL prints a bytea */
static json_t *
hex_text(const void *p, size_t len)
{
	char   *hex = malloc(WIRE_TEXT_HEX_LEN(len));
	json_t *s;

	if (hex == NULL)
		return NULL;
	wire_text_hex(hex, p, len);
	s = json_string(hex);
	free(hex);
	return s;
}

/*
 * NaN and the infinities as the strings PostgreSQL spells them with.  A
 * float4 becomes the double nearest its shortest decimal form, so that 1.1
 * prints as 1.1 rather than as the widened 1.100000023841858.
 */
static json_t *
real_json(double d, bool single)
{
	if (isnan(d))
		return json_string("NaN");
	if (isinf(d))
		return json_string(d > 0 ? "Infinity" : "-Infinity");
	if (single)
	{
		char buf[32];
		int	 precision;

		for (precision = 1; precision < 9; precision++)
		{
			snprintf(buf, sizeof(buf), "%.*g", precision, d);
			if (strtof(buf, NULL) == (float) d)
				break;
		}
		snprintf(buf, sizeof(buf), "%.*g", precision, d);
		d = strtod(buf, NULL);
	}
	return json_real(d);
}

static json_t *
lsn_json(uint64_t lsn)
{
	char buf[WIRE_TEXT_LSN_LEN];

	wire_text_lsn(buf, lsn);
	return json_string(buf);
}

static json_t *
timestamp_text(wb_timestamp ts)
{
	char buf[WIRE_TEXT_TIMESTAMP_LEN];

	wire_text_timestamp(buf, ts);
	return json_string(buf);
}
