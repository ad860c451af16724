/*-------------------------------------------------------------------------
 *
 * tsource.c
 *	  The trigger source (see tsource.h).
 *
 *-------------------------------------------------------------------------
 */
#include "tsource.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "confirm.h"
#include "consumers.h"
#include "hashmap.h"
#include "log.h"
#include "records.h"
#include "schema_events.h"
#include "stream.h"
#include "torder.h"
#include "trigger_admin.h"
#include "tvalues.h"
#include "window.h"

/* How a step ended: done, the database failed (reconnect), or it cannot go on. */
#define WR_TS_OK	0
#define WR_TS_RETRY (-1)
#define WR_TS_FATAL 1

/*
 * The queue keeps transaction ids as bigint (trigger_source.sql says why);
 * snapshots and their functions speak xid8, which casts to and from bigint
 * only through text.
 */
#define WR_TS_XID8_INT(x) "(" x ")::text::bigint"
#define WR_TS_INT_XID8(x) "(" x ")::text::xid8"

/* A tick as wr_ts_batch takes it: id, snapshot, time (PostgreSQL's usec). */
#define WR_TS_TICK_COLUMNS \
	"id, snap::text, " \
	"(extract(epoch FROM taken) * 1000000)::bigint - 946684800000000"

/* ticks and deletes are the relay's own: no synchronous standby's wait */
#define WR_TS_SQL_SETTINGS \
	"SET search_path = pg_catalog; SET client_encoding = 'UTF8'; " \
	"SET client_min_messages = warning; SET synchronous_commit = local"

/* A table that fired, as this batch sees it. */
typedef struct wr_ts_rel
{
	uint32_t  relid; /* the table that fired */
	bool	  known; /* it still exists */
	uint32_t  root;	 /* published as */
	bool	  eligible;
	char	  reason[256];
	uint32_t  nfields; /* fields of relid's row text */
	uint32_t  npub;	   /* published columns of root */
	uint32_t *field;   /* ... each one's field in relid's text */
	uint32_t *typoid;  /* ... and base type */
	uint32_t  key;	   /* the key among the published columns */
	char	 *relrec;  /* root's RELATION record */
	size_t	  relrec_len;
} wr_ts_rel;

/* What subscribers were told of a root: its RELATION, or a withdrawal. */
typedef struct wr_ts_said
{
	char  *relrec; /* NULL: withdrawn */
	size_t len;
} wr_ts_said;

typedef struct wr_ts_buf
{
	char  *data;
	size_t len;
	size_t cap;
} wr_ts_buf;

typedef struct wr_ts
{
	wr_relay  *r;
	PGconn	  *conn;
	uint64_t   prev; /* the tick whose batch was published last */
	char	  *prev_snap;
	char	  *idle_snap; /* the snapshot after it: while the
						   * database's stays the same, nothing
						   * committed and no tick is taken */
	uint64_t   oldest;	  /* the oldest tick kept: resume point */
	wr_ts_rel *rels;	  /* this batch's tables */
	uint32_t   nrels;
	uint32_t   rels_cap;
	whm		   said; /* root (4 bytes) -> wr_ts_said */
	wr_ts_buf  buf;
	wr_tv_row  row;
	wr_tv_row  old;
} wr_ts;

/* ---------------------------------------------------------------- helpers */

