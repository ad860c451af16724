/*-------------------------------------------------------------------------
 *
 * config.h
 *	  walbus-relay settings: defaults, the config file (libinih) and the
 *	  command-line flags, which override the file.
 *
 * Every setting has one name: the config key is the long flag without
 * "--" and with '_' for '-' (create_slot = true is --create-slot).
 * wr_config_load returns 0, or -1 after writing a one-line message naming
 * the bad setting into errbuf; it exits for --help and --version.  The
 * struct owns its strings; wr_config_free releases them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_CONFIG_H
#define WR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authz.h"

#define WR_MAX_BUS_URLS		8
#define WR_MAX_CONSUMERS	16
/* nng refuses a larger NNG_OPT_SENDBUF */
#define WR_MAX_BUS_QUEUE	8192
#define WR_CONSUMER_NAME_MAX	63

typedef struct wr_config
{
	char	   *dbname;			/* libpq conninfo, URI or database name */
	char	   *slot;
	bool		create_slot;	/* create the slot when it is missing */
	char	   *bus_urls[WR_MAX_BUS_URLS];	/* pub0 listeners */
	int			nbus;
	char	   *control_url;	/* rep0 listener */

	/* security of the bus and control listeners (listen.h, authz.h) */
	char	   *tls_cert;		/* tls+tcp: the relay's PEM certificate */
	char	   *tls_key;		/* its unencrypted PEM key */
	char	   *tls_ca;			/* PEM CAs that client certificates chain to */
	bool		tls_require_client_cert;	/* mutual TLS */
	bool		trusted_network;	/* plain tcp beyond loopback allowed */
	wr_authz	control_allow;	/* who may do what on the control socket */

	size_t		frame_bytes;	/* close a bus frame at this size */
	int			bus_queue;		/* frames pub0 queues per subscriber */
	char	   *include_tables; /* plugin option, NULL: not sent */
	char	   *exclude_tables; /* plugin option, NULL: not sent */
	int			status_interval_ms; /* standby status update period */
	int			heartbeat_interval_ms;	/* _hb period */
	int			server_timeout_ms;	/* silence before reconnecting, 0: off */
	int			reconnect_max_ms;	/* cap of the reconnect backoff */
	int			wait_subscribers;	/* start streaming once this many
									 * subscribers are connected */
	int			log_level;		/* wr_log_level */

	/* delivery (docs/DELIVERY.md) */
	char	   *durable[WR_MAX_CONSUMERS];	/* durable consumer names */
	int			ndurable;
	uint64_t	window_bytes;	/* replay window in memory */
	uint64_t	lag_limit_bytes;	/* warn past this consumer lag, 0: off */
	int			txn_heartbeat_ms;	/* transactional heartbeat, 0: off */
	int			consumer_timeout_ms;	/* silence before a consumer stops
										 * holding the window */

	/* backfills (docs/BACKFILL.md) */
	bool		initial_load;	/* backfill every eligible table when the
								 * slot is created */
	char	   *state_dir;		/* backfill progress; NULL: not kept */

	/* the trigger source (docs/TRIGGER.md) instead of a slot */
	bool		source_trigger;
	int			tick_interval_ms;	/* how often it reads the queue */

	/* NATS JetStream as a second bus (jetstream.h); none: off */
	char	   *jetstream_urls[WR_MAX_BUS_URLS];	/* nats://host:port */
	int			njetstream;
	char	   *jetstream_stream;	/* stream name, default "WALBUS" */
	int			jetstream_replicas;	/* of a stream the relay creates: 1..5 */

	/* the Prometheus endpoint (metrics.h); NULL: none */
	char	   *metrics_listen; /* ADDR:PORT as given */
	char	   *metrics_host;	/* ADDR without brackets; NULL: every
								 * interface */
	int			metrics_port;

	/* a command instead of streaming: "trigger-install", ...; NULL */
	const char *command;
	bool		check_json;		/* check --json: the report as JSON */
} wr_config;

extern int	wr_config_load(wr_config *cfg, int argc, char **argv,
						   char *errbuf, size_t errlen);
extern void wr_config_free(wr_config *cfg);

#endif							/* WR_CONFIG_H */
