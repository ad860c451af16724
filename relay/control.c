/*-------------------------------------------------------------------------
 *
 * control.c
 *	  The control socket (see control.h).
 *
 *-------------------------------------------------------------------------
 */
#include "control.h"
#include "catalog.h"

#include <stdio.h>
#include <string.h>

#include <nng/protocol/reqrep0/rep.h>

#include "listen.h"
#include "log.h"
#include "msgwrite.h"
#include "nngclose.h"
#include "relay.h"
#include "walbus_control.h"

/* Longest a reply may hold up the event loop (a client not reading). */
#define WR_CONTROL_SEND_MS 1000

int
wr_control_open(wr_control *ctl, const char *url, char *errbuf, size_t errlen)
{
	int rv;

	memset(ctl, 0, sizeof(*ctl));
	switch (wr_listen_kind_of(url))
	{
		case WR_LISTEN_LOCAL:
			ctl->transport = WR_AUTHZ_IPC;
			break;
		case WR_LISTEN_PLAIN:
			ctl->transport = WR_AUTHZ_TCP;
			break;
		case WR_LISTEN_TLS:
			ctl->transport = WR_AUTHZ_TLS;
			break;
	}
	if ((rv = nng_rep0_open(&ctl->sock)) != 0)
	{
		snprintf(errbuf, errlen, "nng_rep0_open: %s", nng_strerror(rv));
		return rv;
	}
	ctl->open = true;
	if ((rv = nng_socket_set_size(ctl->sock, NNG_OPT_RECVMAXSZ,
								  WBC_MAX_MESSAGE_BYTES)) != 0 ||
		(rv = nng_socket_set_ms(ctl->sock, NNG_OPT_SENDTIMEO,
								WR_CONTROL_SEND_MS)) != 0 ||
		(rv = nng_socket_get_int(ctl->sock, NNG_OPT_RECVFD, &ctl->fd)) != 0)
	{
		snprintf(errbuf, errlen, "cannot set up the control socket: %s",
				 nng_strerror(rv));
		return rv;
	}
	return wr_listen(ctl->sock, url, "control", errbuf, errlen);
}

void
wr_control_close(wr_control *ctl)
{
	if (ctl->open && wnc_close(&ctl->sock, 1, WNC_DEFAULT_TIMEOUT_MS) != 0)
		wr_info("the control socket did not close within %d ms (an nng "
				"1.5.2 hang); it is left for the exit to close",
				WNC_DEFAULT_TIMEOUT_MS);
	ctl->open = false;
}


static const char *
wr_state_name(wr_state state)
{
	switch (state)
	{
		case WR_STATE_CONNECTING:
			return "connecting";
		case WR_STATE_STREAMING:
			return "streaming";
		case WR_STATE_WAITING:
			return "waiting";
	}
	return "unknown";
}

static wb_str
wr_wbstr(const char *s)
{
	wb_str w = {s, (uint32_t) strlen(s)};

	return w;
}

/*
 * The flush position answers report: with the acks recorded but not yet
 * applied by the loop (requests.h), as it will be at its next turn.
 */
static uint64_t
wr_control_flushed(const wr_relay *r)
{
	if (!r->requests.acked)
		return wr_confirm_flushed(&r->confirm);
	return wr_confirm_flushed_if_acked(&r->confirm, r->requests.min_acked_end);
}

