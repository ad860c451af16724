/*-------------------------------------------------------------------------
 *
 * jetstream.c
 *	  Frames to NATS JetStream, acknowledged before the slot advances
 *	  (see jetstream.h).
 *
 *-------------------------------------------------------------------------
 */
#include "jetstream.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "walbus_envelope.h"

#define WR_JS_SUBJECT_ROOT		"walbus."
#define WR_JS_SUBJECTS			"walbus.>"
#define WR_JS_EXPECT_HEADER		"Nats-Expected-Last-Msg-Id"
/* How long a resync's look at the stream's last message may take. */
#define WR_JS_RESYNC_WAIT_MS	1000
/* JetStream's "wrong last msg ID" (JSStreamWrongLastMsgIDErr) */
#define WR_JS_ERR_WRONG_LAST_ID 10070

/* How long connecting and JetStream API requests may take at start. */
#define WR_JS_CONNECT_MS		5000
/* nats.c reconnects by itself; this often while a server is away. */
#define WR_JS_RECONNECT_WAIT_MS 500
/*
 * What nats.c buffers while reconnecting.  The ring (every frame until
 * acknowledged) is the relay's buffer, so nats.c's is kept small: a publish
 * beyond it is refused, and the frame published again from the ring.
 */
#define WR_JS_RECONNECT_BUF		(64 * 1024)

static int64_t
wr_js_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- subjects */

/*
 * Bytes NATS does not allow inside a token ('.', whitespace), the
 * wildcards, '%' itself (so that escaping is reversible), and control
 * bytes.  UTF-8 passes as it is.
 */
static bool
wr_js_escaped(unsigned char c)
{
	return c <= 0x20 || c == 0x7f || c == '.' || c == '*' || c == '>' ||
		c == '%';
}

typedef struct wr_js_out
{
	char  *dst;
	size_t cap;
	size_t len;
} wr_js_out;

static void
wr_js_putc(wr_js_out *o, char c)
{
	if (o->len + 1 < o->cap)
		o->dst[o->len] = c;
	o->len++;
}

static void
wr_js_puts(wr_js_out *o, const char *s)
{
	while (*s)
		wr_js_putc(o, *s++);
}

/*
 * One token from name[0..len); quoted: the name is in SQL double quotes
 * (doubled inside).  An empty name is a lone '%', which escaping never
 * produces; lead_underscore escapes a leading '_' so that no table's
 * schema token looks like a reserved topic.
 */
static void
wr_js_token(wr_js_out *o, const char *name, size_t len, bool quoted,
			bool lead_underscore)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t			  n = 0;

	if (quoted)
	{
		name++;
		len -= 2;
	}
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) name[i];

		if (quoted && c == '"')
			i++; /* "" is one quote */
		if (wr_js_escaped(c) || (n == 0 && c == '_' && lead_underscore))
		{
			wr_js_putc(o, '%');
			wr_js_putc(o, hex[c >> 4]);
			wr_js_putc(o, hex[c & 15]);
		}
		else
			wr_js_putc(o, (char) c);
		n++;
	}
	if (n == 0)
		wr_js_putc(o, '%');
}

/* Length of the name at s (quoted or not) up to the separating '.'. */
static size_t
wr_js_name_len(const char *s, size_t len, bool *quoted)
{
	size_t i;

	*quoted = len > 0 && s[0] == '"';
	if (!*quoted)
	{
		for (i = 0; i < len && s[i] != '.'; i++)
			;
		return i;
	}
	for (i = 1; i < len; i++)
	{
		if (s[i] != '"')
			continue;
		if (i + 1 < len && s[i + 1] == '"')
		{
			i++;
			continue;
		}
		return i + 1;
	}
	return 0; /* unterminated */
}

