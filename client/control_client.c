/*-------------------------------------------------------------------------
 *
 * control_client.c
 *	  libwalbus's requests on the relay's control socket, and the cache of
 *	  table definitions behind "schema" (see control_client.h).
 *
 *-------------------------------------------------------------------------
 */
#include "control_client.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/protocol/reqrep0/req.h>

#include "mpread.h"
#include "nngclose.h"
#include "tlsdial.h"
#include "walbus_control.h"

int
wcc_open(wcc *s, const char *url, const walbus_options *opts, int timeout_ms,
		 size_t max_reply, char *errbuf, size_t errlen)
{
	int rv;

	memset(s, 0, sizeof(*s));
	whm_init(&s->tables);
	if ((rv = nng_req0_open(&s->req)) != 0)
	{
		snprintf(errbuf, errlen, "nng_req0_open: %s", nng_strerror(rv));
		return WALBUS_ENNG;
	}
	s->open = true;
	s->timeout_ms = s->cur_timeout_ms = timeout_ms;
	if (max_reply < WBC_MAX_MESSAGE_BYTES)
		max_reply = WBC_MAX_MESSAGE_BYTES;
	rv = nng_socket_set_size(s->req, NNG_OPT_RECVMAXSZ, max_reply);
	if (rv == 0)
		rv = nng_socket_set_ms(s->req, NNG_OPT_RECVTIMEO, timeout_ms);
	if (rv == 0)
		rv = nng_socket_set_ms(s->req, NNG_OPT_SENDTIMEO, timeout_ms);
	if (rv != 0)
	{
		snprintf(errbuf, errlen, "cannot set control socket options: %s",
				 nng_strerror(rv));
		return WALBUS_ENNG;
	}
	return wtd_dial(s->req, url, "control", opts, errbuf, errlen);
}

/* A walbus_table and everything it points to, in one allocation. */
typedef struct wcc_entry
{
	walbus_table  table;
	walbus_column columns[]; /* then the strings */
} wcc_entry;

static char *
wcc_put(char **cursor, wb_str s)
{
	char *p = *cursor;

	memcpy(p, s.ptr, s.len);
	p[s.len] = '\0';
	*cursor += s.len + 1;
	return p;
}

static wcc_entry *
wcc_entry_make(const wbc_schema *sc)
{
	size_t size = sizeof(wcc_entry) + sc->ncolumns * sizeof(walbus_column) +
		sc->schema.len + 1 + sc->table.len + 1;
	wcc_entry *t;
	char	  *cursor;

	for (uint32_t i = 0; i < sc->ncolumns; i++)
		size += sc->columns[i].name.len + 1 + sc->columns[i].typname.len + 1;
	if ((t = malloc(size)) == NULL)
		return NULL;
	cursor = (char *) &t->columns[sc->ncolumns];
	t->table.relid = sc->relid;
	t->table.schema_version = sc->schema_version;
	t->table.schema = wcc_put(&cursor, sc->schema);
	t->table.name = wcc_put(&cursor, sc->table);
	t->table.key_index = sc->key_index;
	t->table.ncolumns = sc->ncolumns;
	t->table.columns = t->columns;
	t->table.schema_oid = sc->schema_oid;
	for (uint32_t i = 0; i < sc->ncolumns; i++)
	{
		t->columns[i].name = wcc_put(&cursor, sc->columns[i].name);
		t->columns[i].type_oid = sc->columns[i].typoid;
		t->columns[i].typmod = sc->columns[i].typmod;
		t->columns[i].type_name = wcc_put(&cursor, sc->columns[i].typname);
		t->columns[i].attnum = sc->columns[i].attnum;
	}
	return t;
}

static int
wcc_write(void *ctx, const char *buf, size_t len)
{
	return nng_msg_append((nng_msg *) ctx, buf, len);
}

