/*-------------------------------------------------------------------------
 *
 * client.c
 *	  libwalbus: sockets, subscriptions and walbus_recv (see
 *	  walbus_client.h for the contract).
 *
 * Every client's sub0 socket subscribes to everything and filters here.
 * nng filters at receive time, before the client has read what came
 * before: a table renamed in a transaction would have its next frames, on
 * the new topic, dropped by nng before the client learned of the rename
 * from the schema event just ahead of them.  Filtering here sees the event
 * first, so subscriptions follow renames exactly (below).  Frames of
 * unselected topics cost a receive each and are dropped by topic before
 * anything else (before loss detection, which therefore judges what it
 * judged when nng filtered).  Reserved topics are delivered only when a
 * filter names them, except the schema events of selected tables.
 *
 * Following.  A table is selected by name when its first frame arrives;
 * from then on the client follows its relid: a schema event that renames
 * or moves it adds its new topic to the filters (marked "followed"), and
 * after a relay restart, whose first event about a table carries no
 * previous name, the relid alone is enough.  A dropped table is forgotten.
 *
 * Frames.  A bus message is a frame of one or more changes (bus layout 2,
 * walbus_envelope.h); walbus_recv still returns one change per call.  The
 * client keeps a cursor: the frame being delivered and the index of its
 * next change, for frames from the bus and from replay pages alike.  A
 * frame is checked for losses once, when it is received (gapcheck.h), and
 * a loss is reported before its first change; its changes then follow
 * from the cursor.  The frame's message stays allocated until the call
 * after the one that returned its last change, which is what keeps the
 * pointers of a walbus_change valid until the next walbus_recv.
 *
 * Durable consumers (docs/DELIVERY.md) add three things.  Every
 * transactional change is keyed by (commit_lsn, pos), pos WBC_POS_COMMIT
 * for a commit frame on _txn; keys grow along the stream, so any change
 * whose key is not above the last key processed is a repeat (after a
 * rewind, a relay restart, or a frame that straddles the key a replay
 * started after) and is dropped.  On a proven gap, a new relay run, a
 * silent bus or at open, the client "pulls": it asks the control socket's
 * "replay" for the frames after its last key, delivers them through the
 * same cursor as bus frames, and when the relay says it has given
 * everything, goes back to the bus, skipping bus frames the pull already
 * covered (by run and seq).  Losses are found by the global seq: the
 * socket receives every frame of the bus, so seq must grow by exactly one,
 * and a frame is delivered only once every frame before it is accounted
 * for.  Per-topic proofs would not do: with a subscription to several
 * topics, a change of one topic could be delivered (and the last key
 * moved past it) before a lost change of another topic, earlier in the
 * same transaction, is proven lost by the commit; a pull after the last
 * key would then never bring it.  Frames of unsubscribed topics cost a
 * receive and a decode each, and are dropped.  Acks: walbus_ack moves the acked key; a
 * commit frame seen once every change delivered before it is acked makes
 * its end LSN the acked end; walbus_release moves a key the relay's window
 * may forget without counting as applied; all go to the relay at most
 * every WALBUS_ACK_EVERY_MS.
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

#include "control_client.h"
#include "gapcheck.h"
#include "js_source.h"
#include "mpread.h"
#include "nngclose.h"
#include "tlsdial.h"
#include "walbus_control.h"

/* the public name and the control protocol's of a commit's pos are one */
_Static_assert(WALBUS_POS_COMMIT == WBC_POS_COMMIT, "commit pos");
#include "walbus_envelope.h"
#include "walbus_backfill.h"
#include "walbus_schema.h"

#define WALBUS_DEFAULT_MAX_MESSAGE	(64 * 1024 * 1024)
#define WALBUS_DEFAULT_TIMEOUT_MS	5000

/* Durable consumers: ack cadence, replay retry pause, default silence. */
#define WALBUS_ACK_EVERY_MS			100
#define WALBUS_RETRY_MS				100
#define WALBUS_DEFAULT_SILENCE_MS	2000

/*
 * A pull whose last page still brought this many changes means the stream
 * is ahead of us: keep pulling (a page per round trip is cheaper than the
 * bus, which would overflow again) instead of going back to the bus.
 * Changes, not frames, because a page's number of frames says little.
 */
#define WALBUS_PULL_STAY			256

/*
 * Control requests made inside walbus_recv and walbus_ack wait at most
 * this (or what is left of walbus_recv's timeout, if longer), so that a
 * relay that is down or restarting does not hold a worker for the whole
 * control timeout; what did not get through is tried again later.
 */
#define WALBUS_QUICK_REQUEST_MS		250

typedef struct walbus_filter
{
	char	   *bytes;			/* topic, or prefix when is_prefix */
	size_t		len;
	bool		is_prefix;
	bool		followed;		/* added by following a renamed table */
} walbus_filter;

/*
 * The frame being delivered, from the bus or a replay page, and where its
 * next change is.  Commit and heartbeat frames count as one change.
 */
typedef struct walbus_cursor
{
	bool		active;			/* frame has changes not yet taken */
	bool		from_bus;		/* it points into msg, else into rep_msg */
	wbe_frame	frame;
	uint32_t	next;			/* index of the next change to take */
	uint32_t	count;			/* changes in the frame */
	bool		selected;		/* a filter selects its topic */
	bool		table_known;	/* table and table_rc hold the lookup */
	const walbus_table *table;	/* of relid and schema_version */
	int			table_rc;
	char		table_err[256]; /* the lookup's message when it failed */
} walbus_cursor;

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
	whm			followed;		/* relid -> (void *) 1: tables followed */

	/* the schema event of the change being taken, and its public form */
	bool		have_event;
	int			event_rc;		/* why not, when have_event is false */
	wbs_event	event;
	walbus_schema_event sev;
	walbus_schema_change *sev_changes;
	char	   *sev_strings;

	/* the backfill event of the change being taken */
	walbus_backfill_event bev;
	char		bev_strings[WBE_TABLE_TOPIC_MAX + 1 + 512];

	wjs		   *js;				/* a JetStream bus (js_source.h), else NULL */
	nng_aio    *recv_aio;		/* reused by every bus receive */
	nng_msg    *msg;			/* the bus frame cur points into */
	walbus_cursor cur;

	/* repeats: the last transactional key processed */
	bool		have_last;
	wbc_key	last;

	/* durable consumer */
	bool		durable;
	char	   *consumer;
	int			silence_ms;
	bool		have_delivered;
	wbc_key	delivered;		/* last change returned to the worker */
	wbc_key	acked;			/* last change the worker acked */
	bool		have_released;
	wbc_key	released;		/* the window may forget up to here */
	uint64_t	acked_end;		/* end LSN of the last whole txn acked */
	bool		have_pend;		/* a _txn end waits for the worker's ack */
	wbc_key	pend_delivered; /* of delivered when it was seen */
	wbc_key	pend_key;
	uint64_t	pend_end;
	bool		ack_dirty;
	int64_t		ack_sent_ms;
	int64_t		bus_heard_ms;	/* last bus message */
	bool		have_run;		/* run of the messages processed */
	uint64_t	run;
	bool		need_pull;
	bool		pulling;
	nng_msg    *rep_msg;		/* the replay response being consumed */
	wbc_replay	rep;
	uint32_t	rep_next;		/* its next frame */
	uint64_t	rep_changes;	/* changes in its frames so far */
	bool		have_seq;		/* every frame of run up to seq is */
	uint64_t	seq;			/* accounted for (received or pulled) */

	walbus_stats stats;
	char		errmsg[256];
};