size_t
wr_js_subject(char *dst, size_t cap, const char *topic, size_t len)
{
	wr_js_out o = {dst, cap, 0};
	size_t	  mlen = strlen(WBE_TOPIC_MSG_PREFIX);

	wr_js_puts(&o, WR_JS_SUBJECT_ROOT);
	if (len >= mlen && memcmp(topic, WBE_TOPIC_MSG_PREFIX, mlen) == 0)
	{
		wr_js_puts(&o, WBE_TOPIC_MSG_PREFIX);
		wr_js_token(&o, topic + mlen, len - mlen, false, false);
	}
	else if (len > 0 && topic[0] == WBE_TOPIC_RESERVED)
		wr_js_token(&o, topic, len, false, false);
	else
	{
		bool   quoted;
		size_t s = wr_js_name_len(topic, len, &quoted);

		if (s == 0 || s >= len || topic[s] != '.')
			return 0;
		wr_js_token(&o, topic, s, quoted, true);
		wr_js_putc(&o, '.');
		topic += s + 1;
		len -= s + 1;
		s = wr_js_name_len(topic, len, &quoted);
		if (s != len || (quoted && s < 2))
			return 0;
		wr_js_token(&o, topic, s, quoted, false);
	}
	if (cap > 0)
		dst[o.len < cap ? o.len : cap - 1] = '\0';
	return o.len;
}

/* ---------------------------------------------------- the ack handler */

/*
 * On a nats.c thread: hand the result to the loop, nothing else.  The
 * message stays alive (ours) until the loop destroys or republishes it.
 */
static void
wr_js_on_ack(jsCtx *ctx, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae,
			 void *closure)
{
	wr_js		*js = closure;
	wr_js_result res = {msg, NATS_OK, 0, false};
	bool		 was_empty;

	(void) ctx;
	if (pa != NULL)
		res.duplicate = pa->Duplicate;
	else if (pae != NULL)
	{
		res.err = pae->Err != NATS_OK ? pae->Err : NATS_ERR;
		res.errcode = pae->ErrCode;
	}
	else
		res.err = NATS_ERR;

	pthread_mutex_lock(&js->mu);
	if (js->nresults == js->results_cap)
	{
		size_t		  ncap = js->results_cap ? js->results_cap * 2 : 64;
		wr_js_result *n = realloc(js->results, ncap * sizeof(*n));

		if (n == NULL)
		{
			/*
			 * Out of memory: the message is lost to us, so its entry
			 * stays in flight and the slot stops there; the relay must be
			 * restarted, which publishes it again.
			 */
			pthread_mutex_unlock(&js->mu);
			natsMsg_Destroy(msg);
			return;
		}
		js->results = n;
		js->results_cap = ncap;
	}
	was_empty = js->nresults == 0;
	js->results[js->nresults++] = res;
	pthread_mutex_unlock(&js->mu);
	if (was_empty)
	{
		ssize_t rc = write(js->wake[1], "", 1);

		(void) rc; /* full pipe: a wake-up is pending anyway */
	}
}

/* ------------------------------------------------------------ opening */

static int
wr_js_fail(char *errbuf, size_t errlen, const char *what, natsStatus s,
		   jsErrCode jerr)
{
	const char *last = nats_GetLastError(NULL);

	snprintf(errbuf, errlen, "JetStream: %s: %s%s%s (error code %d)", what,
			 natsStatus_GetText(s), last != NULL ? ": " : "",
			 last != NULL ? last : "", (int) jerr);
	return -1;
}

/*
 * Use the stream if it takes walbus.>, else create it: file storage (it
 * must survive the server's restart, as the slot has moved past it) and a
 * duplicate window long enough to cover a relay's restart.
 */
