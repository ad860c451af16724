/*-------------------------------------------------------------------------
 *
 * client.c
 *	  libwalbus: sockets, subscriptions and walbus_recv (see
 *	  walbus_client.h for the contract).
 *
 * The sub0 socket always subscribes to "_" (the reserved topics carry the
 * transaction ends and heartbeats that gap detection needs) plus one nng
 * subscription per table filter; filters are also kept here, because
 * reserved topics arrive whether the caller asked for them or not and are
 * delivered only when a filter names them.
 *
 *-------------------------------------------------------------------------
 */
#include "walbus_client.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "gapcheck.h"
#include "control_client.h"
#include "walbus_envelope.h"

#define WALBUS_DEFAULT_MAX_MESSAGE	(64 * 1024 * 1024)
#define WALBUS_DEFAULT_TIMEOUT_MS	5000

/*
 * Messages the sub socket queues before nng drops for us; nng's default
 * (128) overflows on any burst while the caller is busy.
 */
#define WALBUS_RECVBUF				8192

typedef struct walbus_filter
{
	char	   *bytes;			/* topic, or prefix when is_prefix */
	size_t		len;
	bool		is_prefix;
} walbus_filter;

struct walbus_client
{
	nng_socket	sub;
	bool		sub_open;
	bool		have_control;
	wcc			control;
	wbe_dec		dec;
	wgc			gaps;
	walbus_filter *filters;
	int			nfilters;
	int			filters_cap;

	nng_msg    *msg;			/* what the last change points into */
	wbe_envelope env;			/* its decoded form (values, keys) */
	bool		pending;		/* a change waits behind a reported gap */
	int			pending_rc;
	walbus_change pending_change;

	walbus_stats stats;
	char		errmsg[256];
};

