/*-------------------------------------------------------------------------
 *
 * js_source.c
 *	  libwalbus's JetStream transport (see js_source.h for the contract).
 *
 *-------------------------------------------------------------------------
 */
#include "js_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WJS_NS_PER_S INT64_C(1000000000)

/*
 * nats.c's last error on this thread says more than the status's name
 * ("Error") when a JetStream request failed.
 */
static int
wjs_fail(wjs *s, int rc, const char *what, natsStatus st, jsErrCode jerr)
{
	const char *detail = nats_GetLastError(NULL);

	if (detail == NULL || detail[0] == '\0')
		detail = natsStatus_GetText(st);
	if (jerr != 0)
		snprintf(s->errmsg, sizeof(s->errmsg), "JetStream: %s: %s (error %d)",
				 what, detail, (int) jerr);
	else
		snprintf(s->errmsg, sizeof(s->errmsg), "JetStream: %s: %s", what,
				 detail);
	return rc;
}

bool
wjs_is_url(const char *url)
{
	return url != NULL &&
		(strncmp(url, "nats://", 7) == 0 || strncmp(url, "tls://", 6) == 0);
}

/*
 * A durable name becomes part of NATS subjects: no dots, wildcards or
 * spaces.
 */
static bool
wjs_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= sizeof(((wjs *) 0)->consumer))
		return false;
	for (const char *p = name; *p; p++)
		if (*p == '.' || *p == '*' || *p == '>' || *p == ' ' || *p == '\t' ||
			(unsigned char) *p < 0x20)
			return false;
	return true;
}

/*
 * Bind the durable consumer, making it (again) when needed: see the
 * header for why one with unacknowledged messages is made again.
 */
static int wjs_make_consumer(wjs *s, jsOptions *jo, uint64_t start,
							 bool exists);

static int
wjs_durable(wjs *s, jsOptions *jo)
{
	jsConsumerInfo *ci = NULL;
	jsErrCode		jerr = 0;
	natsStatus		st;
	uint64_t		start;

	st = js_GetConsumerInfo(&ci, s->js, s->stream, s->consumer, jo, &jerr);
	if (st == NATS_OK)
	{
		bool ours = ci->Config != NULL && ci->Config->AckPolicy == js_AckAll &&
			ci->Config->FilterSubject != NULL &&
			strcmp(ci->Config->FilterSubject, WJS_SUBJECTS) == 0 &&
			(ci->Config->DeliverSubject == NULL ||
			 ci->Config->DeliverSubject[0] == '\0');

		if (!ours)
		{
			jsConsumerInfo_Destroy(ci);
			snprintf(s->errmsg, sizeof(s->errmsg),
					 "JetStream: stream \"%s\" has a consumer \"%s\" that "
					 "libwalbus did not make (it needs a pull consumer with "
					 "ack policy \"all\" on %s): delete it or use another "
					 "consumer name",
					 s->stream, s->consumer, WJS_SUBJECTS);
			return WALBUS_EINVAL;
		}
		if (ci->NumAckPending == 0 && ci->NumRedelivered == 0 &&
			ci->Config->MaxAckPending == WJS_MAX_ACK_PENDING)
		{
			jsConsumerInfo_Destroy(ci);
			return WALBUS_OK; /* nothing in between: bind it as it is */
		}
		/*
		 * A consumer made again starts at a sequence, and JetStream (2.9)
		 * reports its ack floor as 0 until its first ack: the floor is
		 * then the message before that start.
		 */
		start = ci->AckFloor.Stream + 1;
		if (ci->Config->DeliverPolicy == js_DeliverByStartSequence &&
			ci->Config->OptStartSeq > start)
			start = ci->Config->OptStartSeq;
		jsConsumerInfo_Destroy(ci);
		return wjs_make_consumer(s, jo, start, true);
	}
	if (jerr != JSConsumerNotFoundErr && st != NATS_NOT_FOUND)
		return wjs_fail(s, WALBUS_ECONTROL, "cannot look up the consumer", st,
						jerr);
	return wjs_make_consumer(s, jo, 0, false);
}

/*
 * Make the durable consumer, from stream sequence start (0: the first
 * message), deleting the one of that name first when exists.
 */