static int
wr_js_ensure_stream(wr_js *js, char *errbuf, size_t errlen)
{
	jsStreamInfo  *si = NULL;
	jsErrCode	   jerr = 0;
	natsStatus	   s;
	jsStreamConfig sc;
	const char	  *subjects[] = {WR_JS_SUBJECTS};
	bool		   ok = false;

	s = js_GetStreamInfo(&si, js->ctx, js->stream, NULL, &jerr);
	if (s == NATS_OK)
	{
		for (int i = 0; i < si->Config->SubjectsLen; i++)
			if (strcmp(si->Config->Subjects[i], WR_JS_SUBJECTS) == 0 ||
				strcmp(si->Config->Subjects[i], ">") == 0)
				ok = true;
		if (!ok)
			snprintf(errbuf, errlen,
					 "JetStream: stream \"%s\" exists but "
					 "does not take the subjects %s: add them to it "
					 "(nats stream edit) or name another stream with "
					 "jetstream_stream",
					 js->stream, WR_JS_SUBJECTS);
		else if (si->Config->Duplicates == 0)
			wr_warning("JetStream stream \"%s\" has no duplicate window: "
					   "frames a restarted relay publishes again are stored "
					   "twice",
					   js->stream);
		else
			wr_info("JetStream stream \"%s\" exists (%" PRIu64 " messages, "
					"%" PRId64 " replicas)",
					js->stream, si->State.Msgs, si->Config->Replicas);
		/* the relay never edits a stream: only says it differs */
		if (ok && si->Config->Replicas != js->replicas)
			wr_warning("JetStream stream \"%s\" has %" PRId64 " replicas, "
					   "jetstream_replicas is %d: it is used as it is (nats "
					   "stream edit changes it)",
					   js->stream, si->Config->Replicas, js->replicas);
		jsStreamInfo_Destroy(si);
		return ok ? 0 : -1;
	}
	if (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr)
		return wr_js_fail(errbuf, errlen, "cannot look up the stream", s,
						  jerr);

	jsStreamConfig_Init(&sc);
	sc.Name = js->stream;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	sc.Duplicates = (int64_t) WR_JS_DUPLICATE_WINDOW_S * 1000000000;
	sc.Replicas = js->replicas;
	s = js_AddStream(&si, js->ctx, &sc, NULL, &jerr);
	if (s != NATS_OK)
		return wr_js_fail(errbuf, errlen, "cannot create the stream", s, jerr);
	wr_info("created JetStream stream \"%s\" (subjects %s, file storage, "
			"duplicate window %d s, %d replicas)",
			js->stream, WR_JS_SUBJECTS, WR_JS_DUPLICATE_WINDOW_S,
			js->replicas);
	jsStreamInfo_Destroy(si);
	return 0;
}

int
wr_js_open(wr_js *js, const wr_config *cfg, char *errbuf, size_t errlen)
{
	natsOptions *opts = NULL;
	jsOptions	 jo;
	natsStatus	 s;
	int			 rc = -1;

	memset(js, 0, sizeof(*js));
	js->wake[0] = js->wake[1] = -1;
	if (cfg->njetstream == 0)
		return 0;
	js->enabled = true;
	js->stream = cfg->jetstream_stream;
	js->replicas = cfg->jetstream_replicas;
	if (pthread_mutex_init(&js->mu, NULL) != 0)
	{
		snprintf(errbuf, errlen, "JetStream: pthread_mutex_init failed");
		return -1;
	}
	js->mu_init = true;
	if (pipe2(js->wake, O_NONBLOCK | O_CLOEXEC) != 0)
	{
		snprintf(errbuf, errlen, "JetStream: pipe2: %s", strerror(errno));
		return -1;
	}

	/* reconnect forever: an outage pauses the stream, it never ends it */
	if ((s = natsOptions_Create(&opts)) != NATS_OK ||
		(s = natsOptions_SetServers(opts, (const char **) cfg->jetstream_urls,
									cfg->njetstream)) != NATS_OK ||
		(s = natsOptions_SetName(opts, "walbus-relay")) != NATS_OK ||
		(s = natsOptions_SetTimeout(opts, WR_JS_CONNECT_MS)) != NATS_OK ||
		(s = natsOptions_SetMaxReconnect(opts, -1)) != NATS_OK ||
		(s = natsOptions_SetReconnectWait(opts, WR_JS_RECONNECT_WAIT_MS)) !=
			NATS_OK ||
		(s = natsOptions_SetReconnectBufSize(opts, WR_JS_RECONNECT_BUF)) !=
			NATS_OK)
	{
		wr_js_fail(errbuf, errlen, "cannot set connection options", s, 0);
		goto done;
	}
	if ((cfg->jetstream_tls_ca != NULL &&
		 ((s = natsOptions_SetSecure(opts, true)) != NATS_OK ||
		  (s = natsOptions_LoadCATrustedCertificates(opts,
													 cfg->jetstream_tls_ca)) !=
			  NATS_OK)) ||
		(cfg->jetstream_tls_cert != NULL &&
		 (s = natsOptions_LoadCertificatesChain(opts, cfg->jetstream_tls_cert,
												cfg->jetstream_tls_key)) !=
			 NATS_OK) ||
		(cfg->jetstream_creds != NULL &&
		 (s = natsOptions_SetUserCredentialsFromFiles(opts,
													  cfg->jetstream_creds,
													  NULL)) != NATS_OK))
	{
		wr_js_fail(errbuf, errlen, "cannot load the TLS files or credentials",
				   s, 0);
		goto done;
	}
	if ((s = natsConnection_Connect(&js->nc, opts)) != NATS_OK)
	{
		wr_js_fail(errbuf, errlen, "cannot connect", s, 0);
		goto done;
	}
	/* a frame over the server's limit would be refused, and retried, forever */
	if (natsConnection_GetMaxPayload(js->nc) < (int64_t) cfg->frame_bytes * 2)
		wr_warning("JetStream: the server's max_payload (%" PRId64 " bytes) "
				   "is less than twice frame_bytes (%" PRIu64 "): a frame "
				   "larger than it (a big row) would stop the stream; raise "
				   "max_payload",
				   natsConnection_GetMaxPayload(js->nc), cfg->frame_bytes);
	jsOptions_Init(&jo);
	jo.Wait = WR_JS_CONNECT_MS;
	jo.PublishAsync.AckHandler = wr_js_on_ack;
	jo.PublishAsync.AckHandlerClosure = js;
	/* the relay bounds what is in flight itself; nats.c must never stall */
	jo.PublishAsync.MaxPending = 4 * WR_JS_MAX_INFLIGHT;
	if ((s = natsConnection_JetStream(&js->ctx, js->nc, &jo)) != NATS_OK)
	{
		wr_js_fail(errbuf, errlen, "cannot open a JetStream context", s, 0);
		goto done;
	}
	if (wr_js_ensure_stream(js, errbuf, errlen) != 0)
		goto done;
	rc = 0;

done:
	natsOptions_Destroy(opts);
	return rc;
}

