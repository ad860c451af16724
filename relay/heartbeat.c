/*-------------------------------------------------------------------------
 *
 * heartbeat.c
 *	  The transactional heartbeat (see heartbeat.h).
 *
 *-------------------------------------------------------------------------
 */
#include "heartbeat.h"

#include <string.h>

#include "log.h"

/* Bounds on how long one heartbeat may block the event loop. */
#define WR_TXN_HB_CONNECT_TIMEOUT	"5"
/* a relay's own message: never held up by a synchronous standby */
#define WR_TXN_HB_OPTIONS			"-c statement_timeout=5000 -c synchronous_commit=local"

static void
wr_txn_hb_fail(wr_txn_hb *h, const char *what, const char *why)
{
	char		line[512];
	size_t		n;

	snprintf(line, sizeof(line), "%s", why ? why : "");
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = '\0';
	if (!h->failing)
		wr_warning("transactional heartbeat: %s: %s (the slot advances "
				   "only with changes of eligible tables until this works)",
				   what, line);
	h->failing = true;
	wr_txn_hb_close(h);
}

bool
wr_txn_hb_emit(wr_txn_hb *h, const char *conninfo)
{
	PGresult   *res;

	if (h->conn == NULL)
	{
		const char *keys[] = {"dbname", "fallback_application_name",
		"connect_timeout", "options", NULL};
		const char *vals[] = {conninfo ? conninfo : "",
			"walbus-relay heartbeat", WR_TXN_HB_CONNECT_TIMEOUT,
		WR_TXN_HB_OPTIONS, NULL};

		h->conn = PQconnectdbParams(keys, vals, 1);
		if (h->conn == NULL || PQstatus(h->conn) != CONNECTION_OK)
		{
			wr_txn_hb_fail(h, "cannot connect",
						   h->conn ? PQerrorMessage(h->conn) : "out of memory");
			return false;
		}
	}
	res = PQexec(h->conn, "SELECT pg_catalog.pg_logical_emit_message(true, '"
				 WR_TXN_HB_PREFIX "', '')");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		wr_txn_hb_fail(h, "pg_logical_emit_message failed",
					   PQresultErrorMessage(res));
		PQclear(res);
		return false;
	}
	PQclear(res);
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
}