/*
 * Send the request built by encode(arg), wait for the reply and check its
 * "ok".  On WALBUS_OK *reply is the reply (the caller frees it).
 */
static int
wcc_request_within(wcc *s, int timeout_ms,
				   void (*encode)(wb_enc *e, const void *arg), const void *arg,
				   const char *what, nng_msg **reply)
{
	nng_msg *req;
	wb_enc	 enc;
	int		 rv;
	bool	 ok;
	wb_str	 code, message;
	char	 err[160];

	*reply = NULL;
	{
		int t = timeout_ms > 0 ? timeout_ms : s->timeout_ms;

		if (t != s->cur_timeout_ms &&
			nng_socket_set_ms(s->req, NNG_OPT_RECVTIMEO, t) == 0 &&
			nng_socket_set_ms(s->req, NNG_OPT_SENDTIMEO, t) == 0)
			s->cur_timeout_ms = t;
	}
	if ((rv = nng_msg_alloc(&req, 0)) != 0)
		return WALBUS_ENOMEM;
	wb_enc_init(&enc, wcc_write, req);
	encode(&enc, arg);
	if (wb_enc_failed(&enc))
	{
		nng_msg_free(req);
		return WALBUS_ENOMEM;
	}
	if ((rv = nng_sendmsg(s->req, req, 0)) != 0)
	{
		nng_msg_free(req);
		snprintf(s->errmsg, sizeof(s->errmsg),
				 "%s request to the relay failed: %s", what, nng_strerror(rv));
		return WALBUS_ECONTROL;
	}
	if ((rv = nng_recvmsg(s->req, reply, 0)) != 0)
	{
		*reply = NULL;
		snprintf(s->errmsg, sizeof(s->errmsg),
				 "no answer to the %s request from the relay: %s", what,
				 nng_strerror(rv));
		return WALBUS_ECONTROL;
	}
	if (wbc_decode_result(nng_msg_body(*reply), nng_msg_len(*reply), &ok,
						  &code, &message, err, sizeof(err)) != WB_OK)
	{
		snprintf(s->errmsg, sizeof(s->errmsg), "malformed %s response: %s",
				 what, err);
		return WALBUS_ECONTROL;
	}
	if (!ok)
	{
		snprintf(s->errmsg, sizeof(s->errmsg), "relay refused %s: %.*s (%.*s)",
				 what, (int) message.len, message.ptr, (int) code.len,
				 code.ptr);
		if (mpr_str_eq(code, WBC_ERR_NOT_DURABLE))
			return WALBUS_EINVAL;
		return mpr_str_eq(code, WBC_ERR_NOT_FOUND) ? WALBUS_ESCHEMA :
													 WALBUS_ECONTROL;
	}
	return WALBUS_OK;
}

/* A request that waits for the timeout given to wcc_open. */
static int
wcc_request(wcc		   *s, void (*encode)(wb_enc *e, const void *arg),
			const void *arg, const char *what, nng_msg **reply)
{
	return wcc_request_within(s, 0, encode, arg, what, reply);
}

typedef struct wcc_schema_key
{
	uint32_t relid;
	uint64_t schema_version;
} wcc_schema_key;

static void
wcc_enc_schema(wb_enc *e, const void *arg)
{
	const wcc_schema_key *k = arg;

	wbc_enc_schema_request(e, k->relid, k->schema_version);
}

static void
wcc_enc_status(wb_enc *e, const void *arg)
{
	(void) arg;
	wbc_enc_status_request(e);
}