void
wr_js_close(wr_js *js)
{
	if (!js->enabled)
		return;
	/* stops nats.c's threads first: no handler runs after this */
	if (js->nc != NULL)
		natsConnection_Close(js->nc);
	if (js->ctx != NULL)
		jsCtx_Destroy(js->ctx);
	if (js->nc != NULL)
		natsConnection_Destroy(js->nc);
	for (size_t i = 0; i < js->count; i++)
	{
		wr_js_entry *e = &js->ring[(js->head + i) % js->cap];

		if (e->state == WR_JS_RETRY)
			natsMsg_Destroy(e->msg);
		free(e->id);
	}
	free(js->chain);
	free(js->resynced_to);
	for (size_t i = 0; i < js->nresults; i++)
		natsMsg_Destroy(js->results[i].msg);
	free(js->ring);
	free(js->results);
	if (js->wake[0] >= 0)
		close(js->wake[0]);
	if (js->wake[1] >= 0)
		close(js->wake[1]);
	if (js->mu_init)
		pthread_mutex_destroy(&js->mu);
	if (js->published > 0 || js->retries > 0)
		wr_info("JetStream: %" PRIu64 " frames stored (%" PRIu64
				" of them duplicates), %" PRIu64 " published again, %" PRIu64
				" refused as out of order, %" PRIu64 " found in the stream",
				js->published, js->duplicates, js->retries, js->refused,
				js->skipped);
	memset(js, 0, sizeof(*js));
	js->wake[0] = js->wake[1] = -1;
}

/* ------------------------------------------------------------- the ring */

static wr_js_entry *
wr_js_push(wr_js *js)
{
	if (js->count == js->cap)
	{
		size_t		 ncap = js->cap ? js->cap * 2 : 2 * WR_JS_MAX_INFLIGHT;
		wr_js_entry *n = malloc(ncap * sizeof(*n));

		if (n == NULL)
			return NULL;
		/* unroll into the new array, oldest first */
		for (size_t i = 0; i < js->count; i++)
			n[i] = js->ring[(js->head + i) % js->cap];
		free(js->ring);
		js->ring = n;
		js->cap = ncap;
		js->head = 0;
	}
	js->count++;
	return &js->ring[(js->head + js->count - 1) % js->cap];
}