static int
wjs_make_consumer(wjs *s, jsOptions *jo, uint64_t start, bool exists)
{
	jsConsumerInfo	*ci = NULL;
	jsConsumerConfig cc;
	jsErrCode		 jerr = 0;
	natsStatus		 st;

	if (exists &&
		(st = js_DeleteConsumer(s->js, s->stream, s->consumer, jo, &jerr)) !=
			NATS_OK &&
		jerr != JSConsumerNotFoundErr)
		return wjs_fail(s, WALBUS_ECONTROL, "cannot reset the consumer", st,
						jerr);

	jsConsumerConfig_Init(&cc);
	cc.Durable = s->consumer;
	cc.AckPolicy = js_AckAll;
	cc.AckWait = WJS_ACK_WAIT_S * WJS_NS_PER_S;
	cc.FilterSubject = WJS_SUBJECTS;
	/*
	 * A worker that acknowledges at commit holds a whole transaction's
	 * frames unacknowledged, and a frame is closed whenever the relay has
	 * caught up, so a big transaction is many frames: JetStream's default
	 * (1,000; -1 means the default too) would stop delivering in the
	 * middle of it, for good.
	 */
	cc.MaxAckPending = WJS_MAX_ACK_PENDING;
	if (start > 0)
	{
		cc.DeliverPolicy = js_DeliverByStartSequence;
		cc.OptStartSeq = start;
	}
	else
		cc.DeliverPolicy = js_DeliverAll;
	st = js_AddConsumer(&ci, s->js, s->stream, &cc, jo, &jerr);
	if (st != NATS_OK)
		return wjs_fail(s, WALBUS_ECONTROL, "cannot make the consumer", st,
						jerr);
	jsConsumerInfo_Destroy(ci);
	return WALBUS_OK;
}

/*
 * The servers of a comma-separated list, each tried in turn (nats.c takes
 * a list only as an array).
 */
static natsStatus
wjs_set_servers(natsOptions *opts, const char *urls)
{
	char	   *copy = strdup(urls);
	const char *list[WJS_MAX_SERVERS];
	int			n = 0;
	natsStatus	st;

	if (copy == NULL)
		return NATS_NO_MEMORY;
	for (char *save = NULL, *u = strtok_r(copy, ",", &save);
		 u != NULL && n < WJS_MAX_SERVERS; u = strtok_r(NULL, ",", &save))
		if (*u != '\0')
			list[n++] = u;
	st = n > 0 ? natsOptions_SetServers(opts, list, n) : NATS_INVALID_ARG;
	free(copy);
	return st;
}

/*
 * TLS and credentials, from the worker's options: the tls_* fields serve
 * a NATS server as they serve the relay's tls+tcp://, and nats.c checks
 * the server's certificate against tls_ca whenever one is given.
 */
static natsStatus
wjs_set_security(natsOptions *opts, const walbus_options *wo)
{
	natsStatus st = NATS_OK;

	if (wo->tls_ca != NULL &&
		((st = natsOptions_SetSecure(opts, true)) != NATS_OK ||
		 (st = natsOptions_LoadCATrustedCertificates(opts, wo->tls_ca)) !=
			 NATS_OK))
		return st;
	if (wo->tls_cert != NULL &&
		(st = natsOptions_LoadCertificatesChain(opts, wo->tls_cert,
												wo->tls_key)) != NATS_OK)
		return st;
	if (wo->tls_server_name != NULL &&
		(st = natsOptions_SetExpectedHostname(opts, wo->tls_server_name)) !=
			NATS_OK)
		return st;
	if (wo->jetstream_creds != NULL)
		st = natsOptions_SetUserCredentialsFromFiles(opts, wo->jetstream_creds,
													 NULL);
	return st;
}

/* The pull subscription, bound to the durable consumer or ephemeral. */
static int
wjs_subscribe(wjs *s)
{
	jsOptions	 jo;
	jsSubOptions so;
	jsErrCode	 jerr = 0;
	natsStatus	 st;

	jsOptions_Init(&jo);
	jo.Wait = s->timeout_ms;
	jsSubOptions_Init(&so);
	so.Stream = s->stream;
	if (s->durable)
		so.Consumer = s->consumer;
	else
	{
		so.Config.DeliverPolicy = js_DeliverNew;
		so.Config.AckPolicy = js_AckNone;
		so.Config.InactiveThreshold = WJS_EPHEMERAL_IDLE_S * WJS_NS_PER_S;
	}
	st = js_PullSubscribe(&s->sub, s->js, WJS_SUBJECTS,
						  s->durable ? s->consumer : NULL, &jo, &so, &jerr);
	if (st != NATS_OK)
		return wjs_fail(s, WALBUS_ECONTROL, "cannot subscribe", st, jerr);
	return WALBUS_OK;
}