static int
wr_ts_write(void *ctx, const char *p, size_t n)
{
	wr_ts_buf *b = ctx;

	if (b->len + n > b->cap)
	{
		size_t cap = b->cap ? b->cap * 2 : 4096;
		char  *d;

		while (cap < b->len + n)
			cap *= 2;
		if ((d = realloc(b->data, cap)) == NULL)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

/* Hand the record in ts->buf to the record handler, as if streamed. */
static bool
wr_ts_feed(wr_ts *ts)
{
	wr_relay *r = ts->r;
	wb_record rec;
	size_t	  consumed = 0;

	if (wb_decode(&r->dec, ts->buf.data, ts->buf.len, &rec, &consumed) !=
		WB_OK)
	{
		wr_error("trigger source: a record it made is malformed: %s",
				 wb_dec_errmsg(&r->dec));
		return false;
	}
	return wr_records_handle(r, &rec);
}

static void
wr_ts_enc(wr_ts *ts, wb_enc *e)
{
	ts->buf.len = 0;
	wb_enc_init(e, wr_ts_write, &ts->buf);
}

static PGresult *
wr_ts_query(wr_ts *ts, const char *sql, int nparams, const char *const *params,
			ExecStatusType want, const char *what)
{
	char	  msg[512];
	PGresult *res = wr_pg_exec(ts->conn, sql, nparams, params, want, msg,
							   sizeof(msg));

	if (res == NULL)
		wr_warning("trigger source: %s: %s", what, msg);
	return res;
}

static void
wr_ts_free_rels(wr_ts *ts)
{
	for (uint32_t i = 0; i < ts->nrels; i++)
	{
		free(ts->rels[i].field);
		free(ts->rels[i].typoid);
		free(ts->rels[i].relrec);
	}
	ts->nrels = 0;
}

static void
wr_ts_said_free(void *v)
{
	wr_ts_said *s = v;

	if (s != NULL)
		free(s->relrec);
	free(s);
}

/* ------------------------------------------------------------ the tables */

/*
 * What relid is as of now: its root, the root's verdict and RELATION
 * record, and where each published column of the root is in relid's row
 * text.  false only when the database could not be asked.
 */
static bool
wr_ts_describe(wr_ts *ts, wr_ts_rel *rel)
{
	char		relid[16];
	char		root[16];
	const char *p1[] = {relid};
	const char *p2[] = {root};
	PGresult   *who;
	PGresult   *fields = NULL;
	PGresult   *cols = NULL;
	wb_enc		e;
	uint32_t	schema_oid;
	bool		ok = false;

	snprintf(relid, sizeof(relid), "%u", rel->relid);
	/* clang-format off */
	who = wr_ts_query(ts,
					  "SELECT r.oid, n.nspname, r.relname, r.relnamespace, "
					  WR_TRIGGER_SCHEMA ".eligibility(r.oid) "
					  "FROM pg_class c "
					  "JOIN pg_class r ON r.oid = coalesce(pg_partition_root(c.oid), c.oid) "
					  "JOIN pg_namespace n ON n.oid = r.relnamespace "
					  "WHERE c.oid = $1::oid", 1, p1, PGRES_TUPLES_OK,
					  "cannot look up a table");
	/* clang-format on */
	if (who == NULL)
		return false;
	if (PQntuples(who) == 0)
	{
		/* dropped since it fired */
		rel->known = false;
		PQclear(who);
		return true;
	}
	rel->known = true;
	rel->root = (uint32_t) strtoul(PQgetvalue(who, 0, 0), NULL, 10);
	schema_oid = (uint32_t) strtoul(PQgetvalue(who, 0, 3), NULL, 10);
	snprintf(rel->reason, sizeof(rel->reason), "%s", PQgetvalue(who, 0, 4));
	rel->eligible = strcmp(rel->reason, "eligible") == 0;
	snprintf(root, sizeof(root), "%u", rel->root);
	if (!rel->eligible)
	{
		PQclear(who);
		return true;
	}

	fields = wr_ts_query(
		ts,
		"SELECT attname FROM pg_attribute WHERE attrelid = $1::oid "
		"AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
		1, p1, PGRES_TUPLES_OK, "cannot read a table's columns");
	/* clang-format off */
	if (fields != NULL)
		cols = wr_ts_query(ts,
						   "SELECT a.attname, a.atttypid, a.atttypmod, "
						   "format_type(a.atttypid, a.atttypmod), a.attnum, "
						   "(WITH RECURSIVE b AS (SELECT t.oid, t.typtype, t.typbasetype "
						   "  FROM pg_type t WHERE t.oid = a.atttypid "
						   "  UNION ALL SELECT t.oid, t.typtype, t.typbasetype "
						   "  FROM pg_type t JOIN b ON t.oid = b.typbasetype "
						   "  WHERE b.typtype = 'd') "
						   " SELECT oid FROM b WHERE typtype <> 'd'), "
						   "coalesce(a.attnum = (" WR_TRIGGER_SCHEMA ".primary_key(c)).indkey[0], "
						   "false) "
						   "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
						   "WHERE a.attrelid = $1::oid AND a.attnum > 0 "
						   "AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum",
						   1, p2, PGRES_TUPLES_OK, "cannot read a table's columns");
	/* clang-format on */
	if (cols == NULL)
		goto done;
	rel->nfields = (uint32_t) PQntuples(fields);
	rel->npub = (uint32_t) PQntuples(cols);
	rel->field = calloc(rel->npub ? rel->npub : 1, sizeof(uint32_t));
	rel->typoid = calloc(rel->npub ? rel->npub : 1, sizeof(uint32_t));
	if (rel->field == NULL || rel->typoid == NULL)
	{
		wr_error("trigger source: out of memory");
		goto done;
	}
	rel->key = UINT32_MAX;
	for (uint32_t j = 0; j < rel->npub; j++)
	{
		const char *name = PQgetvalue(cols, (int) j, 0);

		rel->field[j] = UINT32_MAX;
		for (uint32_t f = 0; f < rel->nfields; f++)
			if (strcmp(PQgetvalue(fields, (int) f, 0), name) == 0)
				rel->field[j] = f;
		rel->typoid[j] = (uint32_t) strtoul(PQgetvalue(cols, (int) j, 5), NULL,
											10);
		if (strcmp(PQgetvalue(cols, (int) j, 6), "t") == 0)
			rel->key = j;
		if (rel->field[j] == UINT32_MAX)
		{
			wr_error("trigger source: column %s of %s.%s is not in table %u",
					 name, PQgetvalue(who, 0, 1), PQgetvalue(who, 0, 2),
					 rel->relid);
			goto done;
		}
	}
	if (rel->key == UINT32_MAX)
	{
		/* eligible, so it has one: the catalog changed under us */
		rel->eligible = false;
		snprintf(rel->reason, sizeof(rel->reason), "no primary key");
		ok = true;
		goto done;
	}

	/* its RELATION record, as the plugin (version 2) would send it */
	wr_ts_enc(ts, &e);
	wb_enc_relation_start(&e, rel->root, PQgetvalue(who, 0, 1),
						  (size_t) PQgetlength(who, 0, 1),
						  PQgetvalue(who, 0, 2),
						  (size_t) PQgetlength(who, 0, 2), rel->key, rel->npub,
						  schema_oid);
	for (uint32_t j = 0; j < rel->npub; j++)
		wb_enc_column(&e, PQgetvalue(cols, (int) j, 0),
					  (size_t) PQgetlength(cols, (int) j, 0),
					  (uint32_t) strtoul(PQgetvalue(cols, (int) j, 1), NULL,
										 10),
					  (int32_t) strtol(PQgetvalue(cols, (int) j, 2), NULL, 10),
					  PQgetvalue(cols, (int) j, 3),
					  (size_t) PQgetlength(cols, (int) j, 3),
					  (int32_t) strtol(PQgetvalue(cols, (int) j, 4), NULL,
									   10));
	wb_enc_relation_finish(&e, schema_oid);
	if (wb_enc_failed(&e) || (rel->relrec = malloc(ts->buf.len)) == NULL)
	{
		wr_error("trigger source: out of memory");
		goto done;
	}
	memcpy(rel->relrec, ts->buf.data, ts->buf.len);
	rel->relrec_len = ts->buf.len;
	ok = true;
done:
	PQclear(who);
	PQclear(fields);
	PQclear(cols);
	return ok;
}

static wr_ts_rel *
wr_ts_rel_of(wr_ts *ts, uint32_t relid)
{
	wr_ts_rel *rel;

	for (uint32_t i = 0; i < ts->nrels; i++)
		if (ts->rels[i].relid == relid)
			return &ts->rels[i];
	if (ts->nrels == ts->rels_cap)
	{
		uint32_t   cap = ts->rels_cap ? ts->rels_cap * 2 : 16;
		wr_ts_rel *n = realloc(ts->rels, cap * sizeof(wr_ts_rel));

		if (n == NULL)
			return NULL;
		ts->rels = n;
		ts->rels_cap = cap;
	}
	rel = &ts->rels[ts->nrels];
	memset(rel, 0, sizeof(*rel));
	rel->relid = relid;
	if (!wr_ts_describe(ts, rel))
	{
		free(rel->field);
		free(rel->typoid);
		free(rel->relrec);
		return NULL;
	}
	ts->nrels++;
	return rel;
}

/*
 * Before a change of rel's root: its RELATION record if subscribers have
 * not seen this one, or its withdrawal if it is no longer published.
 * Returns false on failure; *publish says whether the change goes out.
 */
static bool
wr_ts_announce(wr_ts *ts, const wr_ts_rel *rel, bool *publish)
{
	wr_ts_said *said = whm_get(&ts->said, &rel->root, sizeof(rel->root));
	wb_enc		e;

	*publish = rel->eligible;
	if (!rel->eligible)
	{
		if (said == NULL || said->relrec == NULL)
			return true; /* never announced, or withdrawn already */
		wr_ts_enc(ts, &e);
		wb_enc_withdrawn(&e, rel->root, false, rel->reason,
						 strlen(rel->reason));
		free(said->relrec);
		said->relrec = NULL;
		return !wb_enc_failed(&e) && wr_ts_feed(ts);
	}
	if (said != NULL && said->relrec != NULL && said->len == rel->relrec_len &&
		memcmp(said->relrec, rel->relrec, said->len) == 0)
		return true;
	if (said == NULL)
	{
		if ((said = calloc(1, sizeof(*said))) == NULL ||
			whm_put(&ts->said, &rel->root, sizeof(rel->root), said) != 0)
		{
			free(said);
			wr_error("trigger source: out of memory");
			return false;
		}
	}
	free(said->relrec);
	if ((said->relrec = malloc(rel->relrec_len)) == NULL)
	{
		wr_error("trigger source: out of memory");
		return false;
	}
	memcpy(said->relrec, rel->relrec, rel->relrec_len);
	said->len = rel->relrec_len;
	ts->buf.len = 0;
	if (wr_ts_write(&ts->buf, rel->relrec, rel->relrec_len) != 0)
		return false;
	return wr_ts_feed(ts);
}

/* ------------------------------------------------------------ the events */

/* One event of the queue (row i of res) as its record: WR_TS_*. */
static int
wr_ts_event(wr_ts *ts, PGresult *res, int i, uint32_t *truncated,
			uint32_t *ntruncated, bool *truncated_whole)
{
	uint32_t   relid = (uint32_t) strtoul(PQgetvalue(res, i, 1), NULL, 10);
	char	   kind = PQgetvalue(res, i, 2)[0];
	wr_ts_rel *rel = wr_ts_rel_of(ts, relid);
	char	   err[256];
	bool	   publish;
	wb_enc	   e;

	if (rel == NULL)
		return WR_TS_RETRY;
	if (!rel->known)
	{
		wr_ts_said *said = whm_get(&ts->said, &relid, sizeof(relid));

		/* a table dropped since: say so, if its subscribers knew it */
		if (said != NULL && said->relrec != NULL)
		{
			wr_ts_enc(ts, &e);
			wb_enc_withdrawn(&e, relid, true, "dropped", 7);
			free(said->relrec);
			said->relrec = NULL;
			if (wb_enc_failed(&e) || !wr_ts_feed(ts))
				return WR_TS_FATAL;
			return WR_TS_OK;
		}
		return WR_TS_OK;
	}
	if (!wr_ts_announce(ts, rel, &publish))
		return WR_TS_FATAL;
	if (!publish)
		return WR_TS_OK;

	if (kind == 'T')
	{
		/* one TRUNCATE per root and transaction, sent at its commit */
		for (uint32_t k = 0; k < *ntruncated; k++)
			if (truncated[k] == rel->root)
			{
				truncated_whole[k] |= relid == rel->root;
				return WR_TS_OK;
			}
		truncated[*ntruncated] = rel->root;
		truncated_whole[*ntruncated] = relid == rel->root;
		(*ntruncated)++;
		return WR_TS_OK;
	}

	if ((kind == 'I' || kind == 'U') &&
		!wr_tv_split(&ts->row, PQgetvalue(res, i, 3),
					 (size_t) PQgetlength(res, i, 3), err, sizeof(err)))
		goto bad;
	if ((kind == 'U' || kind == 'D') &&
		!wr_tv_split(&ts->old, PQgetvalue(res, i, 4),
					 (size_t) PQgetlength(res, i, 4), err, sizeof(err)))
		goto bad;
	if (((kind == 'I' || kind == 'U') && ts->row.nfields != rel->nfields) ||
		((kind == 'U' || kind == 'D') && ts->old.nfields != rel->nfields))
	{
		snprintf(err, sizeof(err),
				 "the row has %u fields and the table %u "
				 "columns now: it was written before its columns changed",
				 kind == 'D' ? ts->old.nfields : ts->row.nfields,
				 rel->nfields);
		goto bad;
	}

	wr_ts_enc(ts, &e);
	if (kind == 'D')
	{
		wb_enc_delete_start(&e, rel->root);
		if (!wr_tv_encode(&e, rel->typoid[rel->key], &ts->old,
						  rel->field[rel->key], err, sizeof(err)))
			goto bad;
	}
	else
	{
		size_t		nlen = 0;
		size_t		olen = 0;
		const char *nkey = wr_tv_text(&ts->row, rel->field[rel->key], &nlen);
		const char *okey = kind == 'U' ?
			wr_tv_text(&ts->old, rel->field[rel->key], &olen) :
			NULL;
		bool		key_changed = kind == 'U' && okey != NULL &&
			(nkey == NULL || nlen != olen || memcmp(nkey, okey, nlen) != 0);

		if (kind == 'I')
			wb_enc_insert_start(&e, rel->root, rel->npub);
		else
			wb_enc_update_start(&e, rel->root, rel->npub, key_changed);
		for (uint32_t j = 0; j < rel->npub; j++)
			if (!wr_tv_encode(&e, rel->typoid[j], &ts->row, rel->field[j], err,
							  sizeof(err)))
				goto bad;
		if (key_changed &&
			!wr_tv_encode(&e, rel->typoid[rel->key], &ts->old,
						  rel->field[rel->key], err, sizeof(err)))
			goto bad;
	}
	if (wb_enc_failed(&e))
	{
		snprintf(err, sizeof(err), "out of memory");
		goto bad;
	}
	return wr_ts_feed(ts) ? WR_TS_OK : WR_TS_FATAL;
bad:
	wr_error("trigger source: cannot publish an event of table %u "
			 "(transaction %s): %s",
			 relid, PQgetvalue(res, i, 0), err);
	return WR_TS_FATAL;
}

/* The TRUNCATEs a transaction collected, before its COMMIT. */
static bool
wr_ts_truncates(wr_ts *ts, const uint32_t *roots, const bool *whole,
				uint32_t n)
{
	for (uint32_t k = 0; k < n; k++)
	{
		wb_enc e;

		wr_ts_enc(ts, &e);
		/* only some partitions of the root: subscribers resync it */
		wb_enc_truncate_start(&e, whole[k] ? 0 : WB_TRUNCATE_PARTIAL, 1);
		wb_enc_relid(&e, roots[k]);
		if (wb_enc_failed(&e) || !wr_ts_feed(ts))
			return false;
	}
	return true;
}

/*
 * The versions the changes of a batch touched (torder.h), to order its
 * transactions: txn_first[t] is the first row of transaction t in res.
 * WR_TS_*; on success *order holds the order.
 */
static int
wr_ts_order(wr_ts *ts, PGresult *res, const int *txn_first, uint32_t ntxn,
			uint32_t *order)
{
	int		   n = PQntuples(res);
	wr_to_ver *v = NULL;
	uint32_t   nv = 0;
	wr_ts_buf  keys = {0};
	char	   err[256];
	bool	   cycle = false;
	int		   rc = WR_TS_FATAL;

	if (ntxn < 2)
	{
		/* one transaction: nothing to order, no row to read for it */
		order[0] = 0;
		return WR_TS_OK;
	}
	if ((v = malloc((size_t) (2 * n + 1) * sizeof(wr_to_ver))) == NULL)
		goto done;
	for (uint32_t t = 0; t < ntxn; t++)
	{
		int last = t + 1 < ntxn ? txn_first[t + 1] : n;

		for (int i = txn_first[t]; i < last; i++)
		{
			char		kind = PQgetvalue(res, i, 2)[0];
			wr_ts_rel  *rel;
			size_t		nlen = 0;
			size_t		olen = 0;
			const char *nk = NULL;
			const char *ok = NULL;
			size_t		noff = 0;
			size_t		ooff = 0;

			if (kind == 'T')
				continue;
			rel = wr_ts_rel_of(ts,
							   (uint32_t) strtoul(PQgetvalue(res, i, 1), NULL,
												  10));
			if (rel == NULL)
			{
				rc = WR_TS_RETRY;
				goto done;
			}
			if (!rel->known || !rel->eligible)
				continue;
			if (kind != 'D' &&
				wr_tv_split(&ts->row, PQgetvalue(res, i, 3),
							(size_t) PQgetlength(res, i, 3), err,
							sizeof(err)) &&
				ts->row.nfields == rel->nfields)
				nk = wr_tv_text(&ts->row, rel->field[rel->key], &nlen);
			if (kind != 'I' &&
				wr_tv_split(&ts->old, PQgetvalue(res, i, 4),
							(size_t) PQgetlength(res, i, 4), err,
							sizeof(err)) &&
				ts->old.nfields == rel->nfields)
				ok = wr_tv_text(&ts->old, rel->field[rel->key], &olen);
			/* identities: the table, then the key's text */
			if (nk != NULL)
			{
				noff = keys.len;
				if (wr_ts_write(&keys, (const char *) &rel->root, 4) != 0 ||
					wr_ts_write(&keys, nk, nlen) != 0)
					goto done;
			}
			if (ok != NULL)
			{
				ooff = keys.len;
				if (wr_ts_write(&keys, (const char *) &rel->root, 4) != 0 ||
					wr_ts_write(&keys, ok, olen) != 0)
					goto done;
			}
			if (nk != NULL && ok != NULL && nlen == olen &&
				memcmp(nk, ok, nlen) == 0)
			{
				/* an update of the row in place */
				v[nv++] = (wr_to_ver) {t,
									   (const char *) (uintptr_t) noff,
									   4 + nlen,
									   PQgetvalue(res, i, 4),
									   (size_t) PQgetlength(res, i, 4),
									   PQgetvalue(res, i, 3),
									   (size_t) PQgetlength(res, i, 3),
									   false,
									   false};
				continue;
			}
			if (ok != NULL)
				v[nv++] = (wr_to_ver) {t,
									   (const char *) (uintptr_t) ooff,
									   4 + olen,
									   PQgetvalue(res, i, 4),
									   (size_t) PQgetlength(res, i, 4),
									   NULL,
									   0,
									   false,
									   true};
			if (nk != NULL)
				v[nv++] = (wr_to_ver) {t,
									   (const char *) (uintptr_t) noff,
									   4 + nlen,
									   NULL,
									   0,
									   PQgetvalue(res, i, 3),
									   (size_t) PQgetlength(res, i, 3),
									   true,
									   false};
		}
	}
	/* the identities' bytes no longer move: offsets to pointers */
	for (uint32_t k = 0; k < nv; k++)
		v[k].key = keys.data + (uintptr_t) v[k].key;
	if (!wr_torder(v, nv, ntxn, order, &cycle))
		goto done;
	if (cycle)
		wr_warning("trigger source: the rows of a tick's transactions "
				   "contradict each other; some are published in the "
				   "order of their ids");
	rc = WR_TS_OK;
done:
	if (rc == WR_TS_FATAL)
		wr_error("trigger source: out of memory ordering a tick's "
				 "transactions");
	free(v);
	free(keys.data);
	return rc;
}

/*
 * The batch of tick (id, snap, taken): every event of the transactions
 * visible in snap and not in ts->prev_snap, as one transaction of records
 * each, in the order torder.h finds.  WR_TS_RETRY when the database
 * failed (the caller reconnects), WR_TS_FATAL when a record could not be
 * made (logged).
 */
static int
wr_ts_batch(wr_ts *ts, uint64_t id, const char *snap, int64_t taken_usec)
{
	wr_relay	*r = ts->r;
	const char	*params[] = {ts->prev_snap, snap};
	PGresult	*res;
	uint64_t	 base = id << WR_TS_TICK_SHIFT;
	wb_timestamp commit_time = wb_timestamp_from_pg(taken_usec);
	uint32_t	 ntxn = 0;
	int			 n;
	int			 rc = WR_TS_OK;
	uint32_t	*troots = NULL;
	bool		*twhole = NULL;
	int			*txn_first = NULL;
	uint32_t	*order = NULL;

	/* clang-format off */
	res = wr_ts_query(ts,
					  "SELECT q.txid::text AS xid, q.relid, q.kind, q.new_row, "
					  "q.old_row FROM " WR_TRIGGER_SCHEMA ".queue q "
					  "WHERE q.txid >= " WR_TS_XID8_INT("pg_snapshot_xmin($1::pg_snapshot)") " "
					  "AND q.txid < " WR_TS_XID8_INT("pg_snapshot_xmax($2::pg_snapshot)") " "
					  "AND pg_visible_in_snapshot(" WR_TS_INT_XID8("q.txid") ", $2::pg_snapshot) "
					  "AND NOT pg_visible_in_snapshot(" WR_TS_INT_XID8("q.txid") ", $1::pg_snapshot) "
					  "ORDER BY q.txid, q.id", 2, params, PGRES_TUPLES_OK,
					  "cannot read the queue");
	/* clang-format on */
	if (res == NULL)
		return WR_TS_RETRY;
	n = PQntuples(res);
	if (n > 0 &&
		((troots = malloc(n * sizeof(uint32_t))) == NULL ||
		 (twhole = malloc(n * sizeof(bool))) == NULL ||
		 (txn_first = malloc(n * sizeof(int))) == NULL ||
		 (order = malloc(n * sizeof(uint32_t))) == NULL))
	{
		wr_error("trigger source: out of memory");
		rc = WR_TS_FATAL;
	}
	for (int i = 0; rc == WR_TS_OK && i < n; i++)
		if (i == 0 ||
			strcmp(PQgetvalue(res, i, 0), PQgetvalue(res, i - 1, 0)) != 0)
			txn_first[ntxn++] = i;
	if (rc == WR_TS_OK && ntxn > 0)
		rc = wr_ts_order(ts, res, txn_first, ntxn, order);
	if (rc == WR_TS_OK &&
		2 * (uint64_t) ntxn + 3 >= ((uint64_t) 1 << WR_TS_TICK_SHIFT))
	{
		wr_error("trigger source: more than %u transactions in one tick",
				 (1u << (WR_TS_TICK_SHIFT - 1)) - 2);
		rc = WR_TS_FATAL;
	}
	for (uint32_t k = 0; rc == WR_TS_OK && k < ntxn; k++)
	{
		uint32_t t = order[k];
		int		 first = txn_first[t];
		int		 last = t + 1 < ntxn ? txn_first[t + 1] : n;
		uint64_t lsn = base + 2 * (uint64_t) k + 2;
		uint32_t ntrunc = 0;
		wb_enc	 e;

		wr_ts_enc(ts, &e);
		wb_enc_begin(&e,
					 (uint32_t) strtoull(PQgetvalue(res, first, 0), NULL, 10),
					 lsn, commit_time);
		rc = !wb_enc_failed(&e) && wr_ts_feed(ts) ? WR_TS_OK : WR_TS_FATAL;
		for (int i = first; rc == WR_TS_OK && i < last; i++)
			rc = wr_ts_event(ts, res, i, troots, &ntrunc, twhole);
		if (rc == WR_TS_OK && !wr_ts_truncates(ts, troots, twhole, ntrunc))
			rc = WR_TS_FATAL;
		if (rc == WR_TS_OK)
		{
			wr_ts_enc(ts, &e);
			wb_enc_commit(&e, lsn, lsn + 1, commit_time);
			rc = !wb_enc_failed(&e) && wr_ts_feed(ts) ? WR_TS_OK : WR_TS_FATAL;
		}
	}
	free(troots);
	free(twhole);
	free(txn_first);
	free(order);
	PQclear(res);
	wr_ts_free_rels(ts);
	if (rc != WR_TS_OK)
		return rc;

	/* the whole batch is out: its end is where the position goes */
	r->received_lsn = r->server_lsn = (id + 1) << WR_TS_TICK_SHIFT;
	wr_confirm_keepalive(&r->confirm, r->received_lsn);
	free(ts->prev_snap);
	ts->prev_snap = strdup(snap);
	ts->prev = id;
	if (ntxn > 0)
		wr_debug("trigger source: tick %" PRIu64 ": %u transaction%s, %d "
				 "event%s",
				 id, ntxn, ntxn == 1 ? "" : "s", n, n == 1 ? "" : "s");
	return ts->prev_snap != NULL ? WR_TS_OK : WR_TS_FATAL;
}

/*
 * The next batch: the next tick already taken (after a restart or a
 * rewind, the same batches again; *more is set), or a new one.  WR_TS_*.
 */
static int
wr_ts_next(wr_ts *ts, bool *more)
{
	char		prev[24];
	const char *params[] = {prev};
	PGresult   *res;
	int			rc;

	snprintf(prev, sizeof(prev), "%" PRIu64, ts->prev);
	/* clang-format off */
	res = wr_ts_query(ts,
					  "SELECT " WR_TS_TICK_COLUMNS " FROM " WR_TRIGGER_SCHEMA ".tick "
					  "WHERE id > $1::bigint ORDER BY id LIMIT 1", 1, params,
					  PGRES_TUPLES_OK, "cannot read the ticks");
	/* clang-format on */
	*more = res != NULL && PQntuples(res) > 0;
	if (res != NULL && PQntuples(res) == 0)
	{
		PQclear(res);

		/*
		 * Nothing committed since the last tick (its own transaction
		 * included): no tick, which would only use up a transaction id.
		 */
		res = wr_ts_query(ts, "SELECT pg_current_snapshot()::text", 0, NULL,
						  PGRES_TUPLES_OK, "cannot read the snapshot");
		if (res == NULL)
			return WR_TS_RETRY;
		if (ts->idle_snap != NULL &&
			strcmp(PQgetvalue(res, 0, 0), ts->idle_snap) == 0)
		{
			PQclear(res);
			return WR_TS_OK;
		}
		free(ts->idle_snap);
		ts->idle_snap = NULL;
		PQclear(res);
		/* clang-format off */
		res = wr_ts_query(ts,
						  "INSERT INTO " WR_TRIGGER_SCHEMA ".tick (snap) "
						  "VALUES (pg_current_snapshot()) RETURNING " WR_TS_TICK_COLUMNS,
						  0, NULL, PGRES_TUPLES_OK, "cannot take a tick");
		/* clang-format on */
	}
	if (res == NULL)
		return WR_TS_RETRY;
	rc = wr_ts_batch(ts, strtoull(PQgetvalue(res, 0, 0), NULL, 10),
					 PQgetvalue(res, 0, 1),
					 strtoll(PQgetvalue(res, 0, 2), NULL, 10));
	PQclear(res);
	if (rc == WR_TS_OK && !*more)
	{
		/* the database as of now, the tick committed */
		res = wr_ts_query(ts, "SELECT pg_current_snapshot()::text", 0, NULL,
						  PGRES_TUPLES_OK, "cannot read the snapshot");
		if (res == NULL)
			return WR_TS_RETRY;
		free(ts->idle_snap);
		ts->idle_snap = strdup(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	return rc;
}

/*
 * Delete what every durable consumer has: the events of the transactions
 * visible in the snapshot of the newest tick whose batch is confirmed, and
 * the ticks before it.  false when the database failed.
 */
static bool
wr_ts_trim(wr_ts *ts)
{
	uint64_t	flushed = wr_confirm_flushed(&ts->r->confirm);
	uint64_t	done = flushed >> WR_TS_TICK_SHIFT;
	char		upto[24];
	const char *params[] = {upto};
	PGresult   *res;

	/* batch N ends at (N + 1) << shift: ticks below done are confirmed */
	if (done == 0 || done - 1 <= ts->oldest)
		return true;
	snprintf(upto, sizeof(upto), "%" PRIu64, done - 1);
	/* clang-format off */
	res = wr_ts_query(ts,
					  "WITH t AS (SELECT id, snap FROM " WR_TRIGGER_SCHEMA ".tick "
					  "  WHERE id <= $1::bigint ORDER BY id DESC LIMIT 1), "
					  "e AS (DELETE FROM " WR_TRIGGER_SCHEMA ".queue q USING t "
					  "  WHERE q.txid < " WR_TS_XID8_INT("pg_snapshot_xmax(t.snap)") " "
					  "  AND pg_visible_in_snapshot(" WR_TS_INT_XID8("q.txid") ", t.snap) RETURNING 1), "
					  "k AS (DELETE FROM " WR_TRIGGER_SCHEMA ".tick x USING t "
					  "  WHERE x.id < t.id RETURNING 1) "
					  "SELECT t.id, (SELECT count(*) FROM e), (SELECT count(*) FROM k) "
					  "FROM t", 1, params, PGRES_TUPLES_OK,
					  "cannot delete what consumers acknowledged");
	/* clang-format on */
	if (res == NULL)
		return false;
	if (PQntuples(res) == 1)
	{
		ts->oldest = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		wr_debug("trigger source: confirmed through tick %" PRIu64 ": %s "
				 "events and %s ticks deleted",
				 ts->oldest, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	}
	PQclear(res);
	return true;
}

/* ---------------------------------------------------------- connection */

/*
 * Connect and find where to start: the oldest tick kept.  Returns 0, 1 on
 * an error that needs the operator (logged), -1 to try again (logged).
 */
static int
wr_ts_connect(wr_ts *ts)
{
	PGresult *res;
	char	  msg[512];

	if (ts->conn != NULL)
		PQfinish(ts->conn);
	ts->conn = wr_pg_session(ts->r->cfg->dbname,
							 "walbus-relay trigger source");
	if (ts->conn == NULL || PQstatus(ts->conn) != CONNECTION_OK)
	{
		snprintf(msg, sizeof(msg), "%s",
				 ts->conn ? PQerrorMessage(ts->conn) : "out of memory");
		msg[strcspn(msg, "\n")] = '\0';
		wr_warning("trigger source: cannot connect to PostgreSQL: %s", msg);
		return -1;
	}
	PQclear(PQexec(ts->conn, WR_TS_SQL_SETTINGS));
	res = PQexec(ts->conn,
				 "SELECT id, snap::text, obj_description(c.relnamespace, "
				 "'pg_namespace') FROM " WR_TRIGGER_SCHEMA ".tick, pg_class c "
				 "WHERE c.oid = '" WR_TRIGGER_SCHEMA ".tick'::regclass "
				 "ORDER BY id LIMIT 1");
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
		PQntuples(res) == 0)
	{
		const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) :
								  NULL;

		/* 42P01: no such table; 3F000: no such schema */
		if (res != NULL &&
			(PQntuples(res) == 0 ||
			 (state != NULL &&
			  (strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0))))
			wr_error("trigger source: the trigger source is not installed in "
					 "this database (no " WR_TRIGGER_SCHEMA ".tick): run "
					 "walbus-relay trigger-install as the tables' owner "
					 "first (docs/TRIGGER.md)");
		else
		{
			snprintf(msg, sizeof(msg), "%s",
					 res ? PQresultErrorMessage(res) :
						   PQerrorMessage(ts->conn));
			msg[strcspn(msg, "\n")] = '\0';
			wr_error("trigger source: cannot read the ticks: %s", msg);
		}
		PQclear(res);
		return 1;
	}
	if (strcmp(PQgetvalue(res, 0, 2), WR_TRIGGER_VERSION) != 0)
	{
		/* another version's queue holds what this one would misread */
		wr_error("trigger source: schema " WR_TRIGGER_SCHEMA " holds \"%s\", "
				 "not \"" WR_TRIGGER_VERSION "\": publish what is queued with "
				 "the walbus that installed it, then run walbus-relay "
				 "trigger-remove and trigger-install (docs/TRIGGER.md)",
				 PQgetvalue(res, 0, 2));
		PQclear(res);
		return 1;
	}
	ts->oldest = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	free(ts->prev_snap);
	ts->prev_snap = strdup(PQgetvalue(res, 0, 1));
	ts->prev = ts->oldest;
	PQclear(res);
	return ts->prev_snap != NULL ? 0 : 1;
}

/* Start over from the oldest tick kept: after a reconnect or a rewind. */
static void
wr_ts_restart(wr_ts *ts)
{
	wr_records_reset(ts->r);
	free(ts->idle_snap);
	ts->idle_snap = NULL;
	/* subscribers are told every table's definition again */
	whm_free(&ts->said, wr_ts_said_free);
	whm_init(&ts->said);
}

/* ------------------------------------------------------------------ loop */

int
wr_tsource_run(wr_relay *r)
{
	const wr_config *cfg = r->cfg;
	wr_ts			 ts;
	int64_t			 now = wr_now_ms();
	int64_t			 next_tick = now;
	int64_t			 next_status = now + cfg->status_interval_ms;
	int64_t			 next_heartbeat = now + cfg->heartbeat_interval_ms;
	int				 attempt = 0;
	int				 rc;
	int				 exit_code = 1;
	uint64_t		 start;

	memset(&ts, 0, sizeof(ts));
	ts.r = r;
	whm_init(&ts.said);
	while ((rc = wr_ts_connect(&ts)) == WR_TS_RETRY)
		if (!wr_stream_idle(r, 1000))
		{
			exit_code = 0;
			goto done;
		}
	if (rc > 0)
		goto done;
	start = (ts.oldest + 1) << WR_TS_TICK_SHIFT;
	r->confirmed_lsn = r->received_lsn = r->server_lsn = start;
	wr_confirm_init(&r->confirm, start, cfg->ndurable > 0);
	/* the queue is trimmed only below what JetStream has too */
	if (r->js.enabled)
		wr_confirm_jetstream(&r->confirm);
	wr_consumers_start(&r->consumers, start);
	wr_info("trigger source: reading the queue from tick %" PRIu64
			", every %d ms",
			ts.oldest, cfg->tick_interval_ms);
	r->state = WR_STATE_STREAMING;

	for (;;)
	{
		int step = WR_TS_OK;

		/* control requests act here only (requests.h), before the stop */
		bool rewind = wr_apply_requests(r);

		if (wr_stop_requested)
		{
			wr_pub_flush(&r->pub);
			wr_ts_trim(&ts);
			exit_code = 0;
			break;
		}
		now = wr_now_ms();
		if (now >= next_status)
		{
			if (!wr_ts_trim(&ts))
				step = WR_TS_RETRY;
			next_status = now + cfg->status_interval_ms;
			wr_consumers_check_lag(&r->consumers, r->received_lsn, now);
		}
		if (step == WR_TS_OK && rewind)
		{
			/* everything from the oldest tick kept, published again */
			wr_pub_flush(&r->pub);
			wr_rewind(r);
			wr_ts_restart(&ts);
			step = wr_ts_connect(&ts);
			if (step == WR_TS_OK)
				wr_schema_undo(r, (ts.oldest + 1) << WR_TS_TICK_SHIFT);
			next_tick = now;
		}
		if (now >= next_heartbeat)
		{
			wr_heartbeat(r);
			next_heartbeat = now + cfg->heartbeat_interval_ms;
		}
		if (step == WR_TS_OK && !wr_window_pressure(r, now) &&
			!wr_js_full(&r->js) && now >= next_tick)
		{
			bool more = false;

			step = wr_ts_next(&ts, &more);
			wr_pub_flush(&r->pub);
			/* ticks already taken (a restart's): the next one at once */
			next_tick = more ? now : now + cfg->tick_interval_ms;
		}
		if (step == WR_TS_FATAL)
			break;
		if (step == WR_TS_RETRY)
		{
			/* the database failed: start over from the oldest tick kept */
			r->stats.reconnects++;
			for (;;)
			{
				int delay = attempt == 0 ? 0 : wr_backoff_ms(cfg, attempt - 1);

				attempt++;
				if (delay > 0)
					wr_warning("trigger source: connecting again in %.1f s "
							   "(attempt %d)",
							   delay / 1000.0, attempt);
				r->state = WR_STATE_WAITING;
				if (!wr_stream_idle(r, delay))
					goto stopped;
				r->state = WR_STATE_CONNECTING;
				wr_ts_restart(&ts);
				rc = wr_ts_connect(&ts);
				if (rc == WR_TS_OK)
					break;
				if (rc == WR_TS_FATAL)
					goto done;
			}
			r->state = WR_STATE_STREAMING;
			next_tick = wr_now_ms();
			continue;
		}
		attempt = 0;
		{
			int64_t wake = next_tick;

			if (next_status < wake)
				wake = next_status;
			if (next_heartbeat < wake)
				wake = next_heartbeat;
			now = wr_now_ms();
			wr_poll(r, -1,
					r->paused ? 10 : (int) (wake > now ? wake - now : 0));
		}
	}
	goto done;
stopped:
	exit_code = 0;
done:
	wr_ts_free_rels(&ts);
	free(ts.rels);
	whm_free(&ts.said, wr_ts_said_free);
	wr_tv_free(&ts.row);
	wr_tv_free(&ts.old);
	free(ts.buf.data);
	free(ts.prev_snap);
	free(ts.idle_snap);
	if (ts.conn != NULL)
		PQfinish(ts.conn);
	return exit_code;
}