/* Hand e's message to nats.c; on a refusal it stays ours, for a retry. */
static void
wr_js_send(wr_js *js, wr_js_entry *e, int64_t now)
{
	jsPubOptions po;
	natsMsg		*m = e->msg;
	natsStatus	 s;

	jsPubOptions_Init(&po);
	po.MaxWait = WR_JS_ACK_WAIT_MS;
	/* the message's Nats-Msg-Id header is already set; name its predecessor */
	if (js->chain != NULL)
		s = natsMsgHeader_Set(m, WR_JS_EXPECT_HEADER, js->chain);
	else
	{
		s = natsMsgHeader_Delete(m, WR_JS_EXPECT_HEADER);
		if (s == NATS_NOT_FOUND)
			s = NATS_OK;
	}
	if (s == NATS_OK)
		s = js_PublishMsgAsync(js->ctx, &m, &po);
	if (s == NATS_OK)
	{
		char *chain = strdup(e->id);

		e->state = WR_JS_INFLIGHT;
		if (chain != NULL)
		{
			free(js->chain);
			js->chain = chain;
		}
		else
			js->resync = true; /* out of memory: start again from the stream */
		return;
	}
	if (!js->failing)
		wr_warning("JetStream: cannot publish: %s; the slot stays where "
				   "JetStream's acknowledgements are, retrying",
				   natsStatus_GetText(s));
	js->failing = true;
	e->state = WR_JS_RETRY;
	e->retry_at = now + WR_JS_RETRY_MS;
	js->resync = true;
}

void
wr_js_publish(wr_js *js, const char *topic, size_t topic_len, uint64_t lsn,
			  uint32_t first_pos, uint32_t last_pos, const void *body,
			  size_t len)
{
	size_t		 cap = strlen(WR_JS_SUBJECT_ROOT) + 3 * topic_len + 8;
	char		*subject = NULL;
	char		*id = NULL;
	size_t		 slen;
	natsMsg		*msg = NULL;
	wr_js_entry *e;

	if (!js->enabled)
		return;
	if ((subject = malloc(cap)) == NULL || (id = malloc(cap + 40)) == NULL)
		goto fail;
	slen = wr_js_subject(subject, cap, topic, topic_len);
	if (slen == 0 || slen >= cap)
		goto fail;
	/* the same frame published again has the same id: JetStream drops it */
	snprintf(id, cap + 40, "%016" PRIX64 ":%u:%u:%s", lsn, first_pos, last_pos,
			 subject + strlen(WR_JS_SUBJECT_ROOT));
	if (natsMsg_Create(&msg, subject, NULL, body, (int) len) != NATS_OK ||
		natsMsgHeader_Set(msg, "Nats-Msg-Id", id) != NATS_OK ||
		(e = wr_js_push(js)) == NULL)
		goto fail;
	e->msg = msg;
	e->id = id;
	e->lsn = lsn;
	e->last_pos = last_pos;
	e->end_lsn = 0;
	if (js->resync)
	{
		/* behind a frame to publish again: in order, at the resync */
		e->state = WR_JS_RETRY;
		e->retry_at = wr_js_now_ms();
	}
	else
		wr_js_send(js, e, wr_js_now_ms());
	free(subject);
	return;

fail:
	js->errors++;
	wr_warning("JetStream: cannot build the message of a frame on topic "
			   "%.*s (out of memory or a malformed topic): it is not "
			   "published there",
			   (int) topic_len, topic);
	natsMsg_Destroy(msg);
	free(subject);
	free(id);
}

void
wr_js_txn_end(wr_js *js, uint64_t end_lsn)
{
	if (!js->enabled)
		return;
	if (js->count == 0)
	{
		/* everything published is acknowledged: so is this transaction */
		if (end_lsn > js->acked_end)
			js->acked_end = end_lsn;
		return;
	}
	js->ring[(js->head + js->count - 1) % js->cap].end_lsn = end_lsn;
}

int
wr_js_fd(const wr_js *js)
{
	return js->enabled ? js->wake[0] : -1;
}

bool
wr_js_full(wr_js *js)
{
	/* paused, it reads again once half are acknowledged: fewer turns */
	bool full = js->enabled &&
		js->count >=
			(js->paused ? WR_JS_MAX_INFLIGHT / 2 : WR_JS_MAX_INFLIGHT);

	/* routine under load (it is the flow control), hence debug */
	if (full != js->paused)
	{
		js->paused = full;
		if (full)
			wr_debug("JetStream has %d frames unacknowledged: pausing the "
					 "stream until it acknowledges",
					 WR_JS_MAX_INFLIGHT);
		else
			wr_debug("JetStream caught up: resuming the stream");
	}
	return full;
}

