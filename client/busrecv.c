/*-------------------------------------------------------------------------
 *
 * busrecv.c
 *	  libwalbus's bus receive: the sub0 socket or JetStream (see busrecv.h
 *	  for the contract).
 *
 *-------------------------------------------------------------------------
 */
#include "client_int.h"

#include <stdio.h>
#include <stdlib.h>

#include <nng/protocol/pubsub0/sub.h>

#include "js_source.h"
#include "nngclose.h"
#include "tlsdial.h"

int
wbr_open(wbr_bus *b, const walbus_options *opts, size_t maxsz, int queue,
		 int timeout_ms, char *errbuf, size_t errlen)
{
	int rv;

	if (wjs_is_url(opts->bus_url))
	{
		if ((b->js = malloc(sizeof(wjs))) == NULL)
		{
			snprintf(errbuf, errlen, "out of memory");
			return WALBUS_ENOMEM;
		}
		if ((rv = wjs_open(b->js, opts, timeout_ms, errbuf, errlen)) !=
			WALBUS_OK)
		{
			free(b->js);
			b->js = NULL;
		}
		return rv;
	}
	if ((rv = nng_sub0_open(&b->sub)) != 0)
	{
		snprintf(errbuf, errlen, "nng_sub0_open: %s", nng_strerror(rv));
		return WALBUS_ENNG;
	}
	b->sub_open = true;
	if ((rv = nng_aio_alloc(&b->recv_aio, NULL, NULL)) != 0)
	{
		snprintf(errbuf, errlen, "nng_aio_alloc: %s", nng_strerror(rv));
		return WALBUS_ENOMEM;
	}
	if ((rv = nng_socket_set_size(b->sub, NNG_OPT_RECVMAXSZ, maxsz)) != 0 ||
		(rv = nng_socket_set_int(b->sub, NNG_OPT_RECVBUF, queue)) != 0 ||
		(rv = nng_socket_set(b->sub, NNG_OPT_SUB_SUBSCRIBE, "", 0)) != 0)
	{
		snprintf(errbuf, errlen, "cannot set bus socket options: %s",
				 nng_strerror(rv));
		return WALBUS_ENNG;
	}
	return wtd_dial(b->sub, opts->bus_url, "bus", opts, errbuf, errlen);
}

bool
wbr_is_open(const wbr_bus *b)
{
	return b->sub_open || b->js != NULL;
}

void
wbr_close(wbr_bus *b, wcc *control)
{
	nng_socket socks[2];
	int		   nsocks = 0;

	if (b->recv_aio != NULL)
		nng_aio_stop(b->recv_aio);
	if (b->js != NULL)
	{
		wjs_close(b->js);
		free(b->js);
		b->js = NULL;
	}
	/* both sockets in one bounded close: see nngclose.h */
	if (b->sub_open)
		socks[nsocks++] = b->sub;
	if (control->open)
		socks[nsocks++] = control->req;
	control->open = false;
	b->sub_open = false;
	(void) wnc_close(socks, nsocks, WNC_DEFAULT_TIMEOUT_MS);
	if (b->recv_aio != NULL)
		nng_aio_free(b->recv_aio);
	b->recv_aio = NULL;
	if (b->msg != NULL)
		nng_msg_free(b->msg);
	b->msg = NULL;
}

/* The next frame from JetStream (wbr_next, for a nats:// bus). */
static int
wbr_next_js(walbus_client *c, int64_t wait_ms, bool *got)
{
	const void *body;
	size_t		len;
	int			rc;

	rc = wjs_next(c->bus.js, (int) wait_ms, &body, &len);
	if (rc == WALBUS_ETIMEDOUT)
		return rc;
	if (rc != WALBUS_OK)
		return walbus_fail(c, rc, "%s", c->bus.js->errmsg);
	c->stats.received++;
	rc = wbe_decode(&c->dec, body, len, &c->cur.frame);
	if (rc != WB_OK)
	{
		/* used up at once (and, durable, acknowledged in its turn) */
		wjs_done(c->bus.js, c->du.acks.have_delivered, c->du.acks.delivered);
		c->stats.malformed++;
		return walbus_fail(c, rc == WB_ENOMEM ? WALBUS_ENOMEM : WALBUS_EPROTO,
						   "skipped a malformed JetStream frame: %s",
						   wbe_dec_errmsg(&c->dec));
	}
	*got = true;
	return WALBUS_OK;
}

int
wbr_next(walbus_client *c, int64_t wait_ms, bool *got)
{
	wbr_bus		*b = &c->bus;
	nng_duration timeout;
	int			 rv;

	*got = false;
	if (b->js != NULL)
		return wbr_next_js(c, wait_ms, got);

	if (wait_ms < 0)
		timeout = NNG_DURATION_INFINITE;
	else if (wait_ms == 0)
		timeout = NNG_DURATION_ZERO;
	else
		timeout = (nng_duration) wait_ms;
	/*
	 * One aio for every receive: nng_recvmsg would allocate (and seed from
	 * getrandom) an aio per call, and the socket-level timeout option takes
	 * the socket lock on every frame.
	 */
	nng_aio_set_timeout(b->recv_aio, timeout);
	nng_recv_aio(b->sub, b->recv_aio);
	nng_aio_wait(b->recv_aio);
	rv = nng_aio_result(b->recv_aio);
	if (rv == NNG_ETIMEDOUT || rv == NNG_EAGAIN)
		return WALBUS_ETIMEDOUT;
	if (rv != 0)
		return walbus_fail(c, WALBUS_ENNG, "nng_recvmsg: %s",
						   nng_strerror(rv));
	b->msg = nng_aio_get_msg(b->recv_aio);
	c->stats.received++;

	rv = wbe_decode(&c->dec, nng_msg_body(b->msg), nng_msg_len(b->msg),
					&c->cur.frame);
	if (rv != WB_OK)
	{
		wbr_frame_drop(b);
		c->stats.malformed++;
		return walbus_fail(c, rv == WB_ENOMEM ? WALBUS_ENOMEM : WALBUS_EPROTO,
						   "skipped a malformed bus frame: %s",
						   wbe_dec_errmsg(&c->dec));
	}
	*got = true;
	return WALBUS_OK;
}

void
wbr_frame_done(wbr_bus *b, bool has_need, wbc_key need)
{
	if (b->js != NULL)
		wjs_done(b->js, has_need, need);
	wbr_frame_drop(b);
}

void
wbr_frame_drop(wbr_bus *b)
{
	if (b->msg != NULL)
		nng_msg_free(b->msg);
	b->msg = NULL;
}

int
wbr_recv_fd(walbus_client *c, int *fd)
{
	int rv;

	if (c->bus.js != NULL)
		return walbus_fail(c, WALBUS_EINVAL,
						   "no descriptor to poll on a JetStream bus");
	if (!c->bus.sub_open)
		return walbus_fail(c, WALBUS_EINVAL, "opened without a bus URL");
	if ((rv = nng_socket_get_int(c->bus.sub, NNG_OPT_RECVFD, fd)) != 0)
		return walbus_fail(c, WALBUS_ENNG, "NNG_OPT_RECVFD: %s",
						   nng_strerror(rv));
	return WALBUS_OK;
}