static void
wr_control_status(wb_enc *e, const wr_relay *r)
{
	wbc_status st;
	uint64_t   flushed = wr_control_flushed(r);
	int64_t	   now = wr_now_ms();

	memset(&st, 0, sizeof(st));
	st.run = r->pub.run;
	st.slot = wr_wbstr(r->cfg->slot);
	st.state = wr_wbstr(wr_state_name(r->state));
	st.delivery = wr_wbstr(r->consumers.n > 0 ? "durable" : "best_effort");
	st.uptime_ms = (uint64_t) (now - r->started_ms);
	st.confirmed_lsn = r->confirmed_lsn;
	st.received_lsn = r->received_lsn;
	st.flushed_lsn = flushed;
	st.server_lsn = r->server_lsn;
	st.lag_bytes = r->server_lsn > flushed ? r->server_lsn - flushed : 0;
	st.last_seq = r->pub.seq;
	st.subscribers = (uint64_t) atomic_load(&r->pub.subscribers);
	st.transactions = r->stats.transactions;
	st.changes = r->stats.changes;
	st.frames = r->pub.frames;
	st.schema_events = r->stats.schema_events;
	st.messages = r->stats.messages;
	st.heartbeats = r->stats.heartbeats;
	st.bytes = r->pub.bytes;
	st.publish_errors = r->pub.errors;
	st.reconnects = r->stats.reconnects;
	st.control_requests = r->stats.control_requests;
	st.control_refusals = r->stats.control_refusals;
	st.durable_consumers = (uint64_t) r->consumers.n;
	if (r->consumers.n > 0)
	{
		st.min_acked_lsn = wr_consumers_min_end(&r->consumers);
		st.consumer_lag_bytes = r->received_lsn > st.min_acked_lsn ?
			r->received_lsn - st.min_acked_lsn :
			0;
	}
	st.consumers_over_lag_limit =
		(uint64_t) wr_consumers_over_lag(&r->consumers);
	st.lag_limit_crossings = r->consumers.lag_warnings;
	st.window_bytes = r->window.bytes;
	st.window_messages = r->window.count;
	st.paused = r->paused || r->js.paused;
	st.replays = r->stats.replays;
	st.rewinds = r->stats.rewinds;
	st.txn_heartbeats = r->stats.txn_heartbeats;
	for (int i = 0; i < r->consumers.n && i < WBC_MAX_CONSUMERS; i++)
	{
		const wr_consumer	*c = &r->consumers.c[i];
		wbc_consumer_status *cs = &st.consumers[st.nconsumers++];

		cs->name = wr_wbstr(c->name);
		cs->connected = wr_consumer_connected(&r->consumers, c, now);
		cs->acked_lsn = c->acked_end;
		cs->lag_bytes = r->received_lsn > c->acked_end ?
			r->received_lsn - c->acked_end :
			0;
		cs->over_lag_limit = c->over_lag;
		cs->acks = c->acks;
		cs->rewinds = c->rewinds;
	}
	wbc_enc_status(e, &st);
}

static void
wr_control_schema(wb_enc *e, wr_relay *r, const wbc_request *req)
{
	const wr_relversion *v;
	char				 msg[160];

	if (!req->has_relid || !req->has_schema_version)
	{
		wbc_enc_error(e, WBC_ERR_BAD_REQUEST,
					  "schema needs \"relid\" and \"schema_version\"");
		return;
	}
	v = wr_relcache_version(&r->rels, req->relid, req->schema_version);
	if (v == NULL)
	{
		/* not seen in this run: it may be the catalog's (catalog.h) */
		v = wr_catalog_version(&r->catalog, r->cfg->dbname, req->relid,
							   req->schema_version);
	}
	if (v == NULL)
	{
		snprintf(msg, sizeof(msg),
				 "no schema version %llu of relation %u in this relay run "
				 "or in the catalog",
				 (unsigned long long) req->schema_version, req->relid);
		wbc_enc_error(e, WBC_ERR_NOT_FOUND, msg);
		return;
	}
	wbc_enc_table(e, &v->def, true);
}

/* Queue a backfill of a table (backfill.h). */
static void
wr_control_backfill(wb_enc *e, wr_relay *r, const wbc_request *req)
{
	wbc_backfill out;
	char		 topic[WBE_TABLE_TOPIC_MAX + 1];
	const char	*code;
	char		 msg[600];

	if (!req->has_table || req->schema.ptr == NULL)
	{
		wbc_enc_error(e, WBC_ERR_BAD_REQUEST,
					  "backfill needs \"schema\" and \"table\"");
		return;
	}
	if (r->state != WR_STATE_STREAMING)
	{
		wbc_enc_error(e, WBC_ERR_UNAVAILABLE,
					  "the relay is not streaming; "
					  "ask again once it is");
		return;
	}
	if (!wr_backfill_request(r, req->schema.ptr, req->schema.len,
							 req->table.ptr, req->table.len, &out, topic,
							 sizeof(topic), &code, msg, sizeof(msg)))
	{
		wbc_enc_error(e, code, msg);
		return;
	}
	wbc_enc_backfill(e, &out);
}