int64_t
wr_js_wake(const wr_js *js)
{
	int64_t wake = INT64_MAX;

	for (size_t i = 0; js->enabled && i < js->count; i++)
	{
		const wr_js_entry *e = &js->ring[(js->head + i) % js->cap];

		/* a resync waits for every result: the pipe wakes the loop */
		if (e->state == WR_JS_INFLIGHT)
			return INT64_MAX;
		if (e->state == WR_JS_RETRY && e->retry_at < wake)
			wake = e->retry_at;
	}
	return wake;
}

/* The entry holding msg; acks come mostly in order, so from the oldest. */
static wr_js_entry *
wr_js_find(wr_js *js, natsMsg *msg)
{
	for (size_t i = 0; i < js->count; i++)
	{
		wr_js_entry *e = &js->ring[(js->head + i) % js->cap];

		if (e->msg == msg && e->state == WR_JS_INFLIGHT)
			return e;
	}
	return NULL;
}

/* Drop the acknowledged prefix; the newest end LSN in it is acked_end. */
static void
wr_js_pop_acked(wr_js *js)
{
	while (js->count > 0 && js->ring[js->head].state == WR_JS_ACKED)
	{
		wr_js_entry *e = &js->ring[js->head];

		if (e->end_lsn > js->acked_end)
			js->acked_end = e->end_lsn;
		free(e->id);
		e->id = NULL;
		js->head = (js->head + 1) % js->cap;
		js->count--;
	}
}

/*
 * The key of the frame whose Nats-Msg-Id is id: COMMITLSN:FIRST:LAST:...
 * (wr_js_publish); false for an id of another form.
 */
static bool
wr_js_id_key(const char *id, uint64_t *lsn, uint32_t *last_pos)
{
	char	   *end;
	const char *p;

	*lsn = strtoull(id, &end, 16);
	if (end == id || *end != ':')
		return false;
	p = strchr(end + 1, ':');
	if (p == NULL)
		return false;
	*last_pos = (uint32_t) strtoul(p + 1, &end, 10);
	return end != p + 1 && *end == ':';
}

/*
 * Publish again, in order, after the stream's last message (see the
 * header): once nothing is in flight and a retry is due.
 */
static void
wr_js_resync(wr_js *js, int64_t now)
{
	natsMsg	   *last = NULL;
	jsOptions	jo;
	const char *last_id = NULL;
	jsErrCode	jerr = 0;
	natsStatus	s;
	uint64_t	lsn = 0;
	uint32_t	pos = 0;
	bool		have_key = false;
	bool		alone;
	char	   *chain = NULL;

	for (size_t i = 0; i < js->count; i++)
	{
		wr_js_entry *e = &js->ring[(js->head + i) % js->cap];

		if (e->state == WR_JS_INFLIGHT ||
			(e->state == WR_JS_RETRY && e->retry_at > now))
			return; /* not yet: wait for them */
	}
	/* on the loop: bounded short, an outage is retried every second */
	jsOptions_Init(&jo);
	jo.Wait = WR_JS_RESYNC_WAIT_MS;
	s = js_GetLastMsg(&last, js->ctx, js->stream, WR_JS_SUBJECTS, &jo, &jerr);
	if (s == NATS_OK)
	{
		if (natsMsgHeader_Get(last, "Nats-Msg-Id", &last_id) != NATS_OK)
			last_id = NULL;
		if (last_id != NULL)
		{
			have_key = wr_js_id_key(last_id, &lsn, &pos);
			if ((chain = strdup(last_id)) == NULL)
				goto later;
		}
	}
	else if (s != NATS_NOT_FOUND && jerr != JSNoMessageFoundErr)
		goto later; /* no server now: try again later */

	/*
	 * JetStream answers: after an outage whose frames it had all stored,
	 * no acknowledgement follows to say so, and the next outage must be
	 * warned about again.
	 */
	if (js->failing)
		wr_info("JetStream acknowledges again");
	js->failing = false;

	/* what the stream has already, up to its last key, is stored */
	while (have_key && js->count > 0)
	{
		wr_js_entry *e = &js->ring[js->head];

		if (e->state == WR_JS_RETRY &&
			(e->lsn < lsn || (e->lsn == lsn && e->last_pos <= pos)))
		{
			e->state = WR_JS_ACKED;
			natsMsg_Destroy(e->msg);
			e->msg = NULL;
			js->skipped++;
		}
		else if (e->state != WR_JS_ACKED)
			break;
		wr_js_pop_acked(js);
	}

	/*
	 * The same last message twice in a row, and its successor refused:
	 * the server does not know its own last id (it should; never seen).
	 * Publish that one frame unconditionally, alone, rather than stall.
	 */
	if (chain != NULL && js->resynced_to != NULL &&
		strcmp(chain, js->resynced_to) == 0 && js->refused_since_resync)
		js->refused_at_last++;
	else
		js->refused_at_last = 0;
	js->refused_since_resync = false;
	free(js->resynced_to);
	js->resynced_to = chain != NULL ? strdup(chain) : NULL;
	alone = js->refused_at_last >= 2;
	free(js->chain);
	js->chain = alone ? NULL : chain;
	if (alone)
		free(chain);
	natsMsg_Destroy(last);
	js->resync = false;
	for (size_t i = 0; i < js->count; i++)
	{
		wr_js_entry *e = &js->ring[(js->head + i) % js->cap];

		if (e->state != WR_JS_RETRY)
			continue;
		js->retries++;
		wr_js_send(js, e, now);
		if (alone || js->resync)
		{
			/* the rest after its acknowledgement (or after the outage) */
			js->resync = true;
			if (alone)
				js->refused_at_last = 0;
			break;
		}
	}
	return;

later:
	natsMsg_Destroy(last);
	for (size_t i = 0; i < js->count; i++)
	{
		wr_js_entry *e = &js->ring[(js->head + i) % js->cap];

		if (e->state == WR_JS_RETRY)
			e->retry_at = now + WR_JS_RETRY_MS;
	}
}