/*
 * A delivery was lost (the connection to a server broke with messages on
 * the way, a cluster failed over): the next message is not the one after
 * the last handed out.  Handing it out would put it before the lost one,
 * which the dedupe by key would then drop as a repeat.  So the consumer
 * is made again from the oldest message not acknowledged (the ack floor
 * JetStream would otherwise keep): it delivers, in order, those handed
 * out already (their messages replace ours, so that acks reach the new
 * consumer), then the lost ones.
 */
static int
wjs_reset(wjs *s)
{
	jsOptions jo;
	uint64_t  start = s->count > 0 ? s->fifo[s->head].sseq : s->last_sseq + 1;
	int		  rc;

	natsMsgList_Destroy(&s->batch);
	memset(&s->batch, 0, sizeof(s->batch));
	s->batch_next = 0;
	if (s->sub != NULL)
	{
		natsSubscription_Destroy(s->sub);
		s->sub = NULL;
	}
	jsOptions_Init(&jo);
	jo.Wait = s->timeout_ms;
	s->resync = true;
	if ((rc = wjs_make_consumer(s, &jo, start, true)) != WALBUS_OK)
		return rc;
	return wjs_subscribe(s);
}

int
wjs_open(wjs *s, const walbus_options *wo, int timeout_ms, char *errbuf,
		 size_t errlen)
{
	const char	 *urls = wo->bus_url;
	const char	 *stream = wo->jetstream_stream;
	const char	 *consumer = wo->consumer;
	natsOptions	 *opts = NULL;
	jsOptions	  jo;
	jsStreamInfo *si = NULL;
	jsErrCode	  jerr = 0;
	natsStatus	  st;
	int			  rc = WALBUS_ECONTROL;

	memset(s, 0, sizeof(*s));
	if (stream == NULL)
		stream = WJS_DEFAULT_STREAM;
	if (strlen(stream) >= sizeof(s->stream) || !wjs_name_ok(stream))
	{
		snprintf(errbuf, errlen, "invalid JetStream stream name \"%s\"",
				 stream);
		return WALBUS_EINVAL;
	}
	strcpy(s->stream, stream);
	if (consumer != NULL)
	{
		if (!wjs_name_ok(consumer))
		{
			snprintf(errbuf, errlen,
					 "invalid consumer name \"%s\" for "
					 "JetStream: at most %zu bytes, no '.', '*', '>' or "
					 "spaces",
					 consumer, sizeof(s->consumer) - 1);
			return WALBUS_EINVAL;
		}
		strcpy(s->consumer, consumer);
		s->durable = true;
	}

	/* reconnect forever: an outage is a pause (walbus_recv times out) */
	if ((st = natsOptions_Create(&opts)) != NATS_OK ||
		(st = wjs_set_servers(opts, urls)) != NATS_OK ||
		(st = natsOptions_SetName(opts, "libwalbus")) != NATS_OK ||
		(st = natsOptions_SetTimeout(opts, timeout_ms)) != NATS_OK ||
		(st = natsOptions_SetMaxReconnect(opts, -1)) != NATS_OK ||
		(st = natsOptions_SetReconnectWait(opts, 250)) != NATS_OK)
	{
		rc = wjs_fail(s, WALBUS_EINVAL, "cannot set connection options", st,
					  0);
		goto done;
	}
	if ((st = wjs_set_security(opts, wo)) != NATS_OK)
	{
		rc = wjs_fail(s, WALBUS_EINVAL,
					  "cannot load the TLS files or "
					  "credentials",
					  st, 0);
		goto done;
	}
	if ((st = natsConnection_Connect(&s->nc, opts)) != NATS_OK)
	{
		rc = wjs_fail(s, WALBUS_ENNG, "cannot connect", st, 0);
		goto done;
	}
	jsOptions_Init(&jo);
	jo.Wait = timeout_ms;
	if ((st = natsConnection_JetStream(&s->js, s->nc, &jo)) != NATS_OK)
	{
		rc = wjs_fail(s, WALBUS_ECONTROL, "cannot open a context", st, 0);
		goto done;
	}
	st = js_GetStreamInfo(&si, s->js, s->stream, &jo, &jerr);
	if (st != NATS_OK)
	{
		if (jerr == JSStreamNotFoundErr || st == NATS_NOT_FOUND)
		{
			snprintf(s->errmsg, sizeof(s->errmsg),
					 "JetStream has no stream \"%s\": walbus-relay makes it "
					 "when started with --jetstream (and "
					 "--jetstream-stream for another name)",
					 s->stream);
			rc = WALBUS_EINVAL;
		}
		else
			rc = wjs_fail(s, WALBUS_ECONTROL, "cannot look up the stream", st,
						  jerr);
		goto done;
	}
	jsStreamInfo_Destroy(si);

	s->timeout_ms = timeout_ms;
	if (s->durable && (rc = wjs_durable(s, &jo)) != WALBUS_OK)
		goto done;
	rc = wjs_subscribe(s);

done:
	natsOptions_Destroy(opts);
	if (rc != WALBUS_OK)
	{
		snprintf(errbuf, errlen, "%s", s->errmsg);
		wjs_close(s);
	}
	return rc;
}

