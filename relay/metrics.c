/*-------------------------------------------------------------------------
 *
 * metrics.c
 *	  The Prometheus endpoint (see metrics.h).
 *
 * Why a thread of its own rather than libmicrohttpd driven from the poll
 * loop: the loop reads the server's socket for up to 256 messages before
 * it looks at anything else, and a scrape must not wait for that; the
 * other way round, HTTP parsing and slow or hostile clients (a connection
 * that never finishes its request) must cost the replication loop
 * nothing, not even a descriptor in its poll set.  libmicrohttpd's
 * internal thread does all the HTTP work.  What it shares with the loop is
 * one fixed-size snapshot: the loop fills a copy on its own stack from
 * the counters it already keeps for the status request (relay.h's
 * wr_stats, the publisher's and the window's counters, the consumers'
 * positions: no second set of counters), then takes the mutex for one
 * memcpy; the HTTP thread takes it for one memcpy the other way and
 * formats the text after releasing it.  Neither side ever holds the mutex
 * across a system call, an allocation or another lock, so the loop waits
 * at most for a memcpy of a few kilobytes.
 *
 * The listening socket is bound here, not by libmicrohttpd, so that a
 * taken port fails the relay's start with the system's reason in one
 * line.  SIGTERM and SIGINT are blocked in the HTTP thread: delivered
 * there, they would not interrupt the loop's poll, and the relay would
 * stop only at its next timer.
 *
 * Errors after start-up (a client that goes away, out of memory while
 * formatting) cost that one scrape (a 500, or a closed connection) and are
 * logged at debug level; they never reach the loop.
 *
 *-------------------------------------------------------------------------
 */
#include "metrics.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "log.h"
#include "relay.h"

#define WR_METRICS_PATH			"/metrics"
#define WR_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Scrapers connect once every few seconds; anything more is abuse. */
#define WR_METRICS_MAX_CONNECTIONS 16
/* Seconds before an idle or stalled HTTP connection is closed. */
#define WR_METRICS_IDLE_TIMEOUT	   10
#define WR_METRICS_BACKLOG		   16

/* A response starts at this size and doubles as needed. */
#define WR_METRICS_TEXT_RESERVE 8192

typedef struct wr_metrics_consumer
{
	char	 name[WR_CONSUMER_NAME_MAX + 1];
	bool	 connected;
	uint64_t acked_lsn;
	uint64_t lag_bytes;
	uint64_t acks;
} wr_metrics_consumer;

/* Everything a scrape reports: filled by the loop, copied by a scrape. */
typedef struct wr_metrics_snapshot
{
	bool				streaming;
	bool				paused;
	uint64_t			transactions;
	uint64_t			changes;
	uint64_t			messages;
	uint64_t			frames;
	uint64_t			bytes;
	uint64_t			publish_errors;
	uint64_t			control_requests;
	uint64_t			replays;
	uint64_t			rewinds;
	uint64_t			reconnects;
	uint64_t			subscribers;
	uint64_t			server_lsn;
	uint64_t			flushed_lsn;
	uint64_t			slot_lag_bytes;
	uint64_t			window_bytes;
	uint64_t			window_limit;
	int					nconsumers;
	wr_metrics_consumer consumers[WR_MAX_CONSUMERS];
} wr_metrics_snapshot;

struct wr_metrics
{
	struct MHD_Daemon  *daemon;
	pthread_mutex_t		lock; /* guards snap, nothing else */
	wr_metrics_snapshot snap;

	/* set before the HTTP thread starts, never changed: no lock */
	double		start_time; /* Unix time the relay started */
	char		slot[64];
	const char *source;
};

/* A growing text buffer; the first failure sticks (checked at the end). */
typedef struct wr_text
{
	char  *buf;
	size_t len;
	size_t cap;
	bool   failed;
} wr_text;