/* Replies of a replay stop growing past this (at least one message). */
#define WR_REPLAY_DEFAULT_BYTES (256 * 1024)
#define WR_REPLAY_MAX_BYTES		(8 * 1024 * 1024)

/* The durable consumer a request names; NULL after encoding an error. */
static wr_consumer *
wr_control_consumer(wb_enc *e, wr_relay *r, const wbc_request *req)
{
	wr_consumer *c;
	char		 msg[200];

	if (!req->has_consumer)
	{
		wbc_enc_error(e, WBC_ERR_BAD_REQUEST, "this op needs \"consumer\"");
		return NULL;
	}
	c = wr_consumers_find(&r->consumers, req->consumer.ptr, req->consumer.len);
	if (c == NULL)
	{
		snprintf(msg, sizeof(msg),
				 "\"%.*s\" is not a durable consumer of this relay: add it "
				 "with --durable or durable = in the relay's config",
				 (int) (req->consumer.len > 64 ? 64 : req->consumer.len),
				 req->consumer.ptr);
		wbc_enc_error(e, WBC_ERR_NOT_DURABLE, msg);
		return NULL;
	}
	wr_consumers_heard(c, wr_now_ms());
	return c;
}

static void
wr_control_hello(wb_enc *e, wr_relay *r, const wbc_request *req)
{
	wr_consumer *c = wr_control_consumer(e, r, req);
	wbc_hello	 h;

	if (c == NULL)
		return;
	/* a new session of the consumer: what it released is not applied */
	c->released_key = c->acked_key;
	h.run = r->pub.run;
	h.durable = true;
	h.acked_lsn = c->acked_end;
	h.acked_commit_lsn = c->acked_key.lsn;
	h.acked_pos = c->acked_key.pos;
	h.flushed_lsn = wr_control_flushed(r);
	wbc_enc_hello(e, &h);
}

static void
wr_control_ack(wb_enc *e, wr_relay *r, const wbc_request *req)
{
	wr_consumer *c;
	wr_wkey		 key;

	if (!req->has_key)
	{
		wbc_enc_error(e, WBC_ERR_BAD_REQUEST,
					  "ack needs \"commit_lsn\" and \"pos\"");
		return;
	}
	if ((c = wr_control_consumer(e, r, req)) == NULL)
		return;
	key.lsn = req->commit_lsn;
	key.pos = req->pos;
	wr_consumers_ack(c, key, req->end_lsn,
					 req->has_release ? &req->release : NULL, wr_now_ms());
	/* the slot's position moves at the loop's next turn */
	wr_requests_ack(&r->requests, wr_consumers_min_end(&r->consumers));
	wbc_enc_ack(e, wr_control_flushed(r));
}

/*
 * Does a subscriber with these nng subscriptions receive this message?
 * Reserved topics always: libwalbus subscribes to "_" for gap detection.
 */
static bool
wr_replay_selected(const wr_wentry *m, void *arg)
{
	const wbc_request *req = arg;

	if (m->len > 0 && m->data[0] == '_')
		return true;
	for (uint32_t i = 0; i < req->nprefixes; i++)
		if (req->prefixes[i].len <= m->len &&
			memcmp(m->data, req->prefixes[i].ptr, req->prefixes[i].len) == 0)
			return true;
	return false;
}

/*
 * The consumer needs what only the slot still has: record a rewind, which
 * restarts the stream at the slot's confirmed position, at most what it
 * acknowledged.  Everyone else drops the repeats by key.
 */
static void
wr_control_rewind(wr_relay *r, wr_consumer *c, wr_wkey after)
{
	char reason[WR_REASON_MAX];

	snprintf(reason, sizeof(reason),
			 "durable consumer \"%s\" needs changes after " WR_LSN_FMT
			 "/%u that the replay window no longer holds",
			 c->name, WR_LSN_ARGS(after.lsn), after.pos);
	if (wr_requests_rewind(&r->requests, reason))
		c->rewinds++;
}

