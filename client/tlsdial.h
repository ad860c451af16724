/*-------------------------------------------------------------------------
 *
 * tlsdial.h
 *	  libwalbus's dialer: plain nng_dial for ipc:// and tcp:// URLs, and
 *	  for tls+tcp:// a TLS configuration that verifies the relay and,
 *	  when given, presents the worker's own certificate.
 *
 * The relay's certificate must chain to tls_ca (required for tls+tcp)
 * and carry the expected server name (tls_server_name, by default the
 * URL's host) as a DNS subject alternative name (or CN): a CA that
 * signed other services' certificates would otherwise let any of them
 * pose as the relay.  Dialing is non-blocking, as before: a relay that
 * is not up yet is retried in the background, and a failed handshake
 * (wrong CA, wrong name, refused client certificate) is retried too, so
 * it shows as requests timing out.
 *
 * wtd_dial returns WALBUS_OK, or WALBUS_EINVAL / WALBUS_ENNG after writing
 * a one-line message naming the URL into errbuf.  No global state.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_TLSDIAL_H
#define WALBUS_TLSDIAL_H

#include <stddef.h>

#include <nng/nng.h>

#include "walbus_client.h"

/* what: "bus" or "control", for messages */
extern int wtd_dial(nng_socket sock, const char *url, const char *what,
					const walbus_options *opts, char *errbuf, size_t errlen);

#endif /* WALBUS_TLSDIAL_H */
