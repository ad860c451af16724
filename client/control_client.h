/*-------------------------------------------------------------------------
 *
 * control_client.h
 *	  libwalbus's side of the relay's control socket (nng req0): the
 *	  "status" request (its fields generated from proto/status_fields.h),
 *	  the "schema" request behind a cache of table definitions, and the
 *	  durable consumers' "hello", "ack", "replay".
 *
 * Tables are fetched the first time a (relation id, schema version) pair
 * is seen and kept until close: a schema version names one definition for
 * good, so entries never go stale.  Functions return WALBUS_OK or
 * WALBUS_ECONTROL (relay unreachable, timeout, refusal), WALBUS_ESCHEMA
 * (the relay does not know that version) or WALBUS_ENOMEM, with a message
 * in errmsg.  Requests block for at most the timeout given to wcc_open, or
 * the timeout_ms argument of those that take one, when it is above 0.
 * Single owner; no global state.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_CONTROL_CLIENT_H
#define WALBUS_CONTROL_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>

#include "hashmap.h"
#include "walbus_client.h"
#include "walbus_control.h"

typedef struct wcc
{
	nng_socket			req;
	bool				open;
	whm					tables; /* (relid, schema_version) -> walbus_table */
	uint64_t			fetches;
	int					timeout_ms;		/* per request, from wcc_open */
	int					cur_timeout_ms; /* what the socket is set to now */
	walbus_relay_status status;			/* the last one fetched, all of it */
	char				errmsg[256];
} wcc;

/*
 * max_reply: largest response accepted (replays carry whole messages);
 * opts: its tls_* fields for a tls+tcp:// URL (tlsdial.h)
 */
extern int	wcc_open(wcc *s, const char *url, const walbus_options *opts,
					 int timeout_ms, size_t max_reply, char *errbuf,
					 size_t errlen);
extern void wcc_close(wcc *s);
/*
 * Put a definition the bus carried (a schema event's) into the cache, so
 * that the changes that use it need no request; returns the cached table
 * (valid until wcc_close), NULL when out of memory.
 */
extern const walbus_table *wcc_remember(wcc *s, const wbc_schema *sc);
extern const walbus_table *wcc_table(wcc *s, uint32_t relid,
									 uint64_t schema_version, int *rc);
/*
 * Fetch the relay's status into s->status, then copy its first size bytes
 * into *st: the caller's struct may be an older, shorter one, or a newer
 * one whose extra members are left zero (walbus_client.h).
 * wcc_status_field walks s->status by name (walbus_relay_status_field).
 */
extern int wcc_status(wcc *s, walbus_relay_status *st, size_t size);
extern int wcc_status_field(const wcc *s, size_t i, const char **name,
							walbus_status_value *value);
extern int wcc_backfill(wcc *s, const char *schema, const char *table,
						uint64_t *id);

/*
 * Durable consumers (docs/DELIVERY.md).  A refusal because the name is not
 * configured on the relay returns WALBUS_EINVAL.  wcc_ack's release is
 * NULL or a key above (commit_lsn, pos) that the relay's window may forget
 * although it is not applied.  wcc_replay leaves the response in *reply
 * (caller frees it with nng_msg_free) and its decoded form in *out (caller
 * frees out->messages); the messages (whole bus frames) point into *reply.
 */
extern int wcc_hello(wcc *s, const char *consumer, wbc_hello *out);
extern int wcc_ack(wcc *s, const char *consumer, uint64_t commit_lsn,
				   uint32_t pos, uint64_t end_lsn, const wbc_key *release,
				   int timeout_ms);
extern int wcc_replay(wcc *s, const char *consumer, uint64_t commit_lsn,
					  uint32_t pos, const wb_str *prefixes, uint32_t nprefixes,
					  int timeout_ms, nng_msg **reply, wbc_replay *out);

#endif /* WALBUS_CONTROL_CLIENT_H */