static void
wr_control_replay(wb_enc *e, wr_relay *r, const wbc_request *req)
{
	const wr_window *w = &r->window;
	wr_consumer		*c = NULL;
	wr_wkey			 after;
	wr_wpage		 page;
	uint64_t		 budget;

	if (!req->has_key)
	{
		wbc_enc_error(e, WBC_ERR_BAD_REQUEST,
					  "replay needs \"commit_lsn\" and \"pos\"");
		return;
	}
	if (req->has_consumer && (c = wr_control_consumer(e, r, req)) == NULL)
		return;
	r->stats.replays++;
	after.lsn = req->commit_lsn;
	after.pos = req->pos;

	/* it needs what follows after again, whatever it released before */
	if (c != NULL && wr_wkey_cmp(after, c->released_key) < 0)
		c->released_key = wr_wkey_cmp(after, c->acked_key) > 0 ? after :
																 c->acked_key;
	if (!wr_window_covers(w, after))
	{
		if (c == NULL)
			wbc_enc_replay_start(e, WBC_REPLAY_GONE, r->pub.run, r->pub.seq,
								 true, 0);
		else
		{
			wr_control_rewind(r, c, after);
			wbc_enc_replay_start(e, WBC_REPLAY_REWIND, r->pub.run, r->pub.seq,
								 false, 0);
		}
		return;
	}

	budget = req->max_bytes ? req->max_bytes : WR_REPLAY_DEFAULT_BYTES;
	if (budget > WR_REPLAY_MAX_BYTES)
		budget = WR_REPLAY_MAX_BYTES;
	wr_window_page(w, after, budget, wr_replay_selected, (void *) req, &page);
	wbc_enc_replay_start(e, WBC_REPLAY_DATA, r->pub.run,
						 page.end ? r->pub.seq :
									wr_window_at(w, page.last)->seq,
						 page.end, page.n);
	for (size_t i = page.first; page.n > 0 && i <= page.last; i++)
	{
		const wr_wentry *m = wr_window_at(w, i);

		if (wr_replay_selected(m, (void *) req))
			wbc_enc_replay_message(e, m->data, m->len);
	}
}

/* What the pipe a request came on tells of its client. */
static void
wr_control_identify(const wr_control *ctl, nng_pipe p, wr_authz_identity *id)
{
	memset(id, 0, sizeof(*id));
	id->transport = ctl->transport;
	if (ctl->transport == WR_AUTHZ_IPC)
	{
		int rv = nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &id->uid);

		id->has_uid = rv == 0;
	}
	else if (ctl->transport == WR_AUTHZ_TLS)
	{
		bool verified = false;
		int	 rv = nng_pipe_get_bool(p, NNG_OPT_TLS_VERIFIED, &verified);

		id->verified = rv == 0 && verified;
#ifdef NNG_OPT_TLS_PEER_CN
		{
			char *cn = NULL;

			if (id->verified &&
				nng_pipe_get_string(p, NNG_OPT_TLS_PEER_CN, &cn) == 0)
			{
				snprintf(id->cn, sizeof(id->cn), "%s", cn);
				nng_strfree(cn);
			}
		}
#endif
	}
}

static const char *
wr_op_name(wbc_op op)
{
	switch (op)
	{
		case WBC_OP_STATUS:
			return "status";
		case WBC_OP_SCHEMA:
			return "schema";
		case WBC_OP_HELLO:
			return "hello";
		case WBC_OP_ACK:
			return "ack";
		case WBC_OP_REPLAY:
			return "replay";
		case WBC_OP_BACKFILL:
			return "backfill";
		case WBC_OP_UNKNOWN:
			break;
	}
	return "an unknown op";
}

/*
 * The one authorization point: may this client make this request?  When
 * not, encode the refusal, count it and log it (at most every 10 s, so
 * that a refused worker retrying its acks cannot flood the log).
 */
static bool
wr_control_authorized(wb_enc *e, wr_control *ctl, wr_relay *r,
					  const wbc_request *req, const wr_authz_identity *id)
{
	wr_authz_action action = WR_AUTHZ_READ;
	char			why[300];
	int64_t			now;

	if ((req->op == WBC_OP_HELLO || req->op == WBC_OP_ACK ||
		 req->op == WBC_OP_REPLAY) &&
		req->has_consumer)
		action = WR_AUTHZ_CONSUMER;
	else if (req->op == WBC_OP_BACKFILL)
		action = WR_AUTHZ_ALL;
	if (wr_authz_check(&r->cfg->control_allow, id, action, req->consumer.ptr,
					   req->consumer.len, why, sizeof(why)))
		return true;
	r->stats.control_refusals++;
	now = wr_now_ms();
	if (ctl->refusal_logged_ms == 0 || now - ctl->refusal_logged_ms >= 10000)
	{
		if (ctl->refusals_unlogged > 0)
			wr_warning("control socket: refused %s: %s (and %llu other "
					   "requests since the last such message)",
					   wr_op_name(req->op), why,
					   (unsigned long long) ctl->refusals_unlogged);
		else
			wr_warning("control socket: refused %s: %s", wr_op_name(req->op),
					   why);
		ctl->refusal_logged_ms = now;
		ctl->refusals_unlogged = 0;
	}
	else
		ctl->refusals_unlogged++;
	wbc_enc_error(e, WBC_ERR_FORBIDDEN, why);
	return false;
}