static int	walbus_fail(walbus_client *c, int rc, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

static int
walbus_fail(walbus_client *c, int rc, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
	return rc;
}

const char *
walbus_errmsg(const walbus_client *c)
{
	return c->errmsg;
}

const char *
walbus_kind_name(walbus_kind kind)
{
	const char *name = wbe_kind_name((wbe_kind) kind);

	return name ? name : "unknown";
}

void
walbus_get_stats(const walbus_client *c, walbus_stats *stats)
{
	*stats = c->stats;
	stats->schema_fetches = c->control.fetches;
}

int
walbus_open(walbus_client **out, const walbus_options *opts, char *errbuf,
			size_t errlen)
{
	walbus_client *c;
	size_t		maxsz;
	int			timeout;
	int			rv;

	*out = NULL;
	if (opts == NULL || (opts->bus_url == NULL && opts->control_url == NULL))
	{
		snprintf(errbuf, errlen, "walbus_open: a bus or control URL is required");
		return WALBUS_EINVAL;
	}
	if ((c = calloc(1, sizeof(walbus_client))) == NULL)
	{
		snprintf(errbuf, errlen, "out of memory");
		return WALBUS_ENOMEM;
	}
	wbe_dec_init(&c->dec);
	wgc_init(&c->gaps);
	whm_init(&c->control.tables);
	maxsz = opts->max_message_bytes ? opts->max_message_bytes :
		WALBUS_DEFAULT_MAX_MESSAGE;
	timeout = opts->control_timeout_ms > 0 ? opts->control_timeout_ms :
		WALBUS_DEFAULT_TIMEOUT_MS;

	if (opts->bus_url == NULL)
		goto control;
	if ((rv = nng_sub0_open(&c->sub)) != 0)
	{
		snprintf(errbuf, errlen, "nng_sub0_open: %s", nng_strerror(rv));
		walbus_close(c);
		return WALBUS_ENNG;
	}
	c->sub_open = true;
	if ((rv = nng_socket_set_size(c->sub, NNG_OPT_RECVMAXSZ, maxsz)) != 0 ||
		(rv = nng_socket_set_int(c->sub, NNG_OPT_RECVBUF,
								 WALBUS_RECVBUF)) != 0 ||
		(rv = nng_socket_set(c->sub, NNG_OPT_SUB_SUBSCRIBE, "_", 1)) != 0)
	{
		snprintf(errbuf, errlen, "cannot set bus socket options: %s",
				 nng_strerror(rv));
		walbus_close(c);
		return WALBUS_ENNG;
	}
	if ((rv = nng_dial(c->sub, opts->bus_url, NULL, NNG_FLAG_NONBLOCK)) != 0)
	{
		snprintf(errbuf, errlen, "cannot dial bus URL \"%s\": %s",
				 opts->bus_url, nng_strerror(rv));
		walbus_close(c);
		return WALBUS_ENNG;
	}
control:
	if (opts->control_url != NULL)
	{
		if ((rv = wcc_open(&c->control, opts->control_url, timeout, errbuf,
						   errlen)) != WALBUS_OK)
		{
			walbus_close(c);
			return rv;
		}
		c->have_control = true;
	}
	*out = c;
	return WALBUS_OK;
}

void
walbus_close(walbus_client *c)
{
	if (c == NULL)
		return;
	if (c->sub_open)
		nng_close(c->sub);
	if (c->msg != NULL)
		nng_msg_free(c->msg);
	wcc_close(&c->control);
	wbe_dec_free(&c->dec);
	wgc_free(&c->gaps);
	for (int i = 0; i < c->nfilters; i++)
		free(c->filters[i].bytes);
	free(c->filters);
	free(c);
}

/* --------------------------------------------------------- subscriptions */

/* Parse a filter: a trailing '*' makes it a prefix. */
static void
walbus_filter_parse(const char *filter, size_t *len, bool *is_prefix)
{
	*len = strlen(filter);
	*is_prefix = *len > 0 && filter[*len - 1] == '*';
	if (*is_prefix)
		(*len)--;
}

static int
walbus_filter_find(const walbus_client *c, const char *bytes, size_t len,
				   bool is_prefix)
{
	for (int i = 0; i < c->nfilters; i++)
		if (c->filters[i].len == len && c->filters[i].is_prefix == is_prefix &&
			memcmp(c->filters[i].bytes, bytes, len) == 0)
			return i;
	return -1;
}

/*
 * The nng subscription for a filter: "topic\0" for one topic, the bare
 * prefix for a prefix.  Reserved topics need none ("_" is always on).
 */
static int
walbus_nng_filter(walbus_client *c, const char *opt, const char *bytes,
				  size_t len, bool is_prefix)
{
	char	   *buf;
	int			rv;

	if (len > 0 && bytes[0] == WBE_TOPIC_RESERVED)
		return 0;
	if ((buf = malloc(len + 1)) == NULL)
		return NNG_ENOMEM;
	memcpy(buf, bytes, len);
	buf[len] = '\0';
	rv = nng_socket_set(c->sub, opt, buf, is_prefix ? len : len + 1);
	free(buf);
	return rv;
}

int
walbus_subscribe(walbus_client *c, const char *filter)
{
	size_t		len;
	bool		is_prefix;
	walbus_filter *f;
	int			rv;

	if (filter == NULL)
		return walbus_fail(c, WALBUS_EINVAL, "subscribe: no filter");
	if (!c->sub_open)
		return walbus_fail(c, WALBUS_EINVAL, "opened without a bus URL");
	walbus_filter_parse(filter, &len, &is_prefix);
	if (!is_prefix && len == 0)
		return walbus_fail(c, WALBUS_EINVAL,
						   "subscribe: empty topic (use \"*\" for all tables)");
	if (walbus_filter_find(c, filter, len, is_prefix) >= 0)
		return WALBUS_OK;
	if (c->nfilters == c->filters_cap)
	{
		int			ncap = c->filters_cap ? c->filters_cap * 2 : 8;
		walbus_filter *n = realloc(c->filters, ncap * sizeof(walbus_filter));

		if (n == NULL)
			return walbus_fail(c, WALBUS_ENOMEM, "out of memory");
		c->filters = n;
		c->filters_cap = ncap;
	}
	f = &c->filters[c->nfilters];
	if ((f->bytes = malloc(len + 1)) == NULL)
		return walbus_fail(c, WALBUS_ENOMEM, "out of memory");
	memcpy(f->bytes, filter, len);
	f->bytes[len] = '\0';
	f->len = len;
	f->is_prefix = is_prefix;
	if ((rv = walbus_nng_filter(c, NNG_OPT_SUB_SUBSCRIBE, f->bytes, len,
								is_prefix)) != 0)
	{
		free(f->bytes);
		return walbus_fail(c, WALBUS_ENNG, "subscribe \"%s\": %s", filter,
						   nng_strerror(rv));
	}
	c->nfilters++;

	/* messages of the new topics may already be missing: observe afresh */
	wgc_reset(&c->gaps);
	return WALBUS_OK;
}

int
walbus_unsubscribe(walbus_client *c, const char *filter)
{
	size_t		len;
	bool		is_prefix;
	int			i;
	int			rv;

	if (filter == NULL)
		return walbus_fail(c, WALBUS_EINVAL, "unsubscribe: no filter");
	walbus_filter_parse(filter, &len, &is_prefix);
	if ((i = walbus_filter_find(c, filter, len, is_prefix)) < 0)
		return walbus_fail(c, WALBUS_EINVAL, "not subscribed to \"%s\"",
						   filter);
	if ((rv = walbus_nng_filter(c, NNG_OPT_SUB_UNSUBSCRIBE, c->filters[i].bytes,
								len, is_prefix)) != 0)
		return walbus_fail(c, WALBUS_ENNG, "unsubscribe \"%s\": %s", filter,
						   nng_strerror(rv));
	free(c->filters[i].bytes);
	c->filters[i] = c->filters[--c->nfilters];
	wgc_reset(&c->gaps);
	return WALBUS_OK;
}

int
walbus_subscribe_table(walbus_client *c, const char *schema, const char *table)
{
	char		topic[WBE_TABLE_TOPIC_MAX + 1];
	size_t		n;

	if (schema == NULL || table == NULL)
		return walbus_fail(c, WALBUS_EINVAL, "subscribe: no schema or table");
	n = wbe_topic_table(topic, sizeof(topic), schema, strlen(schema), table,
						strlen(table));
	if (n >= sizeof(topic))
		return walbus_fail(c, WALBUS_EINVAL, "subscribe: name too long");
	return walbus_subscribe(c, topic);
}

int
walbus_subscribe_schema(walbus_client *c, const char *schema)
{
	char		topic[WBE_TABLE_TOPIC_MAX + 2];
	size_t		n;

	if (schema == NULL)
		return walbus_fail(c, WALBUS_EINVAL, "subscribe: no schema");
	n = wbe_topic_schema(topic, sizeof(topic) - 1, schema, strlen(schema));
	if (n >= sizeof(topic) - 1)
		return walbus_fail(c, WALBUS_EINVAL, "subscribe: name too long");
	topic[n] = '*';
	topic[n + 1] = '\0';
	return walbus_subscribe(c, topic);
}

/*
 * Does a filter select this topic?  Filters that do not start with '_'
 * never select reserved topics, so "*" means every table.
 */
static bool
walbus_selected(const walbus_client *c, const char *topic, size_t len)
{
	bool		reserved = len > 0 && topic[0] == WBE_TOPIC_RESERVED;

	for (int i = 0; i < c->nfilters; i++)
	{
		const walbus_filter *f = &c->filters[i];
		bool		f_reserved = f->len > 0 &&
			f->bytes[0] == WBE_TOPIC_RESERVED;

		if (reserved != f_reserved)
			continue;
		if (f->is_prefix ? len >= f->len : len == f->len)
			if (memcmp(topic, f->bytes, f->len) == 0)
				return true;
	}
	return false;
}

/* What the sub socket lets through: "_" and the table filters. */
static bool
walbus_receives(void *arg, const char *topic, size_t len)
{
	const walbus_client *c = arg;

	if (len > 0 && topic[0] == WBE_TOPIC_RESERVED)
		return true;
	return walbus_selected(c, topic, len);
}

int
walbus_relay_status_get(walbus_client *c, walbus_relay_status *st)
{
	int			rc;

	if (!c->have_control)
		return walbus_fail(c, WALBUS_EINVAL,
						   "status needs the relay's control URL");
	if ((rc = wcc_status(&c->control, st)) != WALBUS_OK)
		return walbus_fail(c, rc, "%s", c->control.errmsg);
	return WALBUS_OK;
}

/* ---------------------------------------------------------------- receive */

int
walbus_recv_fd(walbus_client *c, int *fd)
{
	int			rv;

	if (!c->sub_open)
		return walbus_fail(c, WALBUS_EINVAL, "opened without a bus URL");
	if ((rv = nng_socket_get_int(c->sub, NNG_OPT_RECVFD, fd)) != 0)
		return walbus_fail(c, WALBUS_ENNG, "NNG_OPT_RECVFD: %s",
						   nng_strerror(rv));
	return WALBUS_OK;
}

static int64_t
walbus_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fill *out from the current envelope; resolve its table if we can. */
static int
walbus_fill(walbus_client *c, const wbe_envelope *env, walbus_change *out)
{
	int			rc = WALBUS_OK;

	memset(out, 0, sizeof(*out));
	out->kind = (walbus_kind) env->kind;
	out->topic = env->topic.ptr;	/* NUL-terminated by the separator */
	out->run = env->head.run;
	out->seq = env->head.seq;
	out->tseq = env->head.tseq;
	out->in_txn = env->in_txn;
	out->xid = env->txn.xid;
	out->commit_lsn = env->txn.commit_lsn;
	out->commit_time = env->txn.commit_time;
	out->pos = env->txn.pos;
	out->relid = env->relid;
	out->schema_version = env->schema_version;
	out->nvalues = env->nvalues;
	out->values = env->values;
	out->key = env->has_key ? &env->key : NULL;
	out->old_key = env->has_old_key ? &env->old_key : NULL;
	out->truncate_flags = env->truncate_flags;
	out->transactional = env->transactional;
	out->message_lsn = env->msg_lsn;
	out->prefix = env->prefix;
	out->content = env->content;
	out->end_lsn = env->end_lsn;
	out->nchanges = env->nchanges;
	out->time = env->hb.time;
	out->received_lsn = env->hb.received_lsn;
	out->flushed_lsn = env->hb.flushed_lsn;

	if (env->schema_version == 0 || !c->have_control)
		return WALBUS_OK;
	out->table = wcc_table(&c->control, env->relid, env->schema_version, &rc);
	if (out->table == NULL)
		return walbus_fail(c, rc, "%s", c->control.errmsg);
	if ((out->kind == WALBUS_INSERT || out->kind == WALBUS_UPDATE) &&
		out->table->ncolumns != env->nvalues)
	{
		walbus_fail(c, WALBUS_ESCHEMA,
					"change on %s has %u values for %u columns", out->topic,
					env->nvalues, out->table->ncolumns);
		out->table = NULL;
		return WALBUS_ESCHEMA;
	}
	if (out->key == NULL && out->table->key_index < env->nvalues)
		out->key = &env->values[out->table->key_index];
	return WALBUS_OK;
}

int
walbus_recv(walbus_client *c, walbus_change *out, int timeout_ms)
{
	int64_t		deadline = walbus_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);

	if (c->pending)
	{
		c->pending = false;
		*out = c->pending_change;
		return c->pending_rc;
	}
	if (!c->sub_open)
		return walbus_fail(c, WALBUS_EINVAL, "opened without a bus URL");
	for (;;)
	{
		wbe_envelope *env = &c->env;
		uint64_t	lost;
		bool		wanted;
		int			rv;
		int			rc;
		int			flags = 0;

		if (c->msg != NULL)
		{
			nng_msg_free(c->msg);
			c->msg = NULL;
		}
		if (timeout_ms == 0)
			flags = NNG_FLAG_NONBLOCK;
		else if (timeout_ms < 0)
			nng_socket_set_ms(c->sub, NNG_OPT_RECVTIMEO,
							  NNG_DURATION_INFINITE);
		else
		{
			int64_t		left = deadline - walbus_now_ms();

			if (left <= 0)
				return walbus_fail(c, WALBUS_ETIMEDOUT, "timed out");
			nng_socket_set_ms(c->sub, NNG_OPT_RECVTIMEO, (nng_duration) left);
		}
		rv = nng_recvmsg(c->sub, &c->msg, flags);
		if (rv == NNG_ETIMEDOUT || rv == NNG_EAGAIN)
			return walbus_fail(c, WALBUS_ETIMEDOUT, "timed out");
		if (rv != 0)
			return walbus_fail(c, WALBUS_ENNG, "nng_recvmsg: %s",
							   nng_strerror(rv));
		c->stats.received++;

		rc = wbe_decode(&c->dec, nng_msg_body(c->msg), nng_msg_len(c->msg),
						env);
		if (rc != WB_OK)
		{
			c->stats.malformed++;
			return walbus_fail(c, rc == WB_ENOMEM ? WALBUS_ENOMEM :
							   WALBUS_EPROTO,
							   "skipped a malformed bus message: %s",
							   wbe_dec_errmsg(&c->dec));
		}

		lost = wgc_check(&c->gaps, env, walbus_receives, c);
		wanted = walbus_selected(c, env->topic.ptr, env->topic.len);
		rc = WALBUS_OK;
		if (wanted)
			rc = walbus_fill(c, env, out);
		if (lost > 0)
		{
			c->stats.gaps++;
			c->stats.lost += lost;
			if (wanted)
			{
				c->pending = true;
				c->pending_rc = rc;
				c->pending_change = *out;
				c->stats.delivered++;
			}
			return walbus_fail(c, WALBUS_EGAP, "%s", c->gaps.msg);
		}
		if (wanted)
		{
			c->stats.delivered++;
			return rc;
		}
	}
}