static int	walbus_fail(walbus_client *c, int rc, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
static void walbus_event_drop(walbus_client *c);
static bool walbus_receives(void *arg, const char *topic, size_t len);

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

static int64_t walbus_now_ms(void);

/*
 * A durable consumer says hello (which checks that the relay knows its
 * name) and starts by pulling everything after its resume key.
 */
static int
walbus_open_durable(walbus_client *c, const walbus_options *opts,
					char *errbuf, size_t errlen)
{
	wbc_hello	h;
	wbc_key	acked_key;
	int			rc;

	if (opts->bus_url == NULL || opts->control_url == NULL)
	{
		snprintf(errbuf, errlen, "a durable consumer needs both the bus and "
				 "the control URL");
		return WALBUS_EINVAL;
	}
	if ((c->consumer = strdup(opts->consumer)) == NULL)
	{
		snprintf(errbuf, errlen, "out of memory");
		return WALBUS_ENOMEM;
	}
	if ((rc = wcc_hello(&c->control, c->consumer, &h)) != WALBUS_OK)
	{
		snprintf(errbuf, errlen, "%s", c->control.errmsg);
		return rc;
	}
	c->durable = true;
	c->silence_ms = opts->silence_ms > 0 ? opts->silence_ms :
		WALBUS_DEFAULT_SILENCE_MS;
	if (opts->resume_commit_lsn != 0 || opts->resume_pos != 0)
	{
		c->have_last = true;
		c->last.lsn = opts->resume_commit_lsn;
		c->last.pos = opts->resume_pos;
		c->acked = c->last;		/* the worker applied it: it is acked */
		c->ack_dirty = true;
	}
	else if (h.acked_lsn != 0 || h.acked_commit_lsn != 0)
	{
		/*
		 * No position of its own: start after what the relay knows it
		 * acknowledged: the last change, or else the last whole
		 * transaction (commits follow each other in the WAL, so a
		 * transaction committing at or after that end LSN has every key
		 * above (end, 0)).
		 */
		c->have_last = true;
		c->last.lsn = h.acked_lsn;
		c->last.pos = 0;
		acked_key.lsn = h.acked_commit_lsn;
		acked_key.pos = h.acked_pos;
		if (wbc_key_cmp(acked_key, c->last) > 0)
			c->last = acked_key;
		c->acked = c->last;
	}
	c->acked_end = h.acked_lsn;
	c->need_pull = true;
	c->bus_heard_ms = walbus_now_ms();
	return WALBUS_OK;
}

/*
 * A durable consumer on JetStream: JetStream keeps what the worker has not
 * acknowledged (js_source.h), so there is no hello and no pull; only the
 * worker's own position, when it gives one, drops what it applied.
 */
static void
walbus_open_js_durable(walbus_client *c, const walbus_options *opts)
{
	c->durable = true;
	if (opts->resume_commit_lsn != 0 || opts->resume_pos != 0)
	{
		c->have_last = true;
		c->last.lsn = opts->resume_commit_lsn;
		c->last.pos = opts->resume_pos;
		c->acked = c->last;
	}
}

int
walbus_open(walbus_client **out, const walbus_options *opts, char *errbuf,
			size_t errlen)
{
	walbus_client *c;
	size_t		maxsz;
	int			timeout;
	int			queue;
	int			rv;

	*out = NULL;
	if (opts == NULL || (opts->bus_url == NULL && opts->control_url == NULL))
	{
		snprintf(errbuf, errlen, "walbus_open: a bus or control URL is required");
		return WALBUS_EINVAL;
	}
	if (opts->recv_queue < 0 || opts->recv_queue > WALBUS_RECV_QUEUE_MAX)
	{
		snprintf(errbuf, errlen, "walbus_open: recv_queue %d is out of range: "
				 "nng queues at most %d frames per socket (0: the default, "
				 "%d)", opts->recv_queue, WALBUS_RECV_QUEUE_MAX,
				 WALBUS_RECV_QUEUE_DEFAULT);
		return WALBUS_EINVAL;
	}
	if ((c = calloc(1, sizeof(walbus_client))) == NULL)
	{
		snprintf(errbuf, errlen, "out of memory");
		return WALBUS_ENOMEM;
	}
	wbe_dec_init(&c->dec);
	wgc_init(&c->gaps);
	whm_init(&c->followed);
	whm_init(&c->control.tables);
	maxsz = opts->max_message_bytes ? opts->max_message_bytes :
		WALBUS_DEFAULT_MAX_MESSAGE;
	timeout = opts->control_timeout_ms > 0 ? opts->control_timeout_ms :
		WALBUS_DEFAULT_TIMEOUT_MS;
	/*
	 * nng's default queue (128) overflows on any burst while the caller is
	 * busy with a frame's changes
	 */
	queue = opts->recv_queue > 0 ? opts->recv_queue :
		WALBUS_RECV_QUEUE_DEFAULT;

	if (opts->bus_url == NULL)
		goto control;
	if (wjs_is_url(opts->bus_url))
	{
		if ((c->js = malloc(sizeof(wjs))) == NULL)
		{
			snprintf(errbuf, errlen, "out of memory");
			walbus_close(c);
			return WALBUS_ENOMEM;
		}
		if ((rv = wjs_open(c->js, opts, timeout, errbuf,
						   errlen)) != WALBUS_OK)
		{
			free(c->js);
			c->js = NULL;
			walbus_close(c);
			return rv;
		}
		goto control;
	}
	if ((rv = nng_sub0_open(&c->sub)) != 0)
	{
		snprintf(errbuf, errlen, "nng_sub0_open: %s", nng_strerror(rv));
		walbus_close(c);
		return WALBUS_ENNG;
	}
	c->sub_open = true;
	if ((rv = nng_aio_alloc(&c->recv_aio, NULL, NULL)) != 0)
	{
		snprintf(errbuf, errlen, "nng_aio_alloc: %s", nng_strerror(rv));
		walbus_close(c);
		return WALBUS_ENOMEM;
	}
	if ((rv = nng_socket_set_size(c->sub, NNG_OPT_RECVMAXSZ, maxsz)) != 0 ||
		(rv = nng_socket_set_int(c->sub, NNG_OPT_RECVBUF, queue)) != 0 ||
		(rv = nng_socket_set(c->sub, NNG_OPT_SUB_SUBSCRIBE, "", 0)) != 0)
	{
		snprintf(errbuf, errlen, "cannot set bus socket options: %s",
				 nng_strerror(rv));
		walbus_close(c);
		return WALBUS_ENNG;
	}
	if ((rv = wtd_dial(c->sub, opts->bus_url, "bus", opts, errbuf,
					   errlen)) != WALBUS_OK)
	{
		walbus_close(c);
		return rv;
	}
control:
	if (opts->control_url != NULL)
	{
		if ((rv = wcc_open(&c->control, opts->control_url, opts, timeout,
						   maxsz + 64 * 1024, errbuf, errlen)) != WALBUS_OK)
		{
			walbus_close(c);
			return rv;
		}
		c->have_control = true;
	}
	if (opts->consumer != NULL && c->js != NULL)
		walbus_open_js_durable(c, opts);
	else if (opts->consumer != NULL &&
			 (rv = walbus_open_durable(c, opts, errbuf, errlen)) != WALBUS_OK)
	{
		walbus_close(c);
		return rv;
	}
	*out = c;
	return WALBUS_OK;
}

void
walbus_close(walbus_client *c)
{
	nng_socket	socks[2];
	int			nsocks = 0;

	if (c == NULL)
		return;
	if (c->durable && c->ack_dirty)
		walbus_flush_acks(c);
	if (c->recv_aio != NULL)
		nng_aio_stop(c->recv_aio);
	if (c->js != NULL)
	{
		wjs_close(c->js);
		free(c->js);
	}
	/* both sockets in one bounded close: see nngclose.h */
	if (c->sub_open)
		socks[nsocks++] = c->sub;
	if (c->control.open)
		socks[nsocks++] = c->control.req;
	c->control.open = false;
	(void) wnc_close(socks, nsocks, WNC_DEFAULT_TIMEOUT_MS);
	if (c->recv_aio != NULL)
		nng_aio_free(c->recv_aio);
	if (c->msg != NULL)
		nng_msg_free(c->msg);
	if (c->rep_msg != NULL)
		nng_msg_free(c->rep_msg);
	free(c->rep.messages);
	free(c->consumer);
	wcc_close(&c->control);
	wbe_dec_free(&c->dec);
	wgc_free(&c->gaps);
	walbus_event_drop(c);
	whm_free(&c->followed, NULL);
	for (int i = 0; i < c->nfilters; i++)
		free(c->filters[i].bytes);
	free(c->filters);
	free(c);
}

/* --------------------------------------------------------- subscriptions */

static bool walbus_selected(const walbus_client *c, const char *topic,
							size_t len);

/*
 * After a (un)subscription: loss detection observes afresh when reset (the
 * caller's own subscriptions: what it judged before no longer holds), and
 * the rest of the frame being delivered follows the new filters.
 */
static void
walbus_filters_changed(walbus_client *c, bool reset)
{
	if (reset)
		wgc_reset(&c->gaps);
	if (c->cur.active)
		c->cur.selected = walbus_selected(c, c->cur.frame.topic.ptr,
										  c->cur.frame.topic.len);
}

/* Parse a filter: a trailing '*' makes it a prefix. */
static void
walbus_filter_parse(const char *filter, size_t *len, bool *is_prefix)
{
	*len = strlen(filter);
	*is_prefix = *len > 0 && filter[*len - 1] == '*';
	if (*is_prefix)
		(*len)--;
}

/* Append a filter of len bytes; WALBUS_ENOMEM (said) when out of memory. */
static int
walbus_filter_add(walbus_client *c, const char *bytes, size_t len,
				  bool is_prefix, bool followed)
{
	walbus_filter *f;

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
	memcpy(f->bytes, bytes, len);
	f->bytes[len] = '\0';
	f->len = len;
	f->is_prefix = is_prefix;
	f->followed = followed;
	c->nfilters++;
	return WALBUS_OK;
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

int
walbus_subscribe(walbus_client *c, const char *filter)
{
	size_t		len;
	bool		is_prefix;
	int			i;

	if (filter == NULL)
		return walbus_fail(c, WALBUS_EINVAL, "subscribe: no filter");
	if (!c->sub_open && c->js == NULL)
		return walbus_fail(c, WALBUS_EINVAL, "opened without a bus URL");
	walbus_filter_parse(filter, &len, &is_prefix);
	if (!is_prefix && len == 0)
		return walbus_fail(c, WALBUS_EINVAL,
						   "subscribe: empty topic (use \"*\" for all tables)");
	if ((i = walbus_filter_find(c, filter, len, is_prefix)) >= 0)
	{
		c->filters[i].followed = false;
		return WALBUS_OK;
	}
	if (walbus_filter_add(c, filter, len, is_prefix, false) != WALBUS_OK)
		return WALBUS_ENOMEM;
	walbus_filters_changed(c, true);
	return WALBUS_OK;
}

int
walbus_unsubscribe(walbus_client *c, const char *filter)
{
	size_t		len;
	bool		is_prefix;
	int			i;

	if (filter == NULL)
		return walbus_fail(c, WALBUS_EINVAL, "unsubscribe: no filter");
	walbus_filter_parse(filter, &len, &is_prefix);
	if ((i = walbus_filter_find(c, filter, len, is_prefix)) < 0)
		return walbus_fail(c, WALBUS_EINVAL, "not subscribed to \"%s\"",
						   filter);
	free(c->filters[i].bytes);
	c->filters[i] = c->filters[--c->nfilters];
	walbus_filters_changed(c, true);
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

/* ---------------------------------------------------------- following */

/* Values in c->followed (entries are never removed: a dropped table's
 * relid is marked forgotten). */
#define WALBUS_FOLLOWED		((void *) 1)
#define WALBUS_FORGOTTEN	((void *) 2)

static bool
walbus_follows(const walbus_client *c, uint32_t relid)
{
	return whm_get(&c->followed, &relid, sizeof(relid)) == WALBUS_FOLLOWED;
}

/*
 * Follow relid.  Out of memory, it is not remembered: the table is still
 * followed by topic, and only a relay restart followed by a rename could
 * lose it.
 */
static void
walbus_follow_relid(walbus_client *c, uint32_t relid)
{
	if (!walbus_follows(c, relid))
		(void) whm_put(&c->followed, &relid, sizeof(relid), WALBUS_FOLLOWED);
}

/*
 * Select topic too, for a followed table that now lives there.  Loss
 * detection is not reset: the socket received every frame all along.
 */
static int
walbus_follow_topic(walbus_client *c, wb_str topic)
{
	if (topic.len == 0 || walbus_selected(c, topic.ptr, topic.len))
		return WALBUS_OK;
	if (walbus_filter_add(c, topic.ptr, topic.len, false, true) != WALBUS_OK)
		return WALBUS_ENOMEM;
	walbus_filters_changed(c, false);
	return WALBUS_OK;
}

/* Drop the filter following added for topic, if any. */
static void
walbus_unfollow_topic(walbus_client *c, wb_str topic)
{
	for (int i = 0; i < c->nfilters; i++)
		if (c->filters[i].followed && !c->filters[i].is_prefix &&
			c->filters[i].len == topic.len &&
			memcmp(c->filters[i].bytes, topic.ptr, topic.len) == 0)
		{
			free(c->filters[i].bytes);
			c->filters[i] = c->filters[--c->nfilters];
			walbus_filters_changed(c, false);
			return;
		}
}

/*
 * Does the client look at this frame?  Reserved and selected topics, and
 * a frame of a followed table under a topic not selected yet: its schema
 * event was lost (the loss is reported on _schema), and following it by
 * relid keeps its changes coming.
 */
static bool
walbus_takes(walbus_client *c, const wbe_frame *fr)
{
	if (walbus_receives(c, fr->topic.ptr, fr->topic.len))
		return true;
	if (fr->kind != WBE_FRAME_CHANGES || fr->schema_version == 0 ||
		!walbus_follows(c, fr->relid))
		return false;
	return walbus_follow_topic(c, fr->topic) == WALBUS_OK;
}

/* Forget the schema event of the change last taken. */
static void
walbus_event_drop(walbus_client *c)
{
	if (c->have_event)
		wbs_event_free(&c->event);
	c->have_event = false;
	free(c->sev_changes);
	c->sev_changes = NULL;
	free(c->sev_strings);
	c->sev_strings = NULL;
}

/*
 * The schema event of change ch: decode it, say whether the caller wants
 * it (it subscribed to "_schema", or the event is about a table it
 * selects or follows) and follow the table it is about.  A malformed event
 * is wanted: walbus_fill reports it.
 */
static bool
walbus_schema_wanted(walbus_client *c, const wbe_change *ch)
{
	char		err[160];
	wbs_event  *ev = &c->event;
	bool		table_wanted;
	int			rc;

	walbus_event_drop(c);
	rc = wbs_decode_event(ch->content.ptr, ch->content.len, ev, err,
						  sizeof(err));
	if (rc != WB_OK)
	{
		/* out of memory: the change stays, and is decoded again */
		c->event_rc = walbus_fail(c, rc == WB_ENOMEM ? WALBUS_ENOMEM :
								  WALBUS_EPROTO, "%s schema event: %s",
								  rc == WB_ENOMEM ? "cannot keep a" :
								  "malformed", err);
		return true;
	}
	c->have_event = true;
	table_wanted = walbus_follows(c, ev->relid) ||
		walbus_selected(c, ev->topic.ptr, ev->topic.len) ||
		(ev->previous_topic.ptr != NULL &&
		 walbus_selected(c, ev->previous_topic.ptr, ev->previous_topic.len));
	if (table_wanted)
	{
		if (ev->kind == WBS_TABLE_DROPPED)
		{
			/* PostgreSQL may give its OID and name to another table later */
			if (walbus_follows(c, ev->relid))
				(void) whm_put(&c->followed, &ev->relid, sizeof(ev->relid),
							   WALBUS_FORGOTTEN);
			walbus_unfollow_topic(c, ev->topic);
		}
		else
		{
			walbus_follow_relid(c, ev->relid);
			if (ev->kind != WBS_TABLE_WITHDRAWN)
				walbus_follow_topic(c, ev->topic);
		}
	}
	return table_wanted ||
		walbus_selected(c, WBE_TOPIC_SCHEMA, strlen(WBE_TOPIC_SCHEMA));
}

/*
 * The backfill event of change ch, decoded into c->bev: wanted when the
 * caller subscribed to "_backfill" or selects (or follows) the table.
 * A malformed event is wanted: walbus_fill reports it.
 */
static bool
walbus_backfill_wanted(walbus_client *c, const wbe_change *ch)
{
	wbb_event	ev;
	char		err[160];
	size_t		tlen;
	size_t		rlen;

	memset(&c->bev, 0, sizeof(c->bev));
	if (wbb_decode_event(ch->content.ptr, ch->content.len, &ev, err,
						 sizeof(err)) != WB_OK)
	{
		c->event_rc = walbus_fail(c, WALBUS_EPROTO,
								  "malformed backfill event: %s", err);
		return true;
	}
	/* the strings, NUL-terminated, cut to what the arena holds */
	tlen = ev.topic.len < WBE_TABLE_TOPIC_MAX ? ev.topic.len :
		WBE_TABLE_TOPIC_MAX;
	rlen = ev.reason.len < 511 ? ev.reason.len : 511;
	memcpy(c->bev_strings, ev.topic.ptr, tlen);
	c->bev_strings[tlen] = '\0';
	c->bev.topic = c->bev_strings;
	if (ev.reason.ptr != NULL)
	{
		memcpy(c->bev_strings + tlen + 1, ev.reason.ptr, rlen);
		c->bev_strings[tlen + 1 + rlen] = '\0';
		c->bev.reason = c->bev_strings + tlen + 1;
	}
	c->bev.event = wbb_event_name(ev.kind);
	c->bev.backfill = ev.backfill;
	c->bev.relid = ev.relid;
	c->bev.rows = ev.rows;
	c->bev.chunks = ev.chunks;
	c->event_rc = WALBUS_OK;
	return walbus_follows(c, ev.relid) ||
		walbus_selected(c, ev.topic.ptr, ev.topic.len) ||
		walbus_selected(c, WBE_TOPIC_BACKFILL, strlen(WBE_TOPIC_BACKFILL));
}

/* A NUL-terminated copy of s in the arena at *cursor; NULL for none. */
static const char *
walbus_sev_put(char **cursor, wb_str s)
{
	char	   *p = *cursor;

	if (s.ptr == NULL)
		return NULL;
	memcpy(p, s.ptr, s.len);
	p[s.len] = '\0';
	*cursor += s.len + 1;
	return p;
}

/* The public form of c->event, valid until the next walbus_recv. */
static int
walbus_sev_build(walbus_client *c)
{
	const wbs_event *ev = &c->event;
	walbus_schema_event *sev = &c->sev;
	size_t		size = ev->topic.len + 1 + ev->previous_topic.len + 1 +
		ev->reason.len + 1;
	char	   *cursor;

	for (uint32_t i = 0; i < ev->nchanges; i++)
		size += ev->changes[i].from.len + 1 + ev->changes[i].to.len + 1;
	memset(sev, 0, sizeof(*sev));
	c->sev_strings = malloc(size);
	c->sev_changes = calloc(ev->nchanges ? ev->nchanges : 1,
							sizeof(walbus_schema_change));
	if (c->sev_strings == NULL || c->sev_changes == NULL)
		return walbus_fail(c, WALBUS_ENOMEM, "out of memory");
	cursor = c->sev_strings;
	sev->event = wbs_event_name(ev->kind);
	sev->relid = ev->relid;
	sev->topic = walbus_sev_put(&cursor, ev->topic);
	sev->previous_topic = walbus_sev_put(&cursor, ev->previous_topic);
	sev->reason = walbus_sev_put(&cursor, ev->reason);
	for (uint32_t i = 0; i < ev->nchanges; i++)
	{
		const wbs_change *from = &ev->changes[i];
		walbus_schema_change *to = &c->sev_changes[i];

		to->change = wbs_change_name(from->kind);
		to->attnum = from->attnum;
		to->from_attnum = from->from_attnum;
		to->from = walbus_sev_put(&cursor, from->from);
		to->to = walbus_sev_put(&cursor, from->to);
	}
	sev->nchanges = ev->nchanges;
	sev->changes = c->sev_changes;
	/* the definitions go to the table cache: changes after need no request */
	if (ev->has_table &&
		(sev->table = wcc_remember(&c->control, &ev->table)) == NULL)
		return walbus_fail(c, WALBUS_ENOMEM, "out of memory");
	if (ev->has_previous &&
		(sev->previous = wcc_remember(&c->control, &ev->previous)) == NULL)
		return walbus_fail(c, WALBUS_ENOMEM, "out of memory");
	return WALBUS_OK;
}

/*
 * What the client looks at: the reserved topics (they prove completeness)
 * and the selected ones.  The rest is dropped on arrival.
 */
static bool
walbus_receives(void *arg, const char *topic, size_t len)
{
	const walbus_client *c = arg;

	if (len > 0 && topic[0] == WBE_TOPIC_RESERVED)
		return true;
	return walbus_selected(c, topic, len);
}

int
walbus_backfill(walbus_client *c, const char *schema, const char *table,
				uint64_t *id)
{
	int			rc;

	if (schema == NULL || table == NULL)
		return walbus_fail(c, WALBUS_EINVAL, "backfill: no schema or table");
	if (!c->have_control)
		return walbus_fail(c, WALBUS_EINVAL,
						   "backfill needs the relay's control URL");
	if ((rc = wcc_backfill(&c->control, schema, table, id)) != WALBUS_OK)
		return walbus_fail(c, rc, "%s", c->control.errmsg);
	return WALBUS_OK;
}

int
walbus_relay_status_fetch(walbus_client *c, walbus_relay_status *st,
						  size_t size)
{
	int			rc;

	if (!c->have_control)
	{
		memset(st, 0, size);
		return walbus_fail(c, WALBUS_EINVAL,
						   "status needs the relay's control URL");
	}
	if ((rc = wcc_status(&c->control, st, size)) != WALBUS_OK)
		return walbus_fail(c, rc, "%s", c->control.errmsg);
	return WALBUS_OK;
}

/*
 * The symbol, for callers that do not see the header's macro: their struct
 * is at least 0.3's, which ended with control_refusals.
 */
int
(walbus_relay_status_get) (walbus_client *c, walbus_relay_status *st)
{
	return walbus_relay_status_fetch(c, st,
									 offsetof(walbus_relay_status,
											  control_refusals) +
									 sizeof(st->control_refusals));
}

int
walbus_relay_status_field(const walbus_client *c, size_t i,
						  const char **name, walbus_status_value *value)
{
	return wcc_status_field(&c->control, i, name, value);
}

/* ---------------------------------------------------------------- receive */

int
walbus_recv_fd(walbus_client *c, int *fd)
{
	int			rv;

	if (c->js != NULL)
		return walbus_fail(c, WALBUS_EINVAL,
						   "no descriptor to poll on a JetStream bus");
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

/*
 * The table of the cursor's frame, looked up once per frame.  A definitive
 * answer (found, or unknown to the relay) holds for all of its changes; a
 * failed request is tried again at the next change, as a relay that is
 * restarting may answer it.
 */
static const walbus_table *
walbus_frame_table(walbus_client *c, int *rc)
{
	walbus_cursor *cur = &c->cur;
	const walbus_table *t;

	if (cur->table_known)
	{
		*rc = cur->table_rc;
		if (*rc != WALBUS_OK)
			walbus_fail(c, *rc, "%s", cur->table_err);
		return cur->table;
	}
	t = wcc_table(&c->control, cur->frame.relid, cur->frame.schema_version,
				  rc);
	if (t == NULL)
		walbus_fail(c, *rc, "%s", c->control.errmsg);
	if (*rc == WALBUS_OK || *rc == WALBUS_ESCHEMA)
	{
		cur->table_known = true;
		cur->table = t;
		cur->table_rc = *rc;
		snprintf(cur->table_err, sizeof(cur->table_err), "%s", c->errmsg);
	}
	return t;
}

/*
 * Fill *out from the cursor's frame and one of its changes (ch NULL for a
 * commit or heartbeat frame); resolve its table if we can.
 */
static int
walbus_fill(walbus_client *c, const wbe_change *ch, walbus_change *out)
{
	const wbe_frame *fr = &c->cur.frame;
	int			rc = WALBUS_OK;

	memset(out, 0, sizeof(*out));
	out->topic = fr->topic.ptr;	/* NUL-terminated by the separator */
	out->run = fr->head.run;
	out->seq = fr->head.seq;
	out->tseq = fr->head.tseq;
	out->in_txn = fr->in_txn;
	out->xid = fr->txn.xid;
	out->commit_lsn = fr->txn.commit_lsn;
	out->commit_time = fr->txn.commit_time;
	switch (fr->kind)
	{
		case WBE_FRAME_CHANGES:
			out->kind = (walbus_kind) ch->kind;
			out->pos = ch->pos;
			if (ch->kind == WBE_SCHEMA)
			{
				out->relid = fr->relid;
				if (!c->have_event)
					return c->event_rc;	/* walbus_schema_wanted said why */
				if ((rc = walbus_sev_build(c)) != WALBUS_OK)
					return rc;
				out->schema_event = &c->sev;
				return WALBUS_OK;
			}
			if (ch->kind == WBE_BACKFILL)
			{
				out->relid = fr->relid;
				if (c->bev.event == NULL)
					return c->event_rc;
				out->backfill_event = &c->bev;
				return WALBUS_OK;
			}
			out->relid = fr->relid;
			out->schema_version = fr->schema_version;
			out->nvalues = ch->nvalues;
			out->values = ch->values;
			out->key = ch->has_key ? &ch->key : NULL;
			out->old_key = ch->has_old_key ? &ch->old_key : NULL;
			out->truncate_flags = ch->truncate_flags;
			out->transactional = fr->transactional;
			out->message_lsn = ch->msg_lsn;
			out->prefix = fr->prefix;
			out->content = ch->content;
			break;
		case WBE_FRAME_COMMIT:
			out->kind = WALBUS_COMMIT;
			out->pos = WALBUS_POS_COMMIT;
			out->end_lsn = fr->end_lsn;
			out->nchanges = fr->last_pos;
			break;
		case WBE_FRAME_HEARTBEAT:
			out->kind = WALBUS_HEARTBEAT;
			out->time = fr->hb.time;
			out->received_lsn = fr->hb.received_lsn;
			out->flushed_lsn = fr->hb.flushed_lsn;
			break;
	}

	if (fr->kind != WBE_FRAME_CHANGES || fr->schema_version == 0 ||
		!c->have_control)
		return WALBUS_OK;
	out->table = walbus_frame_table(c, &rc);
	if (out->table == NULL)
		return rc;
	if ((out->kind == WALBUS_INSERT || out->kind == WALBUS_UPDATE ||
		 out->kind == WALBUS_READ) &&
		out->table->ncolumns != ch->nvalues)
	{
		walbus_fail(c, WALBUS_ESCHEMA,
					"change on %s has %u values for %u columns", out->topic,
					ch->nvalues, out->table->ncolumns);
		out->table = NULL;
		return WALBUS_ESCHEMA;
	}
	if (out->key == NULL && out->table->key_index < ch->nvalues)
		out->key = &ch->values[out->table->key_index];
	return WALBUS_OK;
}

/* ------------------------------------------------------------------ acks */

static int
walbus_send_ack(walbus_client *c, bool quick)
{
	const wbc_key *release = NULL;
	int			rc;

	if (c->js != NULL)
	{
		/* JetStream keeps what is not acknowledged; the relay is not told */
		rc = wjs_ack(c->js, c->acked, !quick);
		c->ack_sent_ms = walbus_now_ms();
		if (rc != WALBUS_OK)
			return walbus_fail(c, rc, "%s", c->js->errmsg);
		c->stats.acks_sent++;
		c->ack_dirty = false;
		return WALBUS_OK;
	}
	/* a release at or below the ack says nothing the ack does not */
	if (c->have_released && wbc_key_cmp(c->released, c->acked) > 0)
		release = &c->released;
	if (quick)
		c->control.next_timeout_ms = WALBUS_QUICK_REQUEST_MS;
	rc = wcc_ack(&c->control, c->consumer, c->acked.lsn, c->acked.pos,
				 c->acked_end, release);
	c->ack_sent_ms = walbus_now_ms();
	if (rc != WALBUS_OK)
		return walbus_fail(c, rc, "%s", c->control.errmsg);
	c->stats.acks_sent++;
	c->ack_dirty = false;
	return WALBUS_OK;
}

/* Send the latest ack if one is due (or now, when force). */
static void
walbus_maybe_ack(walbus_client *c, bool force)
{
	if (c->durable && c->ack_dirty &&
		(force || walbus_now_ms() - c->ack_sent_ms >= WALBUS_ACK_EVERY_MS))
		walbus_send_ack(c, true);
}

int
walbus_flush_acks(walbus_client *c)
{
	if (!c->durable)
		return walbus_fail(c, WALBUS_EINVAL, "not a durable consumer");
	if (!c->ack_dirty)
		return WALBUS_OK;
	return walbus_send_ack(c, false);
}

/* Everything delivered is acked: the pending commit frame counts as acked. */
static void
walbus_settle(walbus_client *c)
{
	if (c->have_pend &&
		wbc_key_cmp(c->acked, c->pend_delivered) >= 0)
	{
		if (c->pend_end > c->acked_end)
			c->acked_end = c->pend_end;
		if (wbc_key_cmp(c->pend_key, c->acked) > 0)
			c->acked = c->pend_key;
		c->have_pend = false;
		c->ack_dirty = true;
	}
}

/* The key of a change returned by walbus_recv (it must be in_txn). */
static wbc_key
walbus_change_key(const walbus_change *ch)
{
	wbc_key		k;

	k.lsn = ch->commit_lsn;
	k.pos = ch->kind == WALBUS_COMMIT ? WBC_POS_COMMIT : ch->pos;
	return k;
}

int
walbus_ack(walbus_client *c, const walbus_change *ch)
{
	wbc_key		k;

	if (!c->durable)
		return walbus_fail(c, WALBUS_EINVAL,
						   "walbus_ack needs a durable consumer name");
	if (ch == NULL)
		return walbus_fail(c, WALBUS_EINVAL, "walbus_ack: no change");
	if (!ch->in_txn)
		return WALBUS_OK;		/* nothing to remember: never replayed */
	k = walbus_change_key(ch);
	if (wbc_key_cmp(k, c->acked) > 0)
	{
		c->acked = k;
		c->ack_dirty = true;
	}
	if (ch->kind == WALBUS_COMMIT && ch->end_lsn > c->acked_end)
	{
		c->acked_end = ch->end_lsn;
		c->ack_dirty = true;
	}
	walbus_settle(c);
	walbus_maybe_ack(c, false);
	return WALBUS_OK;
}

int
walbus_release(walbus_client *c, const walbus_change *ch)
{
	wbc_key		k;

	if (!c->durable)
		return walbus_fail(c, WALBUS_EINVAL,
						   "walbus_release needs a durable consumer name");
	if (ch == NULL)
		return walbus_fail(c, WALBUS_EINVAL, "walbus_release: no change");
	if (!ch->in_txn || c->js != NULL)
		return WALBUS_OK;		/* never in the window; JetStream has none */
	k = walbus_change_key(ch);
	if (!c->have_released || wbc_key_cmp(k, c->released) > 0)
	{
		c->have_released = true;
		c->released = k;
		if (wbc_key_cmp(k, c->acked) > 0)
			c->ack_dirty = true;
	}
	walbus_maybe_ack(c, false);
	return WALBUS_OK;
}

/* ---------------------------------------------------------------- receive */

/*
 * Make the frame just decoded into c->cur.frame the one to deliver from.
 * from_bus: it points into c->msg (else into the replay page).
 */
static void
walbus_cursor_load(walbus_client *c, bool from_bus)
{
	walbus_cursor *cur = &c->cur;

	cur->active = true;
	cur->from_bus = from_bus;
	cur->next = 0;
	cur->count = cur->frame.kind == WBE_FRAME_CHANGES ?
		cur->frame.nchanges : 1;
	cur->selected = walbus_selected(c, cur->frame.topic.ptr,
									cur->frame.topic.len);
	if (cur->selected && cur->frame.kind == WBE_FRAME_CHANGES &&
		cur->frame.schema_version != 0)
		walbus_follow_relid(c, cur->frame.relid);
	cur->table_known = false;
	cur->table = NULL;
}

/* The cursor's frame is used up: release what it points into. */
static void
walbus_cursor_done(walbus_client *c)
{
	if (c->cur.from_bus)
	{
		/* busy with bus data is not silence */
		c->bus_heard_ms = walbus_now_ms();
		if (c->js != NULL)
		{
			/* acknowledged to JetStream once the worker's ack covers this */
			wjs_done(c->js, c->have_delivered, c->delivered);
			c->ack_dirty = c->durable;
		}
	}
	c->cur.active = false;
	if (c->msg != NULL)
	{
		nng_msg_free(c->msg);
		c->msg = NULL;
	}
}

/*
 * The next change of the cursor's frame: drop repeats by key, keep the ack
 * bookkeeping, and fill *out when the caller subscribed to the frame's
 * topic.  Returns true when *out is to be delivered (*rc says how), false
 * when the frame has nothing more to deliver.
 */
static bool
walbus_take(walbus_client *c, walbus_change *out, int *rc)
{
	walbus_cursor *cur = &c->cur;
	const wbe_frame *fr = &cur->frame;

	*rc = WALBUS_OK;
	while (cur->next < cur->count)
	{
		const wbe_change *ch = fr->kind == WBE_FRAME_CHANGES ?
			&fr->changes[cur->next] : NULL;
		wbc_key		k = {0, 0};
		bool		selected;

		if (fr->in_txn)
		{
			k.lsn = fr->txn.commit_lsn;
			k.pos = ch != NULL ? ch->pos : WBC_POS_COMMIT;
			if (c->have_last && wbc_key_cmp(k, c->last) <= 0)
			{
				cur->next++;
				c->stats.duplicates++;
				continue;
			}
		}
		selected = cur->selected;
		if (ch != NULL && ch->kind == WBE_SCHEMA)
			selected = walbus_schema_wanted(c, ch);
		else if (ch != NULL && ch->kind == WBE_BACKFILL)
			selected = walbus_backfill_wanted(c, ch);
		if (selected)
		{
			*rc = walbus_fill(c, ch, out);

			/*
			 * The table could not be looked up for now (the relay is
			 * restarting, a timeout): nothing moves, so the next call
			 * returns this change again instead of skipping it.
			 */
			if (*rc != WALBUS_OK && *rc != WALBUS_ESCHEMA &&
				*rc != WALBUS_EPROTO)
				return true;
		}
		cur->next++;
		if (fr->in_txn)
		{
			c->have_last = true;
			c->last = k;
			if (c->durable && fr->kind == WBE_FRAME_COMMIT)
			{
				/* its end counts once the worker acked all delivered before */
				c->have_pend = true;
				c->pend_key = k;
				c->pend_end = fr->end_lsn;
				if (c->have_delivered)
					c->pend_delivered = c->delivered;
				else
					memset(&c->pend_delivered, 0, sizeof(c->pend_delivered));
				walbus_settle(c);
			}
		}
		if (!selected)
			continue;
		if (fr->in_txn && c->durable)
		{
			c->have_delivered = true;
			c->delivered = c->last;
		}
		c->stats.delivered++;
		return true;
	}
	return false;
}

/*
 * What a pull asks the replay for: every topic (the empty prefix), filtered
 * here like the bus.  Asking for the selected topics only would miss the
 * frames of a table renamed inside a page: its new topic is selected only
 * once the page's schema event about it has been taken.
 */
static uint32_t
walbus_prefixes(wb_str *out)
{
	out[0].ptr = "";
	out[0].len = 0;
	return 1;
}

/* Frames of relay run now follow: a new run restarts the counters. */
static void
walbus_enter_run(walbus_client *c, uint64_t run)
{
	if (!c->have_run || c->run != run)
	{
		wgc_reset(&c->gaps);
		c->have_run = true;
		c->run = run;
	}
}

static void
walbus_pull_drop(walbus_client *c)
{
	if (c->rep_msg != NULL)
		nng_msg_free(c->rep_msg);
	c->rep_msg = NULL;
	free(c->rep.messages);
	memset(&c->rep, 0, sizeof(c->rep));
	c->rep_next = 0;
	c->rep_changes = 0;
}

static void
walbus_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/*
 * Pull mode: take frames from the relay's replay window until it says
 * there is nothing newer.  Returns WALBUS_OK with *got set when the next
 * frame is in the cursor, WALBUS_OK without it when the pull is over, or
 * WALBUS_ETIMEDOUT when the deadline passed (the pull goes on at the next
 * call).  A relay that cannot be reached, or that is rewinding, is retried.
 * The caller takes every change of a frame before calling again: the
 * frame points into the page, which the next request replaces.
 */
static int
walbus_pull(walbus_client *c, int timeout_ms, int64_t deadline, bool *got)
{
	*got = false;
	for (;;)
	{
		if (c->rep_msg != NULL && c->rep_next < c->rep.nmessages)
		{
			wb_str		m = c->rep.messages[c->rep_next];
			wbe_frame  *fr = &c->cur.frame;
			int			rc;

			rc = wbe_decode(&c->dec, m.ptr, m.len, fr);
			if (rc == WB_ENOMEM)
			{
				/* skipping it would lose its changes: try it again later */
				return walbus_fail(c, WALBUS_ENOMEM, "%s",
								   wbe_dec_errmsg(&c->dec));
			}
			c->rep_next++;
			c->stats.replayed++;
			if (rc != WB_OK)
			{
				/* said, as on the bus; the next call goes on with the page */
				c->stats.malformed++;
				return walbus_fail(c, WALBUS_EPROTO,
								   "skipped a malformed frame of a replay: %s",
								   wbe_dec_errmsg(&c->dec));
			}
			/* the relay gives every frame after our key: no gap here */
			walbus_enter_run(c, fr->head.run);
			c->rep_changes += fr->kind == WBE_FRAME_CHANGES ?
				fr->nchanges : 1;
			walbus_cursor_load(c, false);
			*got = true;
			return WALBUS_OK;
		}
		if (c->rep_msg != NULL && c->rep.end &&
			c->rep_changes < WALBUS_PULL_STAY)
		{
			/* caught up: back to the bus, past what the pull covered */
			c->pulling = false;
			walbus_enter_run(c, c->rep.run);
			c->have_seq = true;
			c->seq = c->rep.last_seq;
			walbus_pull_drop(c);
			c->bus_heard_ms = walbus_now_ms();
			return WALBUS_OK;
		}
		walbus_pull_drop(c);
		{
			wb_str		prefixes[WBC_MAX_PREFIXES];
			uint32_t	n = walbus_prefixes(prefixes);
			wbc_key		after = c->have_last ? c->last : (wbc_key) {0, 0};
			int			rc;

			walbus_maybe_ack(c, false);
			c->stats.replays++;
			if (timeout_ms >= 0)
			{
				int64_t		left = deadline - walbus_now_ms();

				c->control.next_timeout_ms = (int)
					(left > WALBUS_QUICK_REQUEST_MS ? left :
					 WALBUS_QUICK_REQUEST_MS);
			}
			rc = wcc_replay(&c->control, c->consumer, after.lsn, after.pos,
							prefixes, n, &c->rep_msg, &c->rep);
			if (rc == WALBUS_OK && mpr_str_eq(c->rep.status, WBC_REPLAY_DATA))
			{
				c->rep_next = 0;
				c->rep_changes = 0;
				continue;
			}
			if (rc == WALBUS_EINVAL)
				return walbus_fail(c, rc, "%s", c->control.errmsg);
			walbus_pull_drop(c);
			/* rewinding, or unreachable: wait a little and ask again */
			if (timeout_ms == 0 || (timeout_ms > 0 &&
									walbus_now_ms() + WALBUS_RETRY_MS >
									deadline))
				return walbus_fail(c, WALBUS_ETIMEDOUT, "timed out (%s)",
								   rc == WALBUS_OK ? "relay is rewinding" :
								   c->control.errmsg);
			walbus_sleep_ms(WALBUS_RETRY_MS);
		}
	}
}

/*
 * Wait for the next bus frame and decode it into the cursor's frame (not
 * yet loaded).  Returns WALBUS_OK with *got set when a frame arrived,
 * WALBUS_OK without it when the caller should look again (an ack or a
 * silence check was due), or WALBUS_ETIMEDOUT, WALBUS_EPROTO (a malformed
 * frame was skipped) or an error.
 */
static int
walbus_bus_frame(walbus_client *c, int timeout_ms, int64_t deadline,
				 bool *got)
{
	int64_t		now = walbus_now_ms();
	int64_t		wait;
	int			rv;

	*got = false;
	wait = timeout_ms < 0 ? -1 : deadline - now;
	if (timeout_ms >= 0 && wait < 0)
		wait = 0;
	if (c->durable)
	{
		int64_t		silent_left = c->bus_heard_ms + c->silence_ms - now;

		walbus_maybe_ack(c, false);
		if (silent_left <= 0)
		{
			/* nothing for a while: ask the relay what we missed */
			c->need_pull = true;
			c->bus_heard_ms = now;
			return WALBUS_OK;
		}
		if (wait < 0 || silent_left < wait)
			wait = silent_left;
		if (c->ack_dirty && wait > WALBUS_ACK_EVERY_MS)
			wait = WALBUS_ACK_EVERY_MS;
	}
	/*
	 * One aio for every receive: nng_recvmsg would allocate (and seed from
	 * getrandom) an aio per call, and the socket-level timeout option takes
	 * the socket lock on every frame.
	 */
	if (timeout_ms == 0 && !c->durable)
		wait = 0;
	nng_aio_set_timeout(c->recv_aio, wait < 0 ? NNG_DURATION_INFINITE :
						wait == 0 ? NNG_DURATION_ZERO :
						(nng_duration) wait);
	nng_recv_aio(c->sub, c->recv_aio);
	nng_aio_wait(c->recv_aio);
	rv = nng_aio_result(c->recv_aio);
	if (rv == NNG_ETIMEDOUT || rv == NNG_EAGAIN)
	{
		if (c->durable && (timeout_ms < 0 || walbus_now_ms() < deadline))
			return WALBUS_OK;	/* an ack or a silence check was due */
		return walbus_fail(c, WALBUS_ETIMEDOUT, "timed out");
	}
	if (rv != 0)
		return walbus_fail(c, WALBUS_ENNG, "nng_recvmsg: %s",
						   nng_strerror(rv));
	c->msg = nng_aio_get_msg(c->recv_aio);
	c->stats.received++;

	rv = wbe_decode(&c->dec, nng_msg_body(c->msg), nng_msg_len(c->msg),
					&c->cur.frame);
	if (rv != WB_OK)
	{
		nng_msg_free(c->msg);
		c->msg = NULL;
		c->stats.malformed++;
		return walbus_fail(c, rv == WB_ENOMEM ? WALBUS_ENOMEM :
						   WALBUS_EPROTO,
						   "skipped a malformed bus frame: %s",
						   wbe_dec_errmsg(&c->dec));
	}
	*got = true;
	return WALBUS_OK;
}

/*
 * The next frame from JetStream, decoded into the cursor's frame (not yet
 * loaded); the same results as walbus_bus_frame.  A malformed frame is
 * used up at once (and, for a durable consumer, acknowledged in its turn).
 */
static int
walbus_js_frame(walbus_client *c, int timeout_ms, int64_t deadline,
				bool *got)
{
	int64_t		wait = timeout_ms < 0 ? -1 : deadline - walbus_now_ms();
	const void *body;
	size_t		len;
	int			rc;

	*got = false;
	if (timeout_ms >= 0 && wait < 0)
		wait = 0;
	if (c->durable)
	{
		walbus_maybe_ack(c, false);
		if (c->ack_dirty && (wait < 0 || wait > WALBUS_ACK_EVERY_MS))
			wait = WALBUS_ACK_EVERY_MS;
	}
	rc = wjs_next(c->js, (int) wait, &body, &len);
	if (rc == WALBUS_ETIMEDOUT)
	{
		if (timeout_ms < 0 || walbus_now_ms() < deadline)
			return WALBUS_OK;	/* an ack was due */
		return walbus_fail(c, WALBUS_ETIMEDOUT, "timed out");
	}
	if (rc != WALBUS_OK)
		return walbus_fail(c, rc, "%s", c->js->errmsg);
	c->stats.received++;
	rc = wbe_decode(&c->dec, body, len, &c->cur.frame);
	if (rc != WB_OK)
	{
		wjs_done(c->js, c->have_delivered, c->delivered);
		c->stats.malformed++;
		return walbus_fail(c, rc == WB_ENOMEM ? WALBUS_ENOMEM :
						   WALBUS_EPROTO,
						   "skipped a malformed JetStream frame: %s",
						   wbe_dec_errmsg(&c->dec));
	}
	*got = true;
	return WALBUS_OK;
}

/* A bus frame received but not to be delivered. */
static void
walbus_bus_frame_drop(walbus_client *c)
{
	nng_msg_free(c->msg);
	c->msg = NULL;
}

int
walbus_recv(walbus_client *c, walbus_change *out, int timeout_ms)
{
	int64_t		deadline = 0;
	bool		have_deadline = false;

	if (!c->sub_open && c->js == NULL)
		return walbus_fail(c, WALBUS_EINVAL, "opened without a bus URL");
	for (;;)
	{
		const wbe_frame *fr = &c->cur.frame;
		uint64_t	lost;
		bool		got;
		int			rc;

		/* the rest of the frame being delivered comes first */
		if (c->cur.active)
		{
			if (walbus_take(c, out, &rc))
				return rc;
			walbus_cursor_done(c);
		}

		/*
		 * The clock is read only once a frame is used up: most calls
		 * return the next change of a frame and need no deadline.
		 */
		if (!have_deadline)
		{
			deadline = walbus_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
			have_deadline = true;
		}

		if (c->durable && (c->need_pull || c->pulling))
		{
			if (!c->pulling)
			{
				c->pulling = true;
				c->need_pull = false;
				walbus_pull_drop(c);
			}
			rc = walbus_pull(c, timeout_ms, deadline, &got);
			if (rc != WALBUS_OK)
				return rc;
			continue;			/* its frame is in the cursor, or it ended */
		}

		if (c->js != NULL)
		{
			/* JetStream: no losses, no pulls; repeats are dropped by key */
			rc = walbus_js_frame(c, timeout_ms, deadline, &got);
			if (rc != WALBUS_OK)
				return rc;
			if (got && walbus_takes(c, fr))
				walbus_cursor_load(c, true);
			else if (got)
			{
				/* counted; not asked for: used up at once */
				wjs_done(c->js, c->have_delivered, c->delivered);
				c->ack_dirty = c->durable;
			}
			continue;
		}

		rc = walbus_bus_frame(c, timeout_ms, deadline, &got);
		if (rc != WALBUS_OK)
			return rc;
		if (!got)
			continue;

		if (c->durable)
		{
			c->bus_heard_ms = walbus_now_ms();
			if (!c->have_run || fr->head.run != c->run || !c->have_seq)
			{
				/*
				 * A new relay process: what did it publish before we heard
				 * it?  The pull gives that, and this frame again.
				 */
				c->need_pull = true;
				walbus_bus_frame_drop(c);
				continue;
			}
			if (fr->head.seq <= c->seq)
			{
				/*
				 * The last pull covered it.  Transactional frames came in
				 * its pages; heartbeats and non-transactional messages
				 * never do (the window does not keep them), and a bus
				 * frame arrives once, so those are still news.
				 */
				if (fr->in_txn ||
					!walbus_takes(c, fr))
					walbus_bus_frame_drop(c);
				else
					walbus_cursor_load(c, true);
				continue;
			}
			if (fr->head.seq > c->seq + 1)
			{
				/* frames were lost: fetch them, and this one again */
				c->stats.gaps++;
				c->stats.lost += fr->head.seq - c->seq - 1;
				c->need_pull = true;
				walbus_bus_frame_drop(c);
				continue;
			}
			c->seq = fr->head.seq;
			if (!walbus_takes(c, fr))
			{
				walbus_bus_frame_drop(c);	/* counted; not asked for */
				continue;
			}
			walbus_cursor_load(c, true);
			continue;
		}

		if (!walbus_takes(c, fr))
		{
			walbus_bus_frame_drop(c);	/* counted; not asked for */
			continue;
		}
		lost = wgc_check(&c->gaps, fr, walbus_receives, c);
		if (lost > 0)
		{
			c->stats.gaps++;
			c->stats.lost += lost;
		}
		walbus_cursor_load(c, true);
		if (lost > 0)
			return walbus_fail(c, WALBUS_EGAP, "%s", c->gaps.msg);
	}
}