/* Build the response to one request into reply. */
static void
wr_control_answer(wb_enc *e, wr_control *ctl, wr_relay *r,
				  const wr_authz_identity *id, const void *buf, size_t len)
{
	wbc_request req;
	char		err[160];
	char		msg[200];

	if (wbc_decode_request(buf, len, &req, err, sizeof(err)) != WB_OK)
	{
		snprintf(msg, sizeof(msg), "malformed request: %s", err);
		wbc_enc_error(e, WBC_ERR_BAD_REQUEST, msg);
		return;
	}
	if (!wr_control_authorized(e, ctl, r, &req, id))
		return;
	switch (req.op)
	{
		case WBC_OP_STATUS:
			wr_control_status(e, r);
			break;
		case WBC_OP_SCHEMA:
			wr_control_schema(e, r, &req);
			break;
		case WBC_OP_HELLO:
			wr_control_hello(e, r, &req);
			break;
		case WBC_OP_ACK:
			wr_control_ack(e, r, &req);
			break;
		case WBC_OP_REPLAY:
			wr_control_replay(e, r, &req);
			break;
		case WBC_OP_BACKFILL:
			wr_control_backfill(e, r, &req);
			break;
		case WBC_OP_UNKNOWN:
			snprintf(msg, sizeof(msg), "unknown op \"%.*s\"",
					 (int) (req.op_name.len > 64 ? 64 : req.op_name.len),
					 req.op_name.ptr);
			wbc_enc_error(e, WBC_ERR_UNKNOWN_OP, msg);
			break;
	}
}

void
wr_control_serve(wr_control *ctl, wr_relay *relay)
{
	for (;;)
	{
		nng_msg			 *req;
		nng_msg			 *rep;
		wb_enc			  enc;
		wr_authz_identity id;
		int				  rv;

		rv = nng_recvmsg(ctl->sock, &req, NNG_FLAG_NONBLOCK);
		if (rv == NNG_EAGAIN)
			return;
		if (rv != 0)
		{
			wr_warning("control socket: nng_recvmsg: %s", nng_strerror(rv));
			return;
		}
		relay->stats.control_requests++;

		/*
		 * An open frame has its seq but is not sent nor in the window yet:
		 * close it first, so that no answer (a replay's last_seq above
		 * all) speaks of a frame nobody could have received.
		 */
		wr_pub_flush(&relay->pub);
		if ((rv = nng_msg_alloc(&rep, 0)) != 0)
		{
			wr_warning("control socket: nng_msg_alloc: %s", nng_strerror(rv));
			nng_msg_free(req);
			return;
		}
		wb_enc_init(&enc, wr_msg_write, rep);
		wr_control_identify(ctl, nng_msg_get_pipe(req), &id);
		wr_control_answer(&enc, ctl, relay, &id, nng_msg_body(req),
						  nng_msg_len(req));
		nng_msg_free(req);
		if (wb_enc_failed(&enc))
		{
			wr_warning("control socket: could not encode a response");
			nng_msg_free(rep);
			continue;
		}
		/*
		 * Blocking, bounded by WR_CONTROL_SEND_MS: rep0 refuses a
		 * non-blocking send while its previous reply on the same pipe is
		 * still completing on nng's thread, which a client that answers
		 * fast (acks, replay pages) hits; dropping the reply would stall
		 * that client for its whole request timeout.
		 */
		if ((rv = nng_sendmsg(ctl->sock, rep, 0)) != 0)
		{
			wr_warning("control socket: nng_sendmsg: %s", nng_strerror(rv));
			nng_msg_free(rep);
		}
	}
}