/*
 * One fetch of at most WJS_BATCH messages.  nats.c first asks for what is
 * waiting without waiting, and only when there is nothing does it leave a
 * request at the server for wait_ms; it returns as soon as messages came,
 * so a frame is never held back waiting for a full batch.  NATS_TIMEOUT
 * (nothing came) is WALBUS_ETIMEDOUT.
 */
static int
wjs_fetch(wjs *s, int wait_ms)
{
	natsStatus st;
	jsErrCode  jerr = 0;

	st = natsSubscription_Fetch(&s->batch, s->sub, WJS_BATCH,
								wait_ms > 0 ? wait_ms : 1, &jerr);
	s->batch_next = 0;
	if (st == NATS_OK)
		return WALBUS_OK;
	memset(&s->batch, 0, sizeof(s->batch));
	if (st == NATS_TIMEOUT)
		return WALBUS_ETIMEDOUT;
	return wjs_fail(s,
					st == NATS_CONNECTION_CLOSED ? WALBUS_ENNG :
												   WALBUS_ECONTROL,
					"cannot fetch", st, jerr);
}

static wjs_entry *
wjs_push(wjs *s)
{
	if (s->count == s->cap)
	{
		size_t	   ncap = s->cap ? s->cap * 2 : 64;
		wjs_entry *n = malloc(ncap * sizeof(wjs_entry));

		if (n == NULL)
			return NULL;
		for (size_t i = 0; i < s->count; i++)
			n[i] = s->fifo[(s->head + i) % s->cap];
		free(s->fifo);
		s->fifo = n;
		s->cap = ncap;
		s->head = 0;
	}
	return &s->fifo[(s->head + s->count++) % s->cap];
}

/* A failure that is a pause: WALBUS_ETIMEDOUT, its reason kept. */
static int
wjs_as_timeout(wjs *s)
{
	char why[sizeof(s->errmsg)];

	memcpy(why, s->errmsg, sizeof(why));
	snprintf(s->errmsg, sizeof(s->errmsg), "timed out (%.*s)",
			 (int) sizeof(why) - 16, why);
	return WALBUS_ETIMEDOUT;
}

/* The entry handed out with stream sequence sseq, if not acknowledged. */
static wjs_entry *
wjs_find(wjs *s, uint64_t sseq)
{
	for (size_t i = 0; i < s->count; i++)
	{
		wjs_entry *e = &s->fifo[(s->head + i) % s->cap];

		if (e->sseq == sseq)
			return e;
		if (e->sseq > sseq)
			break;
	}
	return NULL;
}

