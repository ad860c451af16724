/*-------------------------------------------------------------------------
 *
 * heartbeat.c
 *	  The transactional heartbeat (see heartbeat.h).
 *
 *-------------------------------------------------------------------------
 */
#include "heartbeat.h"

#include <poll.h>
#include <string.h>

#include "log.h"

/* a relay's own message: never held up by a synchronous standby */
#define WR_TXN_HB_OPTIONS \
	"-c statement_timeout=5000 -c synchronous_commit=local"
#define WR_TXN_HB_SQL \
	"SELECT pg_catalog.pg_logical_emit_message(true, '" WR_TXN_HB_PREFIX \
	"', '')"

static void
wr_txn_hb_fail(wr_txn_hb *h, const char *what, const char *why)
{
	char   line[512];
	size_t n;

	snprintf(line, sizeof(line), "%s", why ? why : "");
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = '\0';
	if (!h->failing)
		wr_warning("transactional heartbeat: %s: %s (the slot advances "
				   "only with changes of eligible tables until this works)",
				   what, line);
	h->failing = true;
	h->failed++;
	wr_txn_hb_close(h);
}

/* Connected: send the statement. */
static bool
wr_txn_hb_send(wr_txn_hb *h)
{
	if (!PQsendQuery(h->conn, WR_TXN_HB_SQL))
	{
		wr_txn_hb_fail(h, "cannot send pg_logical_emit_message",
					   PQerrorMessage(h->conn));
		return false;
	}
	h->state = WR_TXN_HB_RUNNING;
	return true;
}

bool
wr_txn_hb_start(wr_txn_hb *h, const char *conninfo, int64_t now_ms)
{
	if (h->state != WR_TXN_HB_IDLE)
		return true; /* the one under way has its deadline */
	h->deadline_ms = now_ms + WR_TXN_HB_TIMEOUT_MS;
	if (h->conn != NULL)
		return wr_txn_hb_send(h);
	{
		const char *keys[] = {"dbname", "fallback_application_name", "options",
							  NULL};
		const char *vals[] = {conninfo ? conninfo : "",
							  "walbus-relay heartbeat", WR_TXN_HB_OPTIONS,
							  NULL};

		h->conn = PQconnectStartParams(keys, vals, 1);
	}
	if (h->conn == NULL || PQstatus(h->conn) == CONNECTION_BAD)
	{
		wr_txn_hb_fail(h, "cannot connect",
					   h->conn ? PQerrorMessage(h->conn) : "out of memory");
		return false;
	}
	/* libpq's rule: the first wait is for the socket to be writable */
	h->polling = PGRES_POLLING_WRITING;
	h->state = WR_TXN_HB_CONNECTING;
	return true;
}

int
wr_txn_hb_socket(const wr_txn_hb *h, short *events)
{
	if (h->state == WR_TXN_HB_IDLE || h->conn == NULL)
		return -1;
	*events = h->state == WR_TXN_HB_CONNECTING &&
			h->polling == PGRES_POLLING_WRITING ?
		POLLOUT :
		POLLIN;
	return PQsocket(h->conn);
}

int64_t
wr_txn_hb_deadline(const wr_txn_hb *h)
{
	return h->state == WR_TXN_HB_IDLE ? INT64_MAX : h->deadline_ms;
}

bool
wr_txn_hb_io(wr_txn_hb *h, int64_t now_ms)
{
	PGresult *res;
	bool	  ok = true;

	if (h->state == WR_TXN_HB_IDLE)
		return false;
	if (now_ms >= h->deadline_ms)
	{
		wr_txn_hb_fail(h,
					   h->state == WR_TXN_HB_CONNECTING ?
						   "cannot connect" :
						   "pg_logical_emit_message failed",
					   "no answer within 10 s");
		return false;
	}
	if (h->state == WR_TXN_HB_CONNECTING)
	{
		h->polling = PQconnectPoll(h->conn);
		if (h->polling == PGRES_POLLING_FAILED)
		{
			wr_txn_hb_fail(h, "cannot connect", PQerrorMessage(h->conn));
			return false;
		}
		if (h->polling == PGRES_POLLING_OK)
			wr_txn_hb_send(h);
		return false;
	}

	/* RUNNING */
	if (!PQconsumeInput(h->conn))
	{
		wr_txn_hb_fail(h, "pg_logical_emit_message failed",
					   PQerrorMessage(h->conn));
		return false;
	}
	if (PQisBusy(h->conn))
		return false;
	while ((res = PQgetResult(h->conn)) != NULL)
	{
		if (ok && PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			wr_txn_hb_fail(h, "pg_logical_emit_message failed",
						   PQresultErrorMessage(res));
			ok = false;
		}
		PQclear(res);
		if (!ok)
			return false; /* the connection is closed */
	}
	h->state = WR_TXN_HB_IDLE;
	h->emitted++;
	if (h->failing)
		wr_info("transactional heartbeat works again");
	h->failing = false;
	return true;
}

void
wr_txn_hb_close(wr_txn_hb *h)
{
	if (h->conn != NULL)
		PQfinish(h->conn);
	h->conn = NULL;
	h->state = WR_TXN_HB_IDLE;
}
