/*-------------------------------------------------------------------------
 *
 * backfill.c
 *	  Backfills by watermarks (see backfill.h).
 *
 *-------------------------------------------------------------------------
 */
#include "backfill.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "log.h"
#include "mpread.h"
#include "records.h"
#include "relay.h"
#include "schema_events.h"
#include "walbus_backfill.h"

/* Chunk sizes in heap blocks: the first, and the bounds of adaptation. */
#define WR_BF_FIRST_BLOCKS 8
#define WR_BF_MIN_BLOCKS   1
#define WR_BF_MAX_BLOCKS   (1 << 20)

/*
 * The files of the table (of each partition, for a partitioned table:
 * pg_partition_tree lists nothing for a plain table, and a partitioned
 * table has no file of its own),
 * which a rewrite (VACUUM FULL, CLUSTER, a type change) replaces, moving
 * rows between blocks: chunks are block ranges, so a backfill that sees
 * them change starts again from the first block.
 */
#define WR_BF_LEAVES_SQL \
	"(SELECT relid FROM pg_partition_tree($1::oid::regclass) WHERE isleaf " \
	"UNION SELECT $1::oid::regclass) AS leaves"
#define WR_BF_FILES_SQL \
	"SELECT coalesce(string_agg(pg_relation_filenode(relid)::text, ',' " \
	"ORDER BY relid), '') FROM " WR_BF_LEAVES_SQL

/* Statements of the backfill connection give up after this. */
#define WR_BF_STATEMENT_TIMEOUT_MS 30000

typedef enum wr_bf_state
{
	WR_BF_ACTIVE,  /* reading chunks */
	WR_BF_FAILING, /* a failure message is on its way */
	WR_BF_DONE	   /* all published; waits for confirmation */
} wr_bf_state;

typedef struct wr_bf_row
{
	uint32_t off; /* the row's values array in data */
	uint32_t len;
	uint32_t key_off; /* its key value, inside it */
	uint32_t key_len;
} wr_bf_row;

/*
 * A chunk: a range of blocks, read asynchronously, then waiting for its
 * watermarks in the stream.  Two of them make a pipeline: the next chunk
 * is read while the stream brings the previous one's watermarks.
 */
typedef enum wr_ch_state
{
	WR_CH_FREE,
	WR_CH_READING, /* low watermark written, rows on the way */
	WR_CH_QUEUED   /* high watermark written */
} wr_ch_state;

typedef struct wr_bf_chunk
{
	wr_ch_state state;
	bool		watching; /* its low watermark came through the
						   * stream (maybe before its rows) */
	bool		dropped;  /* its watermarks and rows are ignored */
	uint64_t	no;		  /* in the watermarks */
	long		first;	  /* blocks [first, end) */
	long		end;
	bool		final; /* the last chunk */
	int64_t		t0;	   /* when its read was sent */
	char	   *data;  /* the rows' values arrays */
	size_t		len;
	size_t		cap;
	wr_bf_row  *row;
	uint32_t	nrows;
	uint32_t	rows_cap;
	char	   *relrec; /* RELATION record, same snapshot */
	size_t		relrec_len;
	whm			touched; /* keys changed between the watermarks */
	bool		dirty;	 /* truncated or redefined meanwhile */

	uint64_t l_seq; /* commits the stream brought before its
					 * low watermark (wr_backfills.ncommits) */

	/* the read's snapshot (pg_current_snapshot() in the same statement) */
	bool	  has_snap;
	uint64_t  snap_xmin;
	uint64_t  snap_xmax;
	uint64_t *snap_xip; /* sorted */
	uint32_t  snap_nxip;
} wr_bf_chunk;

/* A chunk published whose high watermark is not confirmed yet. */
typedef struct wr_bf_pending
{
	uint64_t commit_lsn; /* of the high watermark's transaction */
	char	*after;		 /* progress once it is confirmed */
	uint64_t rows;
	uint64_t chunks;
	bool	 done;
} wr_bf_pending;

typedef struct wr_bf
{
	struct wr_bf *next;
	uint64_t	  id;
	uint32_t	  relid;
	char		 *schema; /* names as stored, for the topic */
	char		 *table;
	char		 *qname; /* quoted for SQL */
	char		 *files; /* WR_BF_FILES_SQL when it started */
	char		 *upper; /* its blocks at the start (the most of any
						  * partition), as text */
	wr_bf_state	  state;

	/* progress: published, and confirmed (what the state file says) */
	char	*after; /* first block not published; NULL: 0 */
	uint64_t rows;
	uint64_t chunks;
	char	*saved_after;
	uint64_t saved_rows;
	uint64_t saved_chunks;

	/* reading */
	long		next_block;	  /* first block of the next chunk to read */
	long		chunk_blocks; /* blocks per chunk, adapted */
	uint64_t	chunk_no;	  /* of the last chunk started */
	wr_bf_chunk ch[2];

	/*
	 * The last transaction to change each key (xid + 1, as a pointer)
	 * while the backfill runs, whether or not a chunk watches: a
	 * transaction whose commit comes before a low watermark in the stream
	 * can still be invisible to the chunk's read (PostgreSQL makes a commit
	 * visible a moment after writing its record), so its keys are dropped
	 * like those changed between the watermarks.  Entries older than every
	 * snapshot are pruned.
	 */
	whm		 recent;
	uint64_t track_seq; /* commits before recent began */
	bool	 tracking;
	int64_t	 retry_at; /* no chunk before (wr_now_ms) */
	int64_t	 backoff_ms;
	char	 fail_reason[256];

	wr_bf_pending *pend;
	uint32_t	   npend;
	uint32_t	   pend_cap;
} wr_bf;

static void wr_bf_save(wr_relay *r);

/* --------------------------------------------------------------- helpers */

static char *
wr_bf_strdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void
wr_bf_set(char **dst, const char *s)
{
	char *copy = wr_bf_strdup(s);

	free(*dst);
	*dst = copy;
}

static void
wr_bf_chunk_clear(wr_bf_chunk *c)
{
	c->state = WR_CH_FREE;
	c->watching = false;
	c->dropped = false;
	c->len = 0;
	c->nrows = 0;
	free(c->relrec);
	c->relrec = NULL;
	c->relrec_len = 0;
	whm_free(&c->touched, NULL);
	whm_init(&c->touched);
	c->dirty = false;
	c->has_snap = false;
	free(c->snap_xip);
	c->snap_xip = NULL;
	c->snap_nxip = 0;
}

static void
wr_bf_chunk_free(wr_bf_chunk *c)
{
	wr_bf_chunk_clear(c);
	free(c->data);
	free(c->row);
	c->data = NULL;
	c->row = NULL;
	c->cap = 0;
	c->rows_cap = 0;
}

static void
wr_bf_pend_clear(wr_bf *bf)
{
	for (uint32_t i = 0; i < bf->npend; i++)
		free(bf->pend[i].after);
	bf->npend = 0;
}

static void
wr_bf_free(wr_bf *bf)
{
	wr_bf_chunk_free(&bf->ch[0]);
	wr_bf_chunk_free(&bf->ch[1]);
	whm_free(&bf->recent, NULL);
	wr_bf_pend_clear(bf);
	free(bf->pend);
	free(bf->schema);
	free(bf->table);
	free(bf->qname);
	free(bf->files);
	free(bf->upper);
	free(bf->after);
	free(bf->saved_after);
	free(bf);
}