static void wr_text_printf(wr_text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
wr_text_printf(wr_text *t, const char *fmt, ...)
{
	va_list ap;
	int		n;

	if (t->failed)
		return;
	for (;;)
	{
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0)
		{
			t->failed = true;
			return;
		}
		if ((size_t) n < t->cap - t->len)
		{
			t->len += (size_t) n;
			return;
		}
		{
			size_t ncap = t->cap * 2 + (size_t) n;
			char  *nbuf = realloc(t->buf, ncap);

			if (nbuf == NULL)
			{
				t->failed = true;
				return;
			}
			t->buf = nbuf;
			t->cap = ncap;
		}
	}
}

/* HELP and TYPE of one metric family. */
static void
wr_family(wr_text *t, const char *name, const char *type, const char *help)
{
	wr_text_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
wr_sample(wr_text *t, const char *name, uint64_t value)
{
	wr_text_printf(t, "%s %llu\n", name, (unsigned long long) value);
}

/* One family with one unlabelled sample. */
static void
wr_metric(wr_text *t, const char *name, const char *type, const char *help,
		  uint64_t value)
{
	wr_family(t, name, type, help);
	wr_sample(t, name, value);
}

/*
 * A label value in the exposition format's escaping.  Consumer and slot
 * names cannot hold these characters today (config.c); this keeps the
 * output valid if that ever changes.
 */
static void
wr_label_value(wr_text *t, const char *s)
{
	for (; *s; s++)
	{
		if (*s == '\\' || *s == '"')
			wr_text_printf(t, "\\%c", *s);
		else if (*s == '\n')
			wr_text_printf(t, "\\n");
		else
			wr_text_printf(t, "%c", *s);
	}
}

static void
wr_consumer_sample(wr_text *t, const char *name, const char *consumer,
				   uint64_t value)
{
	wr_text_printf(t, "%s{consumer=\"", name);
	wr_label_value(t, consumer);
	wr_text_printf(t, "\"} %llu\n", (unsigned long long) value);
}

/* The families with one sample per durable consumer. */
typedef struct wr_consumer_family
{
	const char *name;
	const char *type;
	const char *help;
	uint64_t (*value)(const wr_metrics_consumer *c);
} wr_consumer_family;

static uint64_t
wr_mc_connected(const wr_metrics_consumer *c)
{
	return c->connected;
}

static uint64_t
wr_mc_acked_lsn(const wr_metrics_consumer *c)
{
	return c->acked_lsn;
}

static uint64_t
wr_mc_lag_bytes(const wr_metrics_consumer *c)
{
	return c->lag_bytes;
}

static uint64_t
wr_mc_acks(const wr_metrics_consumer *c)
{
	return c->acks;
}

static const wr_consumer_family wr_consumer_families[] = {
	{"walbus_relay_consumer_connected", "gauge",
	 "1 while a durable consumer holds the replay window (it made a "
	 "request within consumer_timeout).",
	 wr_mc_connected},
	{"walbus_relay_consumer_acked_lsn", "gauge",
	 "End of the last transaction a durable consumer acknowledged, as a "
	 "byte position.",
	 wr_mc_acked_lsn},
	{"walbus_relay_consumer_lag_bytes", "gauge",
	 "WAL received by the relay but not yet acknowledged by a durable "
	 "consumer.",
	 wr_mc_lag_bytes},
	{"walbus_relay_consumer_acks_total", "counter",
	 "Acknowledgements received from a durable consumer.", wr_mc_acks},
};

/* The exposition text of one snapshot; docs/RELAY.md lists the same. */
static void
wr_metrics_format(wr_text *t, const wr_metrics *m,
				  const wr_metrics_snapshot *s)
{
	wr_family(t, "walbus_relay_info", "gauge",
			  "Always 1; the labels say what this relay streams.");
	wr_text_printf(t, "walbus_relay_info{slot=\"");
	wr_label_value(t, m->slot);
	wr_text_printf(t, "\",source=\"%s\",delivery=\"%s\"} 1\n", m->source,
				   s->nconsumers > 0 ? "durable" : "best_effort");
	wr_family(t, "walbus_relay_start_time_seconds", "gauge",
			  "Start time of the relay since the Unix epoch.");
	wr_text_printf(t, "walbus_relay_start_time_seconds %.3f\n", m->start_time);
	wr_metric(t, "walbus_relay_streaming", "gauge",
			  "1 while the relay streams from PostgreSQL, 0 while it "
			  "connects or waits to reconnect.",
			  s->streaming);

	wr_metric(t, "walbus_relay_transactions_total", "counter",
			  "Transactions published on the bus.", s->transactions);
	wr_metric(t, "walbus_relay_changes_total", "counter",
			  "Changes (inserts, updates, deletes, truncated tables) "
			  "published on the bus.",
			  s->changes);
	wr_metric(t, "walbus_relay_messages_total", "counter",
			  "Logical decoding messages published on the bus.", s->messages);
	wr_metric(t, "walbus_relay_frames_total", "counter",
			  "Frames of changes and messages published on the bus "
			  "(commit and heartbeat frames not counted).",
			  s->frames);
	wr_metric(t, "walbus_relay_published_bytes_total", "counter",
			  "Bytes of every frame published on the bus.", s->bytes);
	wr_metric(t, "walbus_relay_publish_errors_total", "counter",
			  "Frames lost before the bus took them (out of memory, "
			  "refused by nng); subscribers see them as gaps.",
			  s->publish_errors);
	wr_metric(t, "walbus_relay_subscribers", "gauge",
			  "Subscribers connected to the bus.", s->subscribers);
	wr_metric(t, "walbus_relay_control_requests_total", "counter",
			  "Requests answered on the control socket.", s->control_requests);
	wr_metric(t, "walbus_relay_replays_total", "counter",
			  "Replay requests served.", s->replays);
	wr_metric(t, "walbus_relay_rewinds_total", "counter",
			  "Times the stream restarted at the slot because a durable "
			  "consumer needed what the replay window no longer held.",
			  s->rewinds);
	wr_metric(t, "walbus_relay_reconnects_total", "counter",
			  "Reconnections to PostgreSQL after a lost connection or a "
			  "rewind.",
			  s->reconnects);

	wr_metric(t, "walbus_relay_server_lsn", "gauge",
			  "The server's WAL end as last reported to the relay, as a "
			  "byte position.",
			  s->server_lsn);
	wr_metric(t, "walbus_relay_flushed_lsn", "gauge",
			  "The position the relay confirms to the slot as flushed, as "
			  "a byte position.",
			  s->flushed_lsn);
	wr_metric(t, "walbus_relay_slot_lag_bytes", "gauge",
			  "WAL the slot keeps: the server's WAL end minus the flushed "
			  "position.",
			  s->slot_lag_bytes);

	wr_metric(t, "walbus_relay_replay_window_bytes", "gauge",
			  "Bytes of frames held in the replay window.", s->window_bytes);
	wr_metric(t, "walbus_relay_replay_window_limit_bytes", "gauge",
			  "Size limit of the replay window (window_bytes).",
			  s->window_limit);
	wr_metric(t, "walbus_relay_stream_paused", "gauge",
			  "1 while the stream waits for durable consumers because the "
			  "replay window is full, or for JetStream's acknowledgements.",
			  s->paused);

	if (s->nconsumers == 0)
		return;
	for (size_t f = 0;
		 f < sizeof(wr_consumer_families) / sizeof(wr_consumer_families[0]);
		 f++)
	{
		const wr_consumer_family *fam = &wr_consumer_families[f];

		wr_family(t, fam->name, fam->type, fam->help);
		for (int i = 0; i < s->nconsumers; i++)
			wr_consumer_sample(t, fam->name, s->consumers[i].name,
							   fam->value(&s->consumers[i]));
	}
}

/* A response whose body is a copy of text (libmicrohttpd frees it). */
static enum MHD_Result
wr_metrics_reply(struct MHD_Connection *conn, unsigned int status,
				 const char *content_type, char *body, size_t len,
				 const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result		 ret;

	resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	if (resp == NULL)
	{
		free(body);
		return MHD_NO;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
								content_type) != MHD_YES ||
		(allow != NULL &&
		 MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) !=
			 MHD_YES))
	{
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
wr_metrics_reply_text(struct MHD_Connection *conn, unsigned int status,
					  const char *text, const char *allow)
{
	char *body = strdup(text);

	if (body == NULL)
		return MHD_NO;
	return wr_metrics_reply(conn, status, "text/plain; charset=utf-8", body,
							strlen(body), allow);
}

/* libmicrohttpd's request handler; runs on its thread. */
static enum MHD_Result
wr_metrics_answer(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **req_cls)
{
	wr_metrics		   *m = cls;
	wr_metrics_snapshot snap;
	wr_text				t = {0};

	(void) version;
	(void) upload_data;
	(void) upload_data_size;
	(void) req_cls;
	if (strcmp(url, WR_METRICS_PATH) != 0)
		return wr_metrics_reply_text(
			conn, MHD_HTTP_NOT_FOUND,
			"404 not found: the metrics are at " WR_METRICS_PATH "\n", NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
		strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return wr_metrics_reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
									 "405 method not allowed: use GET\n",
									 "GET, HEAD");

	pthread_mutex_lock(&m->lock);
	memcpy(&snap, &m->snap, sizeof(snap));
	pthread_mutex_unlock(&m->lock);

	t.cap = WR_METRICS_TEXT_RESERVE;
	t.buf = malloc(t.cap);
	t.failed = t.buf == NULL;
	wr_metrics_format(&t, m, &snap);
	if (t.failed)
	{
		free(t.buf);
		wr_debug("metrics endpoint: out of memory formatting a scrape");
		return wr_metrics_reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
									 "500 out of memory\n", NULL);
	}
	return wr_metrics_reply(conn, MHD_HTTP_OK, WR_METRICS_CONTENT_TYPE, t.buf,
							t.len, NULL);
}