/* One schema request; on success *out is the decoded reply (free columns). */
static int
wcc_fetch(wcc *s, uint32_t relid, uint64_t sv, nng_msg **reply,
		  wbc_schema *out)
{
	wcc_schema_key k = {relid, sv};
	char		   err[160];
	int			   rc;

	s->fetches++;
	if ((rc = wcc_request(s, wcc_enc_schema, &k, "schema", reply)) !=
		WALBUS_OK)
		return rc;
	if ((rc = wbc_decode_schema(nng_msg_body(*reply), nng_msg_len(*reply), out,
								err, sizeof(err))) != WB_OK)
	{
		snprintf(s->errmsg, sizeof(s->errmsg), "malformed schema response: %s",
				 err);
		return rc == WB_ENOMEM ? WALBUS_ENOMEM : WALBUS_ECONTROL;
	}
	if (out->relid != relid || out->schema_version != sv)
	{
		free(out->columns);
		snprintf(s->errmsg, sizeof(s->errmsg),
				 "schema response for relation %u version %llu, asked for "
				 "%u version %llu",
				 out->relid, (unsigned long long) out->schema_version, relid,
				 (unsigned long long) sv);
		return WALBUS_ECONTROL;
	}
	return WALBUS_OK;
}

static void
wcc_copy(char *dst, size_t cap, wb_str s)
{
	size_t n = s.len < cap - 1 ? s.len : cap - 1;

	memcpy(dst, s.ptr, n);
	dst[n] = '\0';
}

/*
 * The status fields, generated from WBC_STATUS_FIELDS: the copy from the
 * decoded response into walbus_relay_status (a field without a member of
 * that name does not compile: append one), and the table that
 * walbus_relay_status_field walks.
 */
#define WCC_COPY_UINT(f)				 st->f = ws->f;
#define WCC_COPY_LSN(f)					 st->f = ws->f;
#define WCC_COPY_FLAG(f)				 st->f = ws->f;
#define WCC_COPY_STR(f)					 wcc_copy(st->f, sizeof(st->f), ws->f);
#define WCC_STATUS_COPY(name, kind, doc) WCC_COPY_##kind(name)