/* Element idx of the msgpack array arr, as bytes. */
static bool
wr_bf_element(wb_str arr, uint32_t idx, wb_str *out)
{
	mpr		 r;
	uint32_t n;

	mpr_init(&r, arr.ptr, arr.len);
	if (!mpr_array(&r, &n) || idx >= n)
		return false;
	for (uint32_t i = 0; i < idx; i++)
		if (!mpr_skip(&r))
			return false;
	out->ptr = (const char *) r.p;
	if (!mpr_skip(&r))
		return false;
	out->len = (uint32_t) ((const char *) r.p - out->ptr);
	return true;
}

static wr_bf *
wr_bf_find(const wr_relay *r, uint64_t id)
{
	for (wr_bf *bf = r->backfills.head; bf != NULL; bf = bf->next)
		if (bf->id == id)
			return bf;
	return NULL;
}

/* The chunk that watches relid's changes now, if any (one at a time). */
static wr_bf_chunk *
wr_bf_watching(const wr_relay *r, uint32_t relid)
{
	for (wr_bf *bf = r->backfills.head; bf != NULL; bf = bf->next)
		if (bf->relid == relid)
			for (int i = 0; i < 2; i++)
				if (bf->ch[i].state != WR_CH_FREE && bf->ch[i].watching &&
					!bf->ch[i].dropped)
					return (wr_bf_chunk *) &bf->ch[i];
	return NULL;
}

/* ------------------------------------------------------------ connection */

/*
 * Connect *slot if it is not connected: the connection of the reads and
 * watermarks (b->conn), or the one of the lookups a request makes
 * (b->lookup).  Two, because a request can come while a chunk's read is in
 * flight, and a synchronous statement on that connection would first eat
 * the read's result.
 */
static PGconn *
wr_bf_connect(wr_relay *r, void **slot, const char *appname)
{
	wr_backfills *b = &r->backfills;
	PGconn		 *conn = *slot;
	char		  set[256];

	if (conn != NULL && PQstatus(conn) == CONNECTION_OK)
		return conn;
	if (conn != NULL)
		PQfinish(conn);

	/*
	 * The user's conninfo as it is, so that values come out with the
	 * session settings the stream has: the text of dates, intervals and
	 * arrays depends on them.
	 */
	conn = wr_pg_session(r->cfg->dbname, appname);
	*slot = conn;
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		if (!b->failing)
			wr_warning("backfill: cannot connect to PostgreSQL: %s; "
					   "retrying",
					   conn ? PQerrorMessage(conn) : "out of memory");
		b->failing = true;
		b->retry_at = wr_now_ms() + 1000;
		if (conn != NULL)
			PQfinish(conn);
		*slot = NULL;
		return NULL;
	}
	/*
	 * No parallel plans: the chunk's UNION must keep its branches' order.
	 * Watermarks are the relay's own: they need no synchronous standby's
	 * confirmation, and waiting for one would stall the loop.
	 */
	snprintf(set, sizeof(set),
			 "SET statement_timeout = %d; "
			 "SET max_parallel_workers_per_gather = 0; "
			 "SET synchronous_commit = local",
			 WR_BF_STATEMENT_TIMEOUT_MS);
	PQclear(PQexec(conn, set));
	if (!wr_pg_session_settings(conn))
		wr_warning("backfill: cannot set the session's value formats: %s",
				   PQerrorMessage(conn));
	if (b->failing)
		wr_info("backfill: connected to PostgreSQL again");
	b->failing = false;
	return conn;
}

static PGconn *
wr_bf_conn(wr_relay *r)
{
	return wr_bf_connect(r, &r->backfills.conn, "walbus-relay backfill");
}

static PGconn *
wr_bf_lookup_conn(wr_relay *r)
{
	return wr_bf_connect(r, &r->backfills.lookup,
						 "walbus-relay backfill lookup");
}

/* pg_logical_emit_message(true, 'walbus.wm', text); false on failure. */
static bool
wr_bf_emit(PGconn *conn, const char *text, char *err, size_t errlen)
{
	const char *params[] = {text};
	PGresult   *res =
		wr_pg_exec(conn,
				   "SELECT pg_logical_emit_message(true, '" WR_BF_WM_PREFIX
				   "', $1::text)",
				   1, params, PGRES_TUPLES_OK, err, errlen);

	PQclear(res);
	return res != NULL;
}

/* ------------------------------------------------------------ state file */