/* libmicrohttpd's messages (clients that vanish, ...): debug level. */
static void
wr_metrics_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	(void) cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	wr_debug("metrics endpoint: %s", line);
}

/*
 * Bind and listen on the configured address; the descriptor, or -1 after
 * writing why into errbuf.
 */
static int
wr_metrics_listen(const wr_config *cfg, char *errbuf, size_t errlen)
{
	struct addrinfo	 hints;
	struct addrinfo *res = NULL;
	char			 port[8];
	int				 fd = -1;
	int				 err = 0;
	int				 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", cfg->metrics_port);
	rc = getaddrinfo(cfg->metrics_host, port, &hints, &res);
	if (rc != 0)
	{
		snprintf(errbuf, errlen,
				 "cannot resolve the metrics address \"%s\": "
				 "%s",
				 cfg->metrics_listen, gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
	{
		int one = 1;

		fd = socket(ai->ai_family,
					ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
					ai->ai_protocol);
		if (fd < 0)
		{
			err = errno;
			continue;
		}
		/* a restarted relay must not wait for the old one's TIME_WAITs */
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
			bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
			listen(fd, WR_METRICS_BACKLOG) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(errbuf, errlen,
				 "cannot listen on the metrics address "
				 "\"%s\": %s",
				 cfg->metrics_listen, strerror(err));
	return fd;
}

int
wr_metrics_start(wr_metrics **out, const wr_relay *r, char *errbuf,
				 size_t errlen)
{
	const wr_config *cfg = r->cfg;
	wr_metrics		*m;
	struct timespec	 wall;
	sigset_t		 stop_signals;
	sigset_t		 saved;
	int				 fd;

	*out = NULL;
	m = calloc(1, sizeof(wr_metrics));
	if (m == NULL)
	{
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	if (pthread_mutex_init(&m->lock, NULL) != 0)
	{
		free(m);
		snprintf(errbuf, errlen, "cannot create the metrics lock");
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &wall);
	m->start_time = (double) wall.tv_sec + wall.tv_nsec / 1e9 -
		(double) (wr_now_ms() - r->started_ms) / 1000.0;
	snprintf(m->slot, sizeof(m->slot), "%s", cfg->slot);
	m->source = cfg->source == WR_SOURCE_TRIGGER ? "trigger" : "plugin";
	wr_metrics_publish(m, r);

	if ((fd = wr_metrics_listen(cfg, errbuf, errlen)) < 0)
		goto fail;

	/* the thread inherits the mask: stop signals go to the loop */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, &saved);
	m->daemon = MHD_start_daemon(
		MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		wr_metrics_answer, m, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int) WR_METRICS_MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) WR_METRICS_IDLE_TIMEOUT,
		MHD_OPTION_EXTERNAL_LOGGER, wr_metrics_log, NULL, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (m->daemon == NULL)
	{
		/*
		 * Whether libmicrohttpd closed fd on this path depends on its
		 * version, so it is left alone: the relay exits on this error.
		 */
		snprintf(errbuf, errlen,
				 "cannot start the metrics endpoint on "
				 "\"%s\" (libmicrohttpd refused; --log-level=debug says why)",
				 cfg->metrics_listen);
		goto fail;
	}
	*out = m;
	return 0;

fail:
	pthread_mutex_destroy(&m->lock);
	free(m);
	return -1;
}

void
wr_metrics_publish(wr_metrics *m, const wr_relay *r)
{
	wr_metrics_snapshot s;
	uint64_t			flushed;
	int64_t				now;

	if (m == NULL)
		return;
	flushed = wr_confirm_flushed(&r->confirm);
	now = wr_now_ms();
	memset(&s, 0, sizeof(s));
	s.streaming = r->state == WR_STATE_STREAMING;
	s.paused = r->paused || r->js.paused;
	s.transactions = r->stats.transactions;
	s.changes = r->stats.changes;
	s.messages = r->stats.messages;
	s.frames = r->pub.frames;
	s.bytes = r->pub.bytes;
	s.publish_errors = r->pub.errors;
	s.control_requests = r->stats.control_requests;
	s.replays = r->stats.replays;
	s.rewinds = r->stats.rewinds;
	s.reconnects = r->stats.reconnects;
	s.subscribers = (uint64_t) atomic_load(&r->pub.subscribers);
	s.server_lsn = r->server_lsn;
	s.flushed_lsn = flushed;
	/* the status request's lag_bytes and lag_bytes of each consumer */
	s.slot_lag_bytes = r->server_lsn > flushed ? r->server_lsn - flushed : 0;
	s.window_bytes = r->window.bytes;
	s.window_limit = r->window.limit;
	for (int i = 0; i < r->consumers.n && i < WR_MAX_CONSUMERS; i++)
	{
		const wr_consumer	*c = &r->consumers.c[i];
		wr_metrics_consumer *mc = &s.consumers[s.nconsumers++];

		snprintf(mc->name, sizeof(mc->name), "%s", c->name);
		mc->connected = wr_consumer_connected(&r->consumers, c, now);
		mc->acked_lsn = c->acked_end;
		mc->lag_bytes = r->received_lsn > c->acked_end ?
			r->received_lsn - c->acked_end :
			0;
		mc->acks = c->acks;
	}

	pthread_mutex_lock(&m->lock);
	memcpy(&m->snap, &s, sizeof(s));
	pthread_mutex_unlock(&m->lock);
}

void
wr_metrics_stop(wr_metrics *m)
{
	if (m == NULL)
		return;
	/* joins the HTTP thread: no scrape reads m after this */
	if (m->daemon != NULL)
		MHD_stop_daemon(m->daemon);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