#define WCC_STATUS_ENTRY(name, kind, doc) \
	{#name, WALBUS_STATUS_##kind, offsetof(walbus_relay_status, name)},

static const struct
{
	const char		  *name;
	walbus_status_kind kind;
	size_t			   offset;
} wcc_status_fields[] = {WBC_STATUS_FIELDS(WCC_STATUS_ENTRY)};

#define WCC_NSTATUS (sizeof(wcc_status_fields) / sizeof(wcc_status_fields[0]))

static void
wcc_status_copy(walbus_relay_status *st, const wbc_status *ws)
{
	memset(st, 0, sizeof(*st));
	WBC_STATUS_FIELDS(WCC_STATUS_COPY)
	for (uint32_t i = 0; i < ws->nconsumers &&
		 i < sizeof(st->consumers) / sizeof(st->consumers[0]);
		 i++)
	{
		wcc_copy(st->consumers[i].name, sizeof(st->consumers[i].name),
				 ws->consumers[i].name);
		st->consumers[i].connected = ws->consumers[i].connected != 0;
		st->consumers[i].acked_lsn = ws->consumers[i].acked_lsn;
		st->consumers[i].lag_bytes = ws->consumers[i].lag_bytes;
		st->consumers[i].over_lag_limit = ws->consumers[i].over_lag_limit != 0;
		st->consumers[i].acks = ws->consumers[i].acks;
		st->consumers[i].rewinds = ws->consumers[i].rewinds;
		st->nconsumers = i + 1;
	}
}

int
wcc_status(wcc *s, walbus_relay_status *st, size_t size)
{
	nng_msg	  *reply;
	wbc_status ws;
	char	   err[160];
	int		   rc;

	memset(st, 0, size);
	rc = wcc_request(s, wcc_enc_status, NULL, "status", &reply);
	if (rc == WALBUS_OK &&
		wbc_decode_status(nng_msg_body(reply), nng_msg_len(reply), &ws, err,
						  sizeof(err)) != WB_OK)
	{
		snprintf(s->errmsg, sizeof(s->errmsg), "malformed status response: %s",
				 err);
		rc = WALBUS_ECONTROL;
	}
	if (rc == WALBUS_OK)
	{
		/* ws points into reply: copy before it is freed */
		wcc_status_copy(&s->status, &ws);
		/* a newer caller's members that this library lacks stay zero */
		memcpy(st, &s->status, size < sizeof(*st) ? size : sizeof(*st));
	}
	if (reply != NULL)
		nng_msg_free(reply);
	return rc;
}

int
wcc_status_field(const wcc *s, size_t i, const char **name,
				 walbus_status_value *value)
{
	const char *field;

	if (i >= WCC_NSTATUS)
		return WALBUS_EINVAL;
	field = (const char *) &s->status + wcc_status_fields[i].offset;
	*name = wcc_status_fields[i].name;
	value->kind = wcc_status_fields[i].kind;
	value->u = 0;
	value->s = "";
	if (value->kind == WALBUS_STATUS_STR)
		value->s = field;
	else
		memcpy(&value->u, field, sizeof(value->u));
	return WALBUS_OK;
}

const walbus_table *
wcc_remember(wcc *s, const wbc_schema *sc)
{
	unsigned char key[12];
	wcc_entry	 *t;

	memcpy(key, &sc->relid, 4);
	memcpy(key + 4, &sc->schema_version, 8);
	if ((t = whm_get(&s->tables, key, sizeof(key))) != NULL)
		return &t->table;
	if ((t = wcc_entry_make(sc)) == NULL)
		return NULL;
	if (whm_put(&s->tables, key, sizeof(key), t) != 0)
	{
		free(t);
		return NULL;
	}
	return &t->table;
}

const walbus_table *
wcc_table(wcc *s, uint32_t relid, uint64_t schema_version, int *rc)
{
	unsigned char key[12];
	wcc_entry	 *t;
	nng_msg		 *reply = NULL;
	wbc_schema	  sc;

	memcpy(key, &relid, 4);
	memcpy(key + 4, &schema_version, 8);
	if ((t = whm_get(&s->tables, key, sizeof(key))) != NULL)
	{
		*rc = WALBUS_OK;
		return &t->table;
	}
	*rc = wcc_fetch(s, relid, schema_version, &reply, &sc);
	if (*rc == WALBUS_OK)
	{
		t = wcc_entry_make(&sc);
		free(sc.columns);
		if (t == NULL || whm_put(&s->tables, key, sizeof(key), t) != 0)
		{
			free(t);
			t = NULL;
			*rc = WALBUS_ENOMEM;
			snprintf(s->errmsg, sizeof(s->errmsg), "out of memory");
		}
	}
	if (reply != NULL)
		nng_msg_free(reply);
	return t ? &t->table : NULL;
}

/* ------------------------------------------------------ durable consumers */

typedef struct wcc_durable_req
{
	const char	  *consumer;
	uint64_t	   commit_lsn;
	uint32_t	   pos;
	uint64_t	   end_lsn;
	const wb_str  *prefixes;
	uint32_t	   nprefixes;
	const wbc_key *release; /* ack: NULL, or what the window may forget */
} wcc_durable_req;

static void
wcc_enc_hello(wb_enc *e, const void *arg)
{
	const wcc_durable_req *q = arg;

	wbc_enc_hello_request(e, q->consumer, strlen(q->consumer));
}

static void
wcc_enc_ack(wb_enc *e, const void *arg)
{
	const wcc_durable_req *q = arg;

	wbc_enc_ack_request(e, q->consumer, strlen(q->consumer), q->commit_lsn,
						q->pos, q->end_lsn, q->release);
}

static void
wcc_enc_replay(wb_enc *e, const void *arg)
{
	const wcc_durable_req *q = arg;

	wbc_enc_replay_request(e, q->consumer,
						   q->consumer ? strlen(q->consumer) : 0,
						   q->commit_lsn, q->pos, q->prefixes, q->nprefixes,
						   0);
}

typedef struct wcc_backfill_req
{
	const char *schema;
	const char *table;
} wcc_backfill_req;

static void
wcc_enc_backfill(wb_enc *e, const void *arg)
{
	const wcc_backfill_req *q = arg;

	wbc_enc_backfill_request(e, q->schema, strlen(q->schema), q->table,
							 strlen(q->table));
}

int
wcc_backfill(wcc *s, const char *schema, const char *table, uint64_t *id)
{
	wcc_backfill_req q = {schema, table};
	nng_msg			*reply;
	wbc_backfill	 b;
	char			 err[160];
	int				 rc;

	rc = wcc_request(s, wcc_enc_backfill, &q, "backfill", &reply);
	if (rc == WALBUS_OK &&
		wbc_decode_backfill(nng_msg_body(reply), nng_msg_len(reply), &b, err,
							sizeof(err)) != WB_OK)
	{
		snprintf(s->errmsg, sizeof(s->errmsg),
				 "malformed backfill response: %s", err);
		rc = WALBUS_ECONTROL;
	}
	if (rc == WALBUS_OK && id != NULL)
		*id = b.backfill;
	if (reply != NULL)
		nng_msg_free(reply);
	return rc;
}

int
wcc_hello(wcc *s, const char *consumer, wbc_hello *h)
{
	wcc_durable_req q = {consumer, 0, 0, 0, NULL, 0, NULL};
	nng_msg		   *reply;
	char			err[160];
	int				rc;

	rc = wcc_request(s, wcc_enc_hello, &q, "hello", &reply);
	if (rc == WALBUS_OK &&
		wbc_decode_hello(nng_msg_body(reply), nng_msg_len(reply), h, err,
						 sizeof(err)) != WB_OK)
	{
		snprintf(s->errmsg, sizeof(s->errmsg), "malformed hello response: %s",
				 err);
		rc = WALBUS_ECONTROL;
	}
	if (reply != NULL)
		nng_msg_free(reply);
	return rc;
}

int
wcc_ack(wcc *s, const char *consumer, uint64_t commit_lsn, uint32_t pos,
		uint64_t end_lsn, const wbc_key *release, int timeout_ms)
{
	wcc_durable_req q = {consumer, commit_lsn, pos, end_lsn, NULL, 0, release};
	nng_msg		   *reply;
	int				rc;

	rc = wcc_request_within(s, timeout_ms, wcc_enc_ack, &q, "ack", &reply);
	if (reply != NULL)
		nng_msg_free(reply);
	return rc;
}

int
wcc_replay(wcc *s, const char *consumer, uint64_t commit_lsn, uint32_t pos,
		   const wb_str *prefixes, uint32_t nprefixes, int timeout_ms,
		   nng_msg **reply, wbc_replay *out)
{
	wcc_durable_req q = {consumer, commit_lsn, pos, 0,
						 prefixes, nprefixes,  NULL};
	char			err[160];
	int				rc;

	memset(out, 0, sizeof(*out));
	rc = wcc_request_within(s, timeout_ms, wcc_enc_replay, &q, "replay",
							reply);
	if (rc != WALBUS_OK)
	{
		if (*reply != NULL)
			nng_msg_free(*reply);
		*reply = NULL;
		return rc;
	}
	if ((rc = wbc_decode_replay(nng_msg_body(*reply), nng_msg_len(*reply), out,
								err, sizeof(err))) != WB_OK)
	{
		snprintf(s->errmsg, sizeof(s->errmsg), "malformed replay response: %s",
				 err);
		nng_msg_free(*reply);
		*reply = NULL;
		return rc == WB_ENOMEM ? WALBUS_ENOMEM : WALBUS_ECONTROL;
	}
	return WALBUS_OK;
}

void
wcc_close(wcc *s)
{
	if (s->open)
		(void) wnc_close(&s->req, 1, WNC_DEFAULT_TIMEOUT_MS);
	s->open = false;
	whm_free(&s->tables, free);
}