static json_t *
wr_bf_json_str(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/*
 * Write every unfinished backfill with its confirmed progress: to a
 * temporary file, flushed, then renamed over the old one, so that a crash
 * leaves the old state or the new one, never half of either.
 */
static void
wr_bf_save(wr_relay *r)
{
	wr_backfills *b = &r->backfills;
	json_t		 *root;
	json_t		 *list;
	char		  tmp[4200];
	FILE		 *f;
	int			  rc;

	if (b->state_path[0] == '\0')
		return;
	root = json_object();
	list = json_array();
	for (wr_bf *bf = b->head; bf != NULL; bf = bf->next)
	{
		json_t *o = json_object();

		json_object_set_new(o, "id", json_integer((json_int_t) bf->id));
		json_object_set_new(o, "relid", json_integer(bf->relid));
		json_object_set_new(o, "schema", json_string(bf->schema));
		json_object_set_new(o, "table", json_string(bf->table));
		json_object_set_new(o, "qname", json_string(bf->qname));
		json_object_set_new(o, "files", json_string(bf->files));
		json_object_set_new(o, "blocks", wr_bf_json_str(bf->upper));
		json_object_set_new(o, "after", wr_bf_json_str(bf->saved_after));
		json_object_set_new(o, "rows",
							json_integer((json_int_t) bf->saved_rows));
		json_object_set_new(o, "chunks",
							json_integer((json_int_t) bf->saved_chunks));
		json_array_append_new(list, o);
	}
	json_object_set_new(root, "last_id",
						json_integer((json_int_t) b->last_id));
	json_object_set_new(root, "backfills", list);
	snprintf(tmp, sizeof(tmp), "%s.tmp", b->state_path);
	f = fopen(tmp, "w");
	rc = f != NULL ? json_dumpf(root, f, JSON_INDENT(1)) : -1;
	json_decref(root);
	if (f != NULL && (fflush(f) != 0 || fsync(fileno(f)) != 0))
		rc = -1;
	if (f != NULL && fclose(f) != 0)
		rc = -1;
	if (rc != 0 || rename(tmp, b->state_path) != 0)
		wr_warning("cannot write backfill progress to %s: %s; a restart "
				   "will read again what this one did",
				   b->state_path, strerror(errno));
}

static const char *
wr_bf_json_get(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

bool
wr_backfills_init(wr_relay *r)
{
	wr_backfills *b = &r->backfills;
	json_error_t  jerr;
	json_t		 *root;
	json_t		 *list;
	wr_bf		**tail = &b->head;
	size_t		  i;
	json_t		 *o;

	memset(b, 0, sizeof(*b));
	if (r->cfg->state_dir == NULL)
		return true;
	snprintf(b->state_path, sizeof(b->state_path), "%s/%s.backfills.json",
			 r->cfg->state_dir, r->cfg->slot);
	if (access(b->state_path, F_OK) != 0)
	{
		/* no progress yet: check now that it can be written */
		wr_bf_save(r);
		return access(b->state_path, W_OK) == 0 ||
			(wr_error("cannot write to --state-dir \"%s\": create it, "
					  "writable by this user",
					  r->cfg->state_dir),
			 false);
	}
	root = json_load_file(b->state_path, 0, &jerr);
	list = json_object_get(root, "backfills");
	if (root == NULL || !json_is_array(list))
	{
		wr_error("cannot read backfill progress %s: %s (line %d): fix or "
				 "remove the file",
				 b->state_path, root ? "no \"backfills\" array" : jerr.text,
				 jerr.line);
		json_decref(root);
		return false;
	}
	b->last_id =
		(uint64_t) json_integer_value(json_object_get(root, "last_id"));
	json_array_foreach(list, i, o)
	{
		wr_bf *bf = calloc(1, sizeof(wr_bf));

		if (bf == NULL)
			break;
		bf->id = (uint64_t) json_integer_value(json_object_get(o, "id"));
		bf->relid = (uint32_t) json_integer_value(json_object_get(o, "relid"));
		bf->schema = wr_bf_strdup(wr_bf_json_get(o, "schema"));
		bf->table = wr_bf_strdup(wr_bf_json_get(o, "table"));
		bf->qname = wr_bf_strdup(wr_bf_json_get(o, "qname"));
		bf->files = wr_bf_strdup(wr_bf_json_get(o, "files"));
		bf->upper = wr_bf_strdup(wr_bf_json_get(o, "blocks"));
		bf->saved_after = wr_bf_strdup(wr_bf_json_get(o, "after"));
		bf->after = wr_bf_strdup(bf->saved_after);
		bf->saved_rows = bf->rows =
			(uint64_t) json_integer_value(json_object_get(o, "rows"));
		bf->saved_chunks = bf->chunks =
			(uint64_t) json_integer_value(json_object_get(o, "chunks"));
		bf->chunk_blocks = WR_BF_FIRST_BLOCKS;
		bf->next_block = bf->after ? strtol(bf->after, NULL, 10) : 0;
		whm_init(&bf->ch[0].touched);
		whm_init(&bf->ch[1].touched);
		whm_init(&bf->recent);
		if (bf->schema == NULL || bf->table == NULL || bf->qname == NULL ||
			bf->files == NULL || bf->upper == NULL || bf->id == 0)
		{
			wr_warning("backfill progress %s: entry %zu is incomplete; "
					   "skipped",
					   b->state_path, i);
			wr_bf_free(bf);
			continue;
		}
		*tail = bf;
		tail = &bf->next;
		wr_info("backfill %" PRIu64 " of %s.%s resumes at block %s of %s "
				"(%" PRIu64 " rows in %" PRIu64 " chunks so far)",
				bf->id, bf->schema, bf->table,
				bf->saved_after ? bf->saved_after : "0", bf->upper,
				bf->saved_rows, bf->saved_chunks);
	}
	json_decref(root);
	return true;
}

void
wr_backfills_free(wr_backfills *b)
{
	while (b->head != NULL)
	{
		wr_bf *next = b->head->next;

		wr_bf_free(b->head);
		b->head = next;
	}
	if (b->conn != NULL)
		PQfinish(b->conn);
	b->conn = NULL;
	if (b->lookup != NULL)
		PQfinish(b->lookup);
	b->lookup = NULL;
	free(b->commit_xid);
	b->commit_xid = NULL;
}

/* -------------------------------------------------------------- requests */

/*
 * The plugin's include/exclude patterns (docs/PROTOCOL.md §2): a pattern
 * without a dot applies to the table name; '*' any run, '?' one character.
 */
static bool
wr_bf_pattern_match(const char *patterns, const char *schema,
					const char *table)
{
	char  qualified[300];
	char *list;
	char *save = NULL;
	bool  match = false;

	if (patterns == NULL || (list = strdup(patterns)) == NULL)
		return false;
	snprintf(qualified, sizeof(qualified), "%s.%s", schema, table);
	for (char *p = strtok_r(list, ",", &save); p != NULL && !match;
		 p = strtok_r(NULL, ",", &save))
	{
		while (*p == ' ')
			p++;
		p[strcspn(p, " ")] = '\0';
		if (fnmatch(p, strchr(p, '.') ? qualified : table, FNM_NOESCAPE) == 0)
			match = true;
	}
	free(list);
	return match;
}

bool
wr_backfill_request(wr_relay *r, const char *schema, size_t schema_len,
					const char *table, size_t table_len, wbc_backfill *out,
					char *topic_buf, size_t topic_cap, const char **code,
					char *msg, size_t msglen)
{
	wr_backfills *b = &r->backfills;
	char		  s[128];
	char		  t[128];
	const char	 *params[2] = {s, t};
	PGconn		 *conn;
	PGresult	 *res;
	PGresult	 *max;
	char		  err[512];
	char		  maxsql[1024];
	wr_bf		 *bf;
	wr_bf		**tail;

	*code = WBC_ERR_BAD_REQUEST;
	if (r->cfg->source == WR_SOURCE_TRIGGER)
	{
		snprintf(msg, msglen,
				 "backfills need the plugin source: their "
				 "watermarks come back through a replication slot");
		return false;
	}
	if (schema_len == 0 || schema_len >= sizeof(s) || table_len == 0 ||
		table_len >= sizeof(t))
	{
		snprintf(msg, msglen,
				 "backfill needs \"schema\" and \"table\" "
				 "(names as stored, at most 63 bytes each)");
		return false;
	}
	memcpy(s, schema, schema_len);
	s[schema_len] = '\0';
	memcpy(t, table, table_len);
	t[table_len] = '\0';
	if ((conn = wr_bf_lookup_conn(r)) == NULL)
	{
		*code = WBC_ERR_UNAVAILABLE;
		snprintf(msg, msglen, "cannot connect to PostgreSQL for the backfill");
		return false;
	}
	res = wr_pg_exec(
		conn,
		"SELECT c.oid, quote_ident(n.nspname) || '.' || "
		"quote_ident(c.relname), NULL, NULL, "
		"walbus_eligibility(c.oid), c.relispartition "
		"FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
		"WHERE n.nspname = $1 AND c.relname = $2 "
		"AND c.relkind IN ('r', 'p')",
		2, params, PGRES_TUPLES_OK, err, sizeof(err));
	if (res == NULL)
	{
		*code = WBC_ERR_UNAVAILABLE;
		if (strstr(err, "walbus_eligibility") != NULL)
			snprintf(msg, msglen,
					 "backfills need the walbus extension in "
					 "this database: CREATE EXTENSION walbus (%s)",
					 err);
		else
			snprintf(msg, msglen, "cannot look up %s.%s: %s", s, t, err);
		return false;
	}
	if (PQntuples(res) == 0)
	{
		*code = WBC_ERR_NOT_FOUND;
		snprintf(msg, msglen, "no table %s.%s", s, t);
		PQclear(res);
		return false;
	}
	if (strcmp(PQgetvalue(res, 0, 5), "t") == 0)
	{
		snprintf(msg, msglen,
				 "%s.%s is a partition: its rows are published "
				 "under its partitioned root; backfill the root",
				 s, t);
		PQclear(res);
		return false;
	}
	if (strcmp(PQgetvalue(res, 0, 4), "eligible") != 0)
	{
		snprintf(msg, msglen, "%s.%s is not published: %s", s, t,
				 PQgetvalue(res, 0, 4));
		PQclear(res);
		return false;
	}
	if ((r->cfg->include_tables != NULL &&
		 !wr_bf_pattern_match(r->cfg->include_tables, s, t)) ||
		wr_bf_pattern_match(r->cfg->exclude_tables, s, t))
	{
		snprintf(msg, msglen,
				 "%s.%s is not published: this relay's "
				 "include_tables/exclude_tables leave it out",
				 s, t);
		PQclear(res);
		return false;
	}

	/* a backfill of the same table already queued or running does it */
	for (bf = b->head; bf != NULL; bf = bf->next)
		if (bf->relid == (uint32_t) strtoul(PQgetvalue(res, 0, 0), NULL, 10) &&
			bf->state != WR_BF_DONE)
			break;
	if (bf == NULL)
	{
		const char *relid_param[] = {PQgetvalue(res, 0, 0)};

		/* its size now: rows in blocks added later come as inserts */
		snprintf(maxsql, sizeof(maxsql),
				 "SELECT (SELECT coalesce(max(pg_relation_size(relid)), 0) / "
				 "current_setting('block_size')::bigint FROM " WR_BF_LEAVES_SQL
				 "), (%s)",
				 WR_BF_FILES_SQL);
		if ((max = wr_pg_exec(conn, maxsql, 1, relid_param, PGRES_TUPLES_OK,
							  err, sizeof(err))) == NULL)
		{
			*code = WBC_ERR_UNAVAILABLE;
			snprintf(msg, msglen, "cannot read %s.%s: %s", s, t, err);
			PQclear(res);
			return false;
		}
		bf = calloc(1, sizeof(wr_bf));
		if (bf == NULL)
		{
			PQclear(max);
			PQclear(res);
			*code = WBC_ERR_UNAVAILABLE;
			snprintf(msg, msglen, "out of memory");
			return false;
		}
		bf->id = ++b->last_id;
		bf->relid = (uint32_t) strtoul(PQgetvalue(res, 0, 0), NULL, 10);
		bf->schema = strdup(s);
		bf->table = strdup(t);
		bf->qname = strdup(PQgetvalue(res, 0, 1));
		bf->upper = strdup(PQgetvalue(max, 0, 0));
		bf->files = strdup(PQgetvalue(max, 0, 1));
		bf->chunk_blocks = WR_BF_FIRST_BLOCKS;
		whm_init(&bf->ch[0].touched);
		whm_init(&bf->ch[1].touched);
		whm_init(&bf->recent);
		PQclear(max);
		for (tail = &b->head; *tail != NULL; tail = &(*tail)->next)
			;
		*tail = bf;
		b->started++;
		wr_bf_save(r);
		wr_info("backfill %" PRIu64 " of %s.%s queued (%s blocks)", bf->id, s,
				t, bf->upper);
	}
	PQclear(res);
	out->backfill = bf->id;
	out->relid = bf->relid;
	out->queued = bf != b->head;
	out->topic.len = (uint32_t) wbe_topic_table(topic_buf, topic_cap,
												bf->schema, strlen(bf->schema),
												bf->table, strlen(bf->table));
	out->topic.ptr = topic_buf;
	return true;
}

bool
wr_backfill_all(wr_relay *r)
{
	PGconn	 *conn = wr_bf_lookup_conn(r);
	PGresult *res;
	char	  err[512];
	int		  n = 0;

	if (conn == NULL)
		return false;
	res =
		wr_pg_exec(conn,
				   "SELECT n.nspname, c.relname FROM pg_class c "
				   "JOIN pg_namespace n ON n.oid = c.relnamespace "
				   "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
				   "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
				   "AND n.nspname NOT LIKE 'pg\\_%' "
				   "AND walbus_eligibility(c.oid) = 'eligible' "
				   "ORDER BY 1, 2",
				   0, NULL, PGRES_TUPLES_OK, err, sizeof(err));
	if (res == NULL)
	{
		wr_error("initial load: cannot list the eligible tables: %s%s", err,
				 strstr(err, "walbus_eligibility") ?
					 " (the initial load needs the walbus extension in this "
					 "database: CREATE EXTENSION walbus)" :
					 "");
		return false;
	}
	for (int i = 0; i < PQntuples(res); i++)
	{
		const char	*s = PQgetvalue(res, i, 0);
		const char	*t = PQgetvalue(res, i, 1);
		wbc_backfill out;
		char		 topic[WBE_TABLE_TOPIC_MAX + 1];
		const char	*code;
		char		 msg[512];

		if ((r->cfg->include_tables != NULL &&
			 !wr_bf_pattern_match(r->cfg->include_tables, s, t)) ||
			wr_bf_pattern_match(r->cfg->exclude_tables, s, t))
			continue;
		if (!wr_backfill_request(r, s, strlen(s), t, strlen(t), &out, topic,
								 sizeof(topic), &code, msg, sizeof(msg)))
			wr_warning("initial load: %s", msg);
		else
			n++;
	}
	PQclear(res);
	wr_info("initial load: %d table%s to read", n, n == 1 ? "" : "s");
	return true;
}

/* ------------------------------------------------------------ the chunks */

/* The running backfill: the first one not done (one at a time). */
static wr_bf *
wr_bf_running(const wr_relay *r)
{
	for (wr_bf *bf = r->backfills.head; bf != NULL; bf = bf->next)
		if (bf->state != WR_BF_DONE)
			return bf;
	return NULL;
}

static wr_bf_chunk *
wr_bf_reading(wr_bf *bf)
{
	for (int i = 0; i < 2; i++)
		if (bf->ch[i].state == WR_CH_READING)
			return &bf->ch[i];
	return NULL;
}

/*
 * Can bf start a chunk?  One is read at a time, and a chunk is started
 * only once the one before has its high watermark written, so that the
 * stream brings their watermark pairs one after the other.  An empty
 * table still gets one (empty) chunk, for its events.
 */
static wr_bf_chunk *
wr_bf_startable(wr_bf *bf)
{
	wr_bf_chunk *free_ch = NULL;
	long		 upper;

	if (bf->state != WR_BF_ACTIVE || wr_bf_reading(bf) != NULL ||
		wr_now_ms() < bf->retry_at)
		return NULL;
	upper = strtol(bf->upper, NULL, 10);
	for (int i = 0; i < 2; i++)
	{
		if (bf->ch[i].state == WR_CH_FREE)
			free_ch = &bf->ch[i];
		else if (bf->ch[i].final && !bf->ch[i].dropped)
			return NULL; /* the last one is on its way */
	}
	if (free_ch == NULL)
		return NULL;
	/*
	 * Past the last block.  An empty table (no block) still gets its one
	 * chunk: a final chunk in flight returned above, a published one made
	 * the backfill done.
	 */
	if (bf->next_block >= upper && upper > 0)
		return NULL;
	return free_ch;
}

bool
wr_backfill_due(const wr_relay *r)
{
	wr_bf *bf = wr_bf_running(r);

	if (r->backfills.failing && wr_now_ms() < r->backfills.retry_at)
		return false;
	return bf != NULL && wr_bf_startable(bf) != NULL;
}

int64_t
wr_backfill_wake(const wr_relay *r)
{
	const wr_bf *bf = wr_bf_running(r);
	int64_t		 now = wr_now_ms();
	int64_t		 wake = INT64_MAX;

	/* only a wait still to come: a past one must not make the loop spin */
	if (bf == NULL || bf->state != WR_BF_ACTIVE)
		return INT64_MAX;
	if (r->backfills.failing && r->backfills.retry_at > now)
		wake = r->backfills.retry_at;
	if (bf->retry_at > now && bf->retry_at < wake)
		wake = bf->retry_at;
	return wake;
}

void
wr_backfill_commit(wr_relay *r, uint32_t xid)
{
	wr_backfills *b = &r->backfills;

	if (b->commit_xid == NULL &&
		(b->commit_xid = calloc(WR_BF_COMMITS, sizeof(uint32_t))) == NULL)
		return; /* then every chunk checks as unsure */
	b->commit_xid[b->ncommits % WR_BF_COMMITS] = xid;
	b->ncommits++;
}

int
wr_backfill_socket(const wr_relay *r)
{
	wr_bf *bf = wr_bf_running(r);

	if (bf == NULL || wr_bf_reading(bf) == NULL || r->backfills.conn == NULL)
		return -1;
	return PQsocket(r->backfills.conn);
}

static bool
wr_bf_add_row(wr_bf_chunk *c, const char *bytes, size_t len,
			  uint32_t key_index)
{
	wb_str	   arr = {bytes, (uint32_t) len};
	wb_str	   key;
	wr_bf_row *row;

	if (!wr_bf_element(arr, key_index, &key))
		return false;
	if (c->len + len > c->cap)
	{
		size_t cap = c->cap ? c->cap : 64 * 1024;
		char  *n;

		while (cap < c->len + len)
			cap *= 2;
		if ((n = realloc(c->data, cap)) == NULL)
			return false;
		c->data = n;
		c->cap = cap;
	}
	if (c->nrows == c->rows_cap)
	{
		uint32_t   cap = c->rows_cap ? c->rows_cap * 2 : 1024;
		wr_bf_row *n = realloc(c->row, cap * sizeof(wr_bf_row));

		if (n == NULL)
			return false;
		c->row = n;
		c->rows_cap = cap;
	}
	row = &c->row[c->nrows++];
	row->off = (uint32_t) c->len;
	row->len = (uint32_t) len;
	row->key_off = (uint32_t) (c->len + (size_t) (key.ptr - bytes));
	row->key_len = key.len;
	memcpy(c->data + c->len, bytes, len);
	c->len += len;
	return true;
}

/* The key's index among the published columns, from a RELATION record. */
static bool
wr_bf_key_index(const char *relrec, size_t len, uint32_t relid,
				uint32_t *key_index)
{
	wb_dec	  d;
	wb_record rec;
	bool	  ok;

	wb_dec_init(&d);
	ok = wb_decode(&d, relrec, len, &rec, NULL) == WB_OK &&
		rec.kind == WB_RELATION && rec.u.relation.relid == relid;
	if (ok)
		*key_index = rec.u.relation.key_index;
	wb_dec_free(&d);
	return ok;
}

/*
 * Forget the chunks from c on (c and any started after it): their
 * watermarks, when they come, are ignored, and reading starts again at
 * c's first block.  A chunk still being read is dropped when its rows
 * arrive.
 */
static void
wr_bf_drop_from(wr_bf *bf, const wr_bf_chunk *c)
{
	long	 first = c->first;
	uint64_t no = c->no;

	for (int i = 0; i < 2; i++)
	{
		wr_bf_chunk *o = &bf->ch[i];

		if (o->state == WR_CH_FREE || o->no < no)
			continue;
		if (o->state == WR_CH_READING)
			o->dropped = true;
		else
			wr_bf_chunk_clear(o);
	}
	bf->next_block = first;
}

/* The connection failed: every chunk in flight is read again. */
static void
wr_bf_abandon(wr_relay *r, wr_bf *bf)
{
	for (int i = 0; i < 2; i++)
		wr_bf_chunk_clear(&bf->ch[i]);
	bf->next_block = bf->after ? strtol(bf->after, NULL, 10) : 0;
	if (r->backfills.conn != NULL)
		PQfinish(r->backfills.conn);
	r->backfills.conn = NULL;
	r->backfills.failing = true;
	r->backfills.retry_at = wr_now_ms() + 1000;
}

/* Give up on bf: its failure message goes through the stream. */
static void
wr_bf_fail(wr_relay *r, wr_bf *bf, const char *why)
{
	PGconn *conn = r->backfills.conn;
	char	text[400];
	char	err[256];

	snprintf(bf->fail_reason, sizeof(bf->fail_reason), "%s", why);
	snprintf(text, sizeof(text), "F %" PRIu64 " %" PRIu64 " %" PRIu64, bf->id,
			 ++bf->chunk_no, r->pub.run);
	wr_warning("backfill %" PRIu64 " of %s.%s failed: %s", bf->id, bf->schema,
			   bf->table, why);
	for (int i = 0; i < 2; i++)
		if (bf->ch[i].state == WR_CH_READING)
			bf->ch[i].dropped = true;
		else
			wr_bf_chunk_clear(&bf->ch[i]);
	bf->state = WR_BF_FAILING;
	if (conn == NULL || !wr_bf_emit(conn, text, err, sizeof(err)))
	{
		/* not even that: as if the relay had stopped, it is read again */
		wr_warning("backfill %" PRIu64 ": cannot write its failure: %s",
				   bf->id, conn ? err : "no connection");
		bf->state = WR_BF_ACTIVE;
		wr_bf_abandon(r, bf);
	}
}

void
wr_backfill_step(wr_relay *r)
{
	wr_bf		*bf = wr_bf_running(r);
	wr_bf_chunk *c;
	PGconn		*conn;
	char		 text[128];
	char		 err[512];
	char		 sql[2048];
	char		 relid[16];
	char		 from_tid[32];
	char		 to_tid[32];
	const char	*params[3] = {relid, from_tid, to_tid};

	if (bf == NULL || (c = wr_bf_startable(bf)) == NULL ||
		(conn = wr_bf_conn(r)) == NULL)
		return;
	if (!bf->tracking)
	{
		/* changes of the table came to recent from about now on */
		bf->tracking = true;
		bf->track_seq = r->backfills.ncommits;
	}
	wr_bf_chunk_clear(c);
	c->no = ++bf->chunk_no;
	c->first = bf->next_block;
	c->end = c->first + bf->chunk_blocks;
	c->final = c->end >= strtol(bf->upper, NULL, 10);
	snprintf(text, sizeof(text), "L %" PRIu64 " %" PRIu64 " %" PRIu64, bf->id,
			 c->no, r->pub.run);
	if (!wr_bf_emit(conn, text, err, sizeof(err)))
	{
		wr_warning("backfill %" PRIu64 ": %s; retrying", bf->id, err);
		wr_bf_abandon(r, bf);
		return;
	}

	/*
	 * One statement, so one snapshot: the table's files (to notice a
	 * rewrite), its definition and the snapshot itself, then its rows; a
	 * TID range scan reads the blocks as they lie.  Results in binary: the bytea's bytes as they
	 * are.  No parallel plan, which could reorder the UNION's branches.
	 */
	snprintf(relid, sizeof(relid), "%u", bf->relid);
	snprintf(from_tid, sizeof(from_tid), "(%ld,0)", c->first);
	snprintf(to_tid, sizeof(to_tid), "(%ld,0)", c->end);
	snprintf(sql, sizeof(sql),
			 "SELECT (%s)::bytea, walbus_relation($1::oid::regclass), "
			 "pg_current_snapshot()::text "
			 "UNION ALL "
			 "SELECT NULL, walbus_row($1::oid::regclass, t.*), NULL FROM %s t "
			 "WHERE t.ctid >= $2::tid AND t.ctid < $3::tid",
			 WR_BF_FILES_SQL, bf->qname);
	c->t0 = wr_now_ms();
	if (!PQsendQueryParams(conn, sql, 3, NULL, params, NULL, NULL, 1))
	{
		wr_warning("backfill %" PRIu64 ": %s; retrying", bf->id,
				   PQerrorMessage(conn));
		wr_bf_abandon(r, bf);
		return;
	}
	c->state = WR_CH_READING;
	bf->next_block = c->end;
}

/* --------------------------------------------------- snapshots and xids */

static int
wr_bf_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a;
	uint64_t y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

/*
 * pg_snapshot's text, "xmin:xmax:xip,xip,..." (full 64-bit xids), into
 * c's snapshot; false if it is not that or memory runs out.
 */
static bool
wr_bf_snap_parse(wr_bf_chunk *c, const char *text, size_t len)
{
	char	 buf[64];
	char	*copy;
	char	*p;
	char	*end;
	uint32_t cap = 0;

	if (len < 3)
		return false;
	copy = (len < sizeof(buf)) ? buf : malloc(len + 1);
	if (copy == NULL)
		return false;
	memcpy(copy, text, len);
	copy[len] = '\0';
	errno = 0;
	c->snap_xmin = strtoull(copy, &end, 10);
	if (*end != ':')
		goto bad;
	c->snap_xmax = strtoull(end + 1, &end, 10);
	if (*end != ':' || errno != 0)
		goto bad;
	c->snap_nxip = 0;
	for (p = end + 1; *p != '\0'; p = end + (*end == ','))
	{
		uint64_t x = strtoull(p, &end, 10);

		if (end == p || (*end != ',' && *end != '\0'))
			goto bad;
		if (c->snap_nxip == cap)
		{
			uint32_t  ncap = cap ? cap * 2 : 16;
			uint64_t *n = realloc(c->snap_xip, ncap * sizeof(uint64_t));

			if (n == NULL)
				goto bad;
			c->snap_xip = n;
			cap = ncap;
		}
		c->snap_xip[c->snap_nxip++] = x;
	}
	qsort(c->snap_xip, c->snap_nxip, sizeof(uint64_t), wr_bf_u64_cmp);
	c->has_snap = true;
	if (copy != buf)
		free(copy);
	return true;
bad:
	if (copy != buf)
		free(copy);
	return false;
}

/*
 * The 32-bit xid of the stream as a full xid near the snapshot's xmax:
 * transactions the stream brings while a chunk is read lie within 2^31
 * of it.
 */
static uint64_t
wr_bf_full_xid(uint64_t near, uint32_t xid)
{
	uint64_t full = (near & ~(uint64_t) UINT32_MAX) | xid;

	if (full > near + ((uint64_t) 1 << 31) && full >= ((uint64_t) 1 << 32))
		full -= (uint64_t) 1 << 32;
	else if (full + ((uint64_t) 1 << 31) < near)
		full += (uint64_t) 1 << 32;
	return full;
}

/* Was transaction xid still running (so invisible) in c's snapshot? */
static bool
wr_bf_invisible(const wr_bf_chunk *c, uint32_t xid)
{
	uint64_t full = wr_bf_full_xid(c->snap_xmax, xid);

	if (full >= c->snap_xmax)
		return true;
	if (full < c->snap_xmin)
		return false;
	return bsearch(&full, c->snap_xip, c->snap_nxip, sizeof(uint64_t),
				   wr_bf_u64_cmp) != NULL;
}

/*
 * Forget the keys whose last change is visible to every snapshot from
 * now on (its xid is below xmin, which only grows): only when the map has
 * grown, since it is rebuilt.
 */
static void
wr_bf_prune(wr_bf *bf, uint64_t xmin)
{
	whm kept;

	if (bf->recent.count < 4096)
		return;
	whm_init(&kept);
	for (size_t i = 0; i < bf->recent.cap; i++)
	{
		const whm_slot *sl = &bf->recent.slots[i];
		uint32_t		xid;

		if (sl->key == NULL)
			continue;
		xid = (uint32_t) ((uintptr_t) sl->value - 1);
		if (wr_bf_full_xid(xmin, xid) >= xmin &&
			whm_put(&kept, sl->key, sl->keylen, sl->value) != 0)
		{
			whm_free(&kept, NULL); /* out of memory: keep them all */
			return;
		}
	}
	whm_free(&bf->recent, NULL);
	bf->recent = kept;
}

/* The rows of chunk c arrived in res: keep them, write its watermark. */
static void
wr_bf_chunk_read(wr_relay *r, wr_bf *bf, wr_bf_chunk *c, PGresult *res)
{
	PGconn	*conn = r->backfills.conn;
	uint32_t key_index = 0;
	char	 text[128];
	char	 err[512];
	int64_t	 took = wr_now_ms() - c->t0;
	int		 n = PQntuples(res);

	if (c->dropped)
	{
		wr_bf_chunk_clear(c);
		return;
	}
	if (n < 1 || PQgetisnull(res, 0, 1))
	{
		wr_bf_fail(r, bf, "no definition for the table");
		return;
	}
	if ((size_t) PQgetlength(res, 0, 0) != strlen(bf->files) ||
		memcmp(PQgetvalue(res, 0, 0), bf->files, strlen(bf->files)) != 0)
	{
		/* rewritten: rows may have moved into blocks already read */
		wr_info("backfill %" PRIu64 " of %s.%s: the table was rewritten; "
				"reading it again from its first block",
				bf->id, bf->schema, bf->table);
		free(bf->files);
		bf->files = strndup(PQgetvalue(res, 0, 0),
							(size_t) PQgetlength(res, 0, 0));
		wr_bf_drop_from(bf, c);
		wr_bf_chunk_clear(c);
		bf->next_block = 0;
		return;
	}
	c->relrec_len = (size_t) PQgetlength(res, 0, 1);
	if ((c->relrec = malloc(c->relrec_len ? c->relrec_len : 1)) != NULL)
		memcpy(c->relrec, PQgetvalue(res, 0, 1), c->relrec_len);
	if (c->relrec == NULL ||
		!wr_bf_key_index(c->relrec, c->relrec_len, bf->relid, &key_index))
	{
		wr_bf_fail(r, bf, "the table's definition cannot be read");
		return;
	}
	if (PQgetisnull(res, 0, 2) ||
		!wr_bf_snap_parse(c, PQgetvalue(res, 0, 2),
						  (size_t) PQgetlength(res, 0, 2)))
	{
		wr_bf_fail(r, bf,
				   "the read's snapshot cannot be parsed (out of "
				   "memory?)");
		return;
	}
	wr_bf_prune(bf, c->snap_xmin);
	for (int i = 1; i < n; i++)
		if (!wr_bf_add_row(c, PQgetvalue(res, i, 1),
						   (size_t) PQgetlength(res, i, 1), key_index))
		{
			wr_bf_fail(r, bf,
					   "a row read cannot be kept (out of memory, "
					   "or not the plugin's encoding)");
			return;
		}

	/* adapt: about WR_BF_TARGET_MS per chunk, at most the byte cap */
	if (took < WR_BF_TARGET_MS / 2 && c->len < WR_BF_MAX_CHUNK_BYTES / 4)
		bf->chunk_blocks *= 2;
	else if (took > WR_BF_TARGET_MS * 2 || c->len > WR_BF_MAX_CHUNK_BYTES)
		bf->chunk_blocks /= 2;
	if (bf->chunk_blocks > WR_BF_MAX_BLOCKS)
		bf->chunk_blocks = WR_BF_MAX_BLOCKS;
	if (bf->chunk_blocks < WR_BF_MIN_BLOCKS)
		bf->chunk_blocks = WR_BF_MIN_BLOCKS;

	snprintf(text, sizeof(text), "H %" PRIu64 " %" PRIu64 " %" PRIu64, bf->id,
			 c->no, r->pub.run);
	if (!wr_bf_emit(conn, text, err, sizeof(err)))
	{
		wr_warning("backfill %" PRIu64 ": %s; retrying", bf->id, err);
		wr_bf_abandon(r, bf);
		return;
	}
	c->state = WR_CH_QUEUED;
	wr_debug("backfill %" PRIu64 ": chunk %" PRIu64 ", blocks %ld to %ld, "
			 "%u rows read in %" PRId64 " ms",
			 bf->id, c->no, c->first, c->end - 1, c->nrows, took);
}

void
wr_backfill_io(wr_relay *r)
{
	PGconn		*conn = r->backfills.conn;
	wr_bf		*bf = wr_bf_running(r);
	wr_bf_chunk *c;
	PGresult	*res;
	PGresult	*rows = NULL;
	char		 err[512] = "";

	if (conn == NULL || bf == NULL || (c = wr_bf_reading(bf)) == NULL)
		return;
	if (!PQconsumeInput(conn))
	{
		wr_warning("backfill %" PRIu64 ": %s; retrying", bf->id,
				   PQerrorMessage(conn));
		wr_bf_abandon(r, bf);
		return;
	}
	if (PQisBusy(conn))
		return;
	/* the statement's result, then NULL */
	while ((res = PQgetResult(conn)) != NULL)
	{
		if (rows == NULL && PQresultStatus(res) == PGRES_TUPLES_OK)
			rows = res;
		else
		{
			if (err[0] == '\0' && PQresultStatus(res) != PGRES_TUPLES_OK)
				snprintf(err, sizeof(err), "%s", PQresultErrorMessage(res));
			PQclear(res);
		}
	}
	if (rows == NULL)
	{
		err[strcspn(err, "\n")] = '\0';
		if (PQstatus(conn) != CONNECTION_OK)
		{
			wr_warning("backfill %" PRIu64 ": %s; retrying", bf->id, err);
			wr_bf_abandon(r, bf);
		}
		else if (c->dropped)
			wr_bf_chunk_clear(c);
		else
			wr_bf_fail(r, bf, err[0] ? err : "the chunk's read failed");
		return;
	}
	wr_bf_chunk_read(r, bf, c, rows);
	PQclear(rows);
}

/* ------------------------------------------------------- from the stream */

bool
wr_backfill_watching(const wr_relay *r, uint32_t relid)
{
	wr_bf *bf = wr_bf_running(r);

	return bf != NULL && bf->relid == relid && bf->state == WR_BF_ACTIVE;
}

void
wr_backfill_change(wr_relay *r, uint32_t relid, wb_str key, wb_str old_key)
{
	wr_bf		*bf = wr_bf_running(r);
	wr_bf_chunk *c = wr_bf_watching(r, relid);
	void		*xid = (void *) (uintptr_t) ((uint64_t) r->txn.xid + 1);
	bool		 lost = false;

	if (bf == NULL || bf->relid != relid)
		return;
	if (key.ptr != NULL)
		lost |= whm_put(&bf->recent, key.ptr, key.len, xid) != 0;
	if (old_key.ptr != NULL)
		lost |= whm_put(&bf->recent, old_key.ptr, old_key.len, xid) != 0;
	if (c != NULL &&
		((key.ptr != NULL &&
		  whm_put(&c->touched, key.ptr, key.len, (void *) 1) != 0) ||
		 (old_key.ptr != NULL &&
		  whm_put(&c->touched, old_key.ptr, old_key.len, (void *) 1) != 0)))
		lost = true;
	if (lost)
	{
		/* out of memory: every chunk not yet published is read again */
		for (int i = 0; i < 2; i++)
			if (bf->ch[i].state != WR_CH_FREE)
				bf->ch[i].dirty = true;
	}
}

void
wr_backfill_invalidate(wr_relay *r, uint32_t relid)
{
	wr_bf_chunk *c = wr_bf_watching(r, relid);

	if (c != NULL)
		c->dirty = true;
}

/* An event of bf on _backfill, in the open transaction. */
static void
wr_bf_event(wr_relay *r, wr_bf *bf, wbb_event_kind kind, const char *reason)
{
	char	  topic[WBE_TABLE_TOPIC_MAX + 1];
	wr_topic *t = wr_pub_topic(&r->pub, WBE_TOPIC_BACKFILL,
							   strlen(WBE_TOPIC_BACKFILL));
	wbb_event ev = {kind,
					bf->id,
					bf->relid,
					{topic, 0},
					bf->rows,
					bf->chunks,
					{reason, reason ? (uint32_t) strlen(reason) : 0}};
	wr_frame *f;
	uint32_t  pos;

	ev.topic.len = (uint32_t) wbe_topic_table(topic, sizeof(topic), bf->schema,
											  strlen(bf->schema), bf->table,
											  strlen(bf->table));
	if (t == NULL)
	{
		r->pub.errors++;
		return;
	}
	pos = wr_pos_item(r);
	if ((f = wr_pub_frame(&r->pub, t, bf->relid, 0, NULL, 0)) == NULL)
		return;
	wbe_enc_change_start(&f->enc, WBE_BACKFILL, pos, 1);
	wbb_enc_event(&f->enc, &ev);
	wr_pub_frame_added(&r->pub, f, pos);
}

static void
wr_bf_pending_add(wr_relay *r, wr_bf *bf, const char *after, uint64_t rows,
				  uint64_t chunks, bool done)
{
	if (bf->npend == bf->pend_cap)
	{
		uint32_t	   cap = bf->pend_cap ? bf->pend_cap * 2 : 8;
		wr_bf_pending *n = realloc(bf->pend, cap * sizeof(wr_bf_pending));

		if (n == NULL)
			return; /* not saved: a restart reads it again */
		bf->pend = n;
		bf->pend_cap = cap;
	}
	bf->pend[bf->npend++] = (wr_bf_pending) {r->txn.commit_lsn,
											 wr_bf_strdup(after), rows, chunks,
											 done};
}

/* The high watermark of chunk c: publish what is left of it. */
static void
wr_bf_publish(wr_relay *r, wr_bf *bf, wr_bf_chunk *c)
{
	wb_dec	  d;
	wb_record rec;
	wr_rel	 *rel;
	uint64_t  published = 0;
	char	  after[32];

	wb_dec_init(&d);
	if (wb_decode(&d, c->relrec, c->relrec_len, &rec, NULL) != WB_OK ||
		(rel = wr_records_relation(r, &rec)) == NULL)
	{
		wb_dec_free(&d);
		wr_warning("backfill %" PRIu64 ": chunk %" PRIu64 " dropped: its "
				   "definition cannot be used; reading it again",
				   bf->id, c->no);
		wr_bf_drop_from(bf, c);
		return;
	}
	wb_dec_free(&d);
	wr_schema_before_change(r, rel);
	if (bf->chunks == 0)
		wr_bf_event(r, bf, WBB_STARTED, NULL);
	for (uint32_t i = 0; i < c->nrows; i++)
	{
		const wr_bf_row *row = &c->row[i];
		wr_frame		*f;
		uint32_t		 pos;
		void			*last;

		if (whm_get(&c->touched, c->data + row->key_off, row->key_len))
			continue; /* the stream has a newer state of it */
		last = whm_get(&bf->recent, c->data + row->key_off, row->key_len);
		if (last != NULL &&
			wr_bf_invisible(c, (uint32_t) ((uintptr_t) last - 1)))
			continue; /* so has it: a change the read missed */
		pos = wr_pos_item(r);
		f = wr_pub_frame(&r->pub, rel->topic, bf->relid,
						 rel->current->schema_version, NULL, 0);
		published++;
		if (f == NULL)
			continue;
		/* ['R', pos, values]: the values array is the row as read */
		wbe_enc_change_start(&f->enc, WBE_READ, pos, 1);
		wbe_enc_raw(&f->enc, c->data + row->off, row->len);
		wr_pub_frame_added(&r->pub, f, pos);
	}
	bf->rows += published;
	bf->chunks++;
	r->backfills.rows += published;
	snprintf(after, sizeof(after), "%ld", c->end);
	wr_bf_set(&bf->after, after);
	wr_bf_event(r, bf, c->final ? WBB_DONE : WBB_PROGRESS, NULL);
	/* saved once PostgreSQL has this transaction as flushed */
	wr_bf_pending_add(r, bf, bf->after, bf->rows, bf->chunks, c->final);
	wr_info("backfill %" PRIu64 " of %s.%s: chunk %" PRIu64 ", %" PRIu64
			" rows published (%u dropped as changed meanwhile)%s",
			bf->id, bf->schema, bf->table, bf->chunks, published,
			c->nrows - (uint32_t) published, c->final ? "; done" : "");
	if (c->final)
	{
		bf->state = WR_BF_DONE;
		r->backfills.done++;
	}
	wr_bf_chunk_clear(c);
}

/*
 * Did the stream bring, before c's low watermark, the commit of a
 * transaction that c's read could not see, and whose keys the backfill
 * does not know (it committed before the backfill began watching the
 * table, or beyond the commits remembered)?  Such a read may be older
 * than a change the worker applied before it.  Sets *xid to one.
 */
static bool
wr_bf_missed_commit(const wr_relay *r, const wr_bf *bf, const wr_bf_chunk *c,
					uint32_t *xid)
{
	const wr_backfills *b = &r->backfills;
	uint64_t			from;

	*xid = 0;
	if (b->commit_xid == NULL)
		return false; /* none seen (or no memory to keep them) */
	/* the commits before the low watermark that the ring still holds */
	from = b->ncommits > WR_BF_COMMITS ? b->ncommits - WR_BF_COMMITS : 0;
	for (uint64_t n = from; n < c->l_seq && n < bf->track_seq; n++)
	{
		uint32_t x = b->commit_xid[n % WR_BF_COMMITS];

		if (wr_bf_invisible(c, x))
		{
			*xid = x;
			return true;
		}
	}
	return false;
}

void
wr_backfill_watermark(wr_relay *r, wb_str content)
{
	char		 text[64];
	char		 kind;
	uint64_t	 id;
	uint64_t	 no;
	uint64_t	 run;
	wr_bf		*bf;
	wr_bf_chunk *c = NULL;

	if (content.len >= sizeof(text))
		return;
	memcpy(text, content.ptr, content.len);
	text[content.len] = '\0';

	/*
	 * Only this process's own: the stream also brings the watermarks of
	 * other relays on the database (their ids are theirs) and, after a
	 * restart, those of the run before, whose chunk numbers this run uses
	 * again.
	 */
	if (sscanf(text, "%c %" SCNu64 " %" SCNu64 " %" SCNu64, &kind, &id, &no,
			   &run) != 4 ||
		run != r->pub.run || (bf = wr_bf_find(r, id)) == NULL)
		return;
	if (kind == 'F')
	{
		if (bf->state != WR_BF_FAILING || no != bf->chunk_no)
			return;
		wr_bf_event(r, bf, WBB_FAILED, bf->fail_reason);
		bf->state = WR_BF_DONE;
		/* nothing more to confirm: it ends with this transaction */
		wr_bf_pending_add(r, bf, bf->saved_after, bf->saved_rows,
						  bf->saved_chunks, true);
		return;
	}
	for (int i = 0; i < 2; i++)
		if (bf->ch[i].state != WR_CH_FREE && bf->ch[i].no == no &&
			!bf->ch[i].dropped)
			c = &bf->ch[i];
	if (c == NULL)
		return; /* an older chunk's, or a dropped one's */
	if (kind == 'L' && !c->watching)
	{
		c->watching = true;
		c->l_seq = r->backfills.ncommits;
		whm_free(&c->touched, NULL);
		whm_init(&c->touched);
		c->dirty = false;
	}
	else if (kind == 'H' && c->state == WR_CH_QUEUED && c->watching)
	{
		uint32_t unseen;

		if (c->dirty)
		{
			wr_info("backfill %" PRIu64 ": chunk %" PRIu64 " dropped: the "
					"table was truncated or redefined meanwhile; reading "
					"it again",
					bf->id, c->no);
			wr_bf_drop_from(bf, c);
		}
		else if (wr_bf_missed_commit(r, bf, c, &unseen))
		{
			/* read again once that transaction is visible: wait a bit */
			bf->backoff_ms = bf->backoff_ms ? bf->backoff_ms * 2 : 50;
			if (bf->backoff_ms > 2000)
				bf->backoff_ms = 2000;
			bf->retry_at = wr_now_ms() + bf->backoff_ms;
			wr_info("backfill %" PRIu64 ": chunk %" PRIu64 " dropped: "
					"transaction %u committed before its low watermark "
					"but was not yet visible to its read; reading it "
					"again in %" PRId64 " ms",
					bf->id, c->no, unseen, bf->backoff_ms);
			wr_bf_drop_from(bf, c);
		}
		else
		{
			bf->backoff_ms = 0;
			wr_bf_publish(r, bf, c);
		}
	}
}

void
wr_backfill_confirmed(wr_relay *r, uint64_t flushed)
{
	wr_bf **link = &r->backfills.head;
	bool	changed = false;

	while (*link != NULL)
	{
		wr_bf	*bf = *link;
		uint32_t k = 0;
		bool	 finished = false;

		/* a commit record is below its end, which flushed covers */
		while (k < bf->npend && bf->pend[k].commit_lsn < flushed)
		{
			wr_bf_set(&bf->saved_after, bf->pend[k].after);
			bf->saved_rows = bf->pend[k].rows;
			bf->saved_chunks = bf->pend[k].chunks;
			finished = bf->pend[k].done;
			k++;
		}
		if (k > 0)
		{
			for (uint32_t i = 0; i < k; i++)
				free(bf->pend[i].after);
			memmove(bf->pend, bf->pend + k,
					(bf->npend - k) * sizeof(wr_bf_pending));
			bf->npend -= k;
			changed = true;
		}
		if (finished)
		{
			*link = bf->next;
			wr_info("backfill %" PRIu64 " of %s.%s confirmed: %" PRIu64
					" rows in %" PRIu64 " chunks",
					bf->id, bf->schema, bf->table, bf->saved_rows,
					bf->saved_chunks);
			wr_bf_free(bf);
			continue;
		}
		link = &bf->next;
	}
	if (changed)
		wr_bf_save(r);
}

void
wr_backfill_restart(wr_relay *r)
{
	/* a read in flight belongs to the stream that ended */
	if (r->backfills.conn != NULL)
		PQfinish(r->backfills.conn);
	r->backfills.conn = NULL;
	for (wr_bf *bf = r->backfills.head; bf != NULL; bf = bf->next)
	{
		for (int i = 0; i < 2; i++)
			wr_bf_chunk_clear(&bf->ch[i]);
		wr_bf_pend_clear(bf);
		wr_bf_set(&bf->after, bf->saved_after);
		bf->next_block = bf->after ? strtol(bf->after, NULL, 10) : 0;
		bf->rows = bf->saved_rows;
		bf->chunks = bf->saved_chunks;
		bf->state = WR_BF_ACTIVE;
	}
	r->backfills.failing = false;
}
