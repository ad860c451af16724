/*-------------------------------------------------------------------------
 *
 * control_client.h
 *	  libwalbus's side of the relay's control socket (nng req0): the
 *	  "status" request, and the "schema" request behind a cache of table
 *	  definitions.
 *
 * Tables are fetched the first time a (relation id, schema version) pair
 * is seen and kept until close: a schema version names one definition for
 * good, so entries never go stale.  Functions return WALBUS_OK or
 * WALBUS_ECONTROL (relay unreachable, timeout, refusal), WALBUS_ESCHEMA
 * (the relay does not know that version) or WALBUS_ENOMEM, with a message
 * in errmsg.  Requests block for at most the timeout given to wcc_open.
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

typedef struct wcc
{
	nng_socket	req;
	bool		open;
	whm			tables;			/* (relid, schema_version) -> walbus_table */
	uint64_t	fetches;
	char		errmsg[256];
} wcc;

extern int	wcc_open(wcc *s, const char *url, int timeout_ms, char *errbuf,
					 size_t errlen);
extern void wcc_close(wcc *s);
extern const walbus_table *wcc_table(wcc *s, uint32_t relid,
									 uint64_t schema_version, int *rc);
extern int	wcc_status(wcc *s, walbus_relay_status *st);

#endif							/* WALBUS_CONTROL_CLIENT_H */
