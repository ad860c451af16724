/*-------------------------------------------------------------------------
 *
 * metrics.h
 *	  The relay's Prometheus endpoint (--metrics-listen): GET /metrics
 *	  answers the text exposition format (version 0.0.4) with the counters
 *	  and positions the status request reports (docs/RELAY.md, "Metrics").
 *
 * The endpoint runs on libmicrohttpd's own thread, so a scrape never
 * waits for the replication loop and the loop never waits for a scrape.
 * The loop hands it a copy of what it knows with wr_metrics_publish, which
 * it calls before every poll: the copy is then never older than the last
 * time the loop went to sleep, and nothing changes while it sleeps.  Only
 * wr_metrics_publish and the HTTP thread touch the copy, under a mutex
 * held for a memcpy on either side.
 *
 * wr_metrics_start returns 0, or -1 after writing a one-line message that
 * names the address into errbuf (it cannot be resolved, bound or served).
 * wr_metrics_publish and wr_metrics_stop accept NULL (no endpoint), so
 * callers need no test of their own.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_METRICS_H
#define WR_METRICS_H

#include <stddef.h>

struct wr_relay;

typedef struct wr_metrics wr_metrics;

/*
 * Listen on cfg->metrics_host (NULL: every interface) and
 * cfg->metrics_port; *out is the endpoint.  r is only read, from the
 * calling thread, for the first copy.
 */
extern int wr_metrics_start(wr_metrics **out, const struct wr_relay *r,
							char *errbuf, size_t errlen);

/* From the loop's thread: replace the endpoint's copy with r's state. */
extern void wr_metrics_publish(wr_metrics *m, const struct wr_relay *r);

/* Close the listener and every scrape in progress, then free m. */
extern void wr_metrics_stop(wr_metrics *m);

#endif /* WR_METRICS_H */