static void
wr_js_result_apply(wr_js *js, const wr_js_result *res, int64_t now)
{
	wr_js_entry *e = wr_js_find(js, res->msg);

	if (e == NULL)
	{
		natsMsg_Destroy(res->msg); /* cannot happen: not ours */
		return;
	}
	if (res->err == NATS_OK)
	{
		e->state = WR_JS_ACKED;
		e->msg = NULL;
		natsMsg_Destroy(res->msg);
		js->published++;
		js->refused_at_last = 0;
		if (res->duplicate)
			js->duplicates++;
		if (js->failing)
			wr_info("JetStream acknowledges again");
		js->failing = false;
		return;
	}
	js->resync = true;
	if (res->errcode == WR_JS_ERR_WRONG_LAST_ID)
	{
		/*
		 * Its predecessor is not the stream's last message: that one
		 * failed, or was a repeat of an older one.  Not stored; sent
		 * again in order at the resync.  Routine after a restart.
		 */
		js->refused++;
		js->refused_since_resync = true;
		e->state = WR_JS_RETRY;
		e->retry_at = now;
		return;
	}
	if (!js->failing)
		wr_warning("JetStream did not acknowledge a frame on %s: %s (error "
				   "code %d); the slot stays where JetStream's "
				   "acknowledgements are, retrying every %d ms",
				   natsMsg_GetSubject(res->msg), natsStatus_GetText(res->err),
				   (int) res->errcode, WR_JS_RETRY_MS);
	js->failing = true;
	e->state = WR_JS_RETRY;
	e->retry_at = now + WR_JS_RETRY_MS;
}

void
wr_js_service(wr_js *js, int64_t now)
{
	char		  buf[256];
	wr_js_result *results;
	size_t		  n;

	if (!js->enabled)
		return;

	/* drain the pipe before taking the queue: no wake-up is lost */
	while (read(js->wake[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&js->mu);
	results = js->results;
	n = js->nresults;
	js->results = NULL;
	js->nresults = 0;
	js->results_cap = 0;
	pthread_mutex_unlock(&js->mu);
	for (size_t i = 0; i < n; i++)
		wr_js_result_apply(js, &results[i], now);
	free(results);

	/* the acknowledged prefix: its last transaction end is what counts */
	wr_js_pop_acked(js);

	if (js->resync)
		wr_js_resync(js, now);
}