int
wjs_next(wjs *s, int wait_ms, const void **body, size_t *len)
{
	for (;;)
	{
		natsMsg		  *m;
		jsMsgMetaData *meta = NULL;
		wjs_entry	  *e;
		uint64_t	   sseq;
		int			   rc;

		if (s->batch_next >= s->batch.Count)
		{
			natsMsgList_Destroy(&s->batch);
			memset(&s->batch, 0, sizeof(s->batch));
			rc = wjs_fetch(s, wait_ms < 0 ? 1000 : wait_ms);
			if (rc != WALBUS_OK && rc != WALBUS_ETIMEDOUT)
			{
				/*
				 * The server is away or a cluster is electing a leader:
				 * nats.c reconnects by itself, so this is a pause, said
				 * as a timeout with its reason, and not a busy loop.
				 */
				if (wait_ms != 0)
					nats_Sleep(WJS_RETRY_MS);
				if (wait_ms < 0)
					continue;
				return wjs_as_timeout(s);
			}
			if (rc == WALBUS_ETIMEDOUT && wait_ms < 0)
				continue;
			if (rc != WALBUS_OK)
			{
				snprintf(s->errmsg, sizeof(s->errmsg), "timed out");
				return rc;
			}
			if (s->batch.Count == 0)
			{
				if (wait_ms < 0)
					continue;
				snprintf(s->errmsg, sizeof(s->errmsg), "timed out");
				return WALBUS_ETIMEDOUT;
			}
		}
		m = s->batch.Msgs[s->batch_next];
		s->batch.Msgs[s->batch_next++] = NULL;
		if (natsMsg_GetMetaData(&meta, m) != NATS_OK)
		{
			natsMsg_Destroy(m);
			return wjs_fail(s, WALBUS_EPROTO,
							"a message without JetStream "
							"metadata was skipped",
							NATS_ERR, 0);
		}
		sseq = meta->Sequence.Stream;
		jsMsgMetaData_Destroy(meta);
		if (sseq <= s->last_sseq)
		{
			/*
			 * Handed out already (delivered again after the ack wait, or
			 * by a consumer made again): the newer message is the one to
			 * acknowledge with.
			 */
			wjs_entry *e = wjs_find(s, sseq);

			/* one not used up yet: its body is in use, keep it */
			if (e != NULL && e->done)
			{
				natsMsg_Destroy(e->msg);
				e->msg = m;
			}
			else
				natsMsg_Destroy(m);
			continue;
		}
		if (s->durable && s->last_sseq != 0 && sseq > s->last_sseq + 1 &&
			!s->resync)
		{
			natsMsg_Destroy(m);
			if ((rc = wjs_reset(s)) != WALBUS_OK)
			{
				/* the consumer is gone meanwhile: the next call tries */
				return wjs_as_timeout(s);
			}
			continue;
		}
		/*
		 * After a reset the first new message may still be further on:
		 * the stream's limits removed what was between (its retention
		 * is the operator's), and it is taken as it is.
		 */
		s->resync = false;
		if ((e = wjs_push(s)) == NULL)
		{
			/* put back: the next call tries it again */
			s->batch.Msgs[--s->batch_next] = m;
			snprintf(s->errmsg, sizeof(s->errmsg), "out of memory");
			return WALBUS_ENOMEM;
		}
		e->msg = m;
		e->sseq = sseq;
		e->done = false;
		e->has_need = false;
		s->last_sseq = sseq;
		*body = natsMsg_GetData(m);
		*len = (size_t) natsMsg_GetDataLength(m);
		return WALBUS_OK;
	}
}

void
wjs_done(wjs *s, bool has_need, wbc_key need)
{
	wjs_entry *e;

	if (s->count == 0)
		return;
	e = &s->fifo[(s->head + s->count - 1) % s->cap];
	e->done = true;
	e->has_need = has_need;
	e->need = need;
	if (!s->durable)
	{
		/* nothing to acknowledge: it goes now */
		natsMsg_Destroy(e->msg);
		s->count--;
	}
}

int
wjs_ack(wjs *s, wbc_key acked, bool sync)
{
	size_t	   n = 0;
	wjs_entry *last;
	natsStatus st;
	jsErrCode  jerr = 0;

	if (!s->durable)
		return WALBUS_OK;
	while (n < s->count)
	{
		wjs_entry *e = &s->fifo[(s->head + n) % s->cap];

		if (!e->done || (e->has_need && wbc_key_cmp(e->need, acked) > 0))
			break;
		n++;
	}
	if (n == 0)
		return WALBUS_OK;
	last = &s->fifo[(s->head + n - 1) % s->cap];
	/* ack policy "all": this one acknowledges those before it */
	st = sync ? natsMsg_AckSync(last->msg, NULL, &jerr) :
				natsMsg_Ack(last->msg, NULL);
	if (st != NATS_OK)
		return wjs_fail(s, WALBUS_ECONTROL, "cannot acknowledge", st, jerr);
	for (size_t i = 0; i < n; i++)
	{
		natsMsg_Destroy(s->fifo[s->head].msg);
		s->head = (s->head + 1) % s->cap;
	}
	s->count -= n;
	return WALBUS_OK;
}

void
wjs_close(wjs *s)
{
	/*
	 * A durable consumer stays (made by js_AddConsumer, so unsubscribing
	 * would not delete it anyway): the next run binds it again.  An
	 * ephemeral one goes now rather than after its idle threshold.
	 */
	if (s->sub != NULL)
	{
		if (!s->durable)
			(void) natsSubscription_Unsubscribe(s->sub);
		natsSubscription_Destroy(s->sub);
	}
	natsMsgList_Destroy(&s->batch);
	for (size_t i = 0; i < s->count; i++)
		natsMsg_Destroy(s->fifo[(s->head + i) % s->cap].msg);
	free(s->fifo);
	if (s->js != NULL)
		jsCtx_Destroy(s->js);
	if (s->nc != NULL)
	{
		natsConnection_Close(s->nc);
		natsConnection_Destroy(s->nc);
	}
	memset(s, 0, sizeof(*s));
}
