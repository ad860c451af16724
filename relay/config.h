/*-------------------------------------------------------------------------
 *
 * config.h
 *	  walbus-relay settings: defaults, the config file (libinih) and the
 *	  command-line flags, all driven by one table of settings (config.c).
 *
 * Every setting has one name: the config key is the long flag without
 * "--" and with '_' for '-' (create_slot = true is --create-slot).  The
 * file is read first, then the flags, so a flag given at start wins.  A
 * repeatable setting (a list: bus, durable, control_allow, jetstream)
 * holds the values of one source: values given in the file add up, and
 * so do repeated flags, but the first flag replaces what the file gave,
 * as the file's first value replaces the default.
 *
 * wr_config_load returns 0, or -1 after writing a one-line message naming
 * the bad setting into errbuf; it exits for --help and --version.  The
 * struct owns its strings; wr_config_free releases them (also after a
 * failed load).  wr_config_reapply is what a SIGHUP does with settings
 * loaded again (reload.h).  No global state but the read-only table; not
 * thread-safe (getopt).
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_CONFIG_H
#define WR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "authz.h"

#define WR_MAX_BUS_URLS		 8
#define WR_MAX_CONSUMERS	 16
/* nng refuses a larger NNG_OPT_SENDBUF */
#define WR_MAX_BUS_QUEUE	 8192
#define WR_CONSUMER_NAME_MAX 63

/* Where the changes come from: a slot, or trigger-install's queue. */
typedef enum wr_source
{
	WR_SOURCE_PLUGIN, /* a slot decoded by the walbus plugin */
	WR_SOURCE_TRIGGER /* docs/TRIGGER.md */
} wr_source;

typedef struct wr_config
{
	char *dbname; /* libpq conninfo, URI or database name */
	char *slot;
	bool  create_slot;				 /* create the slot when it is missing */
	char *bus_urls[WR_MAX_BUS_URLS]; /* pub0 listeners */
	int	  nbus;
	char *control_url; /* rep0 listener */

	/* security of the bus and control listeners (listen.h, authz.h) */
	char	*tls_cert; /* tls+tcp: the relay's PEM certificate */
	char	*tls_key;  /* its unencrypted PEM key */
	char	*tls_ca;   /* PEM CAs that client certificates chain to */
	bool	 tls_require_client_cert; /* mutual TLS */
	bool	 trusted_network;		  /* plain tcp beyond loopback allowed */
	wr_authz control_allow; /* who may do what on the control socket */

	uint64_t frame_bytes;			/* close a bus frame at this size */
	int		 bus_queue;				/* frames pub0 queues per subscriber */
	char	*include_tables;		/* plugin option, NULL: not sent */
	char	*exclude_tables;		/* plugin option, NULL: not sent */
	int		 status_interval_ms;	/* standby status update period */
	int		 heartbeat_interval_ms; /* _hb period */
	int		 server_timeout_ms;		/* silence before reconnecting, 0: off */
	int		 reconnect_max_ms;		/* cap of the reconnect backoff */
	int		 wait_subscribers;		/* start streaming once this many
									 * subscribers are connected */
	int		 log_level;				/* wr_log_level */

	/* delivery (docs/DELIVERY.md) */
	char	*durable[WR_MAX_CONSUMERS]; /* durable consumer names */
	int		 ndurable;
	uint64_t window_bytes;		  /* replay window in memory */
	uint64_t lag_limit_bytes;	  /* warn past this consumer lag, 0: off */
	int		 txn_heartbeat_ms;	  /* transactional heartbeat, 0: off */
	int		 consumer_timeout_ms; /* silence before a consumer stops
								   * holding the window */

	/* backfills (docs/BACKFILL.md) */
	bool  initial_load; /* backfill every eligible table when the
						 * slot is created */
	char *state_dir;	/* backfill progress; NULL: not kept */

	/* the trigger source (docs/TRIGGER.md) instead of a slot */
	int source;			  /* wr_source */
	int tick_interval_ms; /* how often it reads the queue */

	/* NATS JetStream as a second bus (jetstream.h); none: off */
	char *jetstream_urls[WR_MAX_BUS_URLS]; /* nats://host:port */
	int	  njetstream;
	char *jetstream_stream;	  /* stream name, default "WALBUS" */
	int	  jetstream_replicas; /* of a stream the relay creates: 1..5 */
	char *jetstream_creds;	  /* NATS credentials file; NULL: none */
	char *jetstream_tls_ca;	  /* PEM CAs of the servers: TLS; NULL: none */
	char *jetstream_tls_cert; /* client certificate; NULL: none */
	char *jetstream_tls_key;

	/* the Prometheus endpoint (metrics.h); NULL: none */
	char *metrics_listen; /* ADDR:PORT as given */
	/* derived from metrics_listen once the settings are loaded */
	char *metrics_host; /* ADDR without brackets; NULL: every
						 * interface */
	int	  metrics_port;

	/* a command instead of streaming: "trigger-install", ...; NULL */
	const char *command;
	bool		check_json; /* check --json: the report as JSON */
} wr_config;

/*
 * The table of settings.  Each row says how one setting is named (config
 * key, long and short flag), parsed and checked (kind and bounds), what it
 * defaults to, whether a SIGHUP applies it, and its --help lines.  Rows
 * without a config key are flags only (--config, --help, ...).
 */
typedef enum wr_setting_kind
{
	WR_SET_STRING,	/* a string, checked by check if set */
	WR_SET_BOOL,	/* true/on/yes/1, false/off/no/0; as a flag
					 * it takes no value and means true */
	WR_SET_INT,		/* an int from min to max */
	WR_SET_SECONDS, /* seconds, fractions allowed, kept as int
					 * milliseconds from min to max */
	WR_SET_SIZE,	/* bytes with an optional kB, MB or GB
					 * suffix, kept as uint64_t, min to max */
	WR_SET_ENUM,	/* one of choices, kept as its int index */
	WR_SET_LIST,	/* repeatable: char *[max] and an int count */
	WR_SET_RULES,	/* repeatable control_allow rules (authz.h) */
	WR_SET_CONFIG,	/* --config FILE, read before other flags */
	WR_SET_HELP,	/* --help: the usage, then exit */
	WR_SET_VERSION	/* --version: the version, then exit */
} wr_setting_kind;

/* The groups of --help, in the order it prints them. */
typedef enum wr_help_section
{
	WR_HELP_PREFLIGHT,
	WR_HELP_COMMANDS,
	WR_HELP_CONNECTION,
	WR_HELP_BUS,
	WR_HELP_SECURITY,
	WR_HELP_DELIVERY,
	WR_HELP_JETSTREAM,
	WR_HELP_TIMING,
	WR_HELP_OTHER,
	WR_HELP_NSECTIONS
} wr_help_section;

typedef struct wr_setting
{
	const char	   *name;		/* config key; NULL: a flag only */
	const char	   *flag;		/* long flag, without "--" */
	char			short_flag; /* 0: none */
	wr_setting_kind kind;
	size_t			offset;		  /* of the value in wr_config */
	size_t			count_offset; /* LIST: of its int count */
	uint64_t		min;		  /* INT, SECONDS (ms), SIZE: bounds */
	uint64_t		max;		  /* ... and LIST: how many values at most */
	const char	   *def;		  /* default, parsed as a value; NULL: none */
	bool			reload;		  /* a SIGHUP applies it */
	bool			split;		  /* LIST: comma-separated names, each once */
	bool (*check)(const char *value, size_t len); /* STRING, LIST */
	const char *const *choices;					  /* ENUM: NULL-terminated */
	const char		  *noun; /* errors say "invalid NOUN" (e.g. "slot
							  * name"); NULL: "invalid value ... for
							  * NAME" */
	const char		  *hint; /* the "use ..." of that message; NULL:
							  * made from the kind and bounds */
	const char		  *many; /* LIST: "too many MANY (at most max)" */
	wr_help_section	   section;
	const char		  *arg;	 /* --help: the value's name; NULL: none */
	const char		  *help; /* --help: lines separated by newlines */
} wr_setting;

extern const wr_setting wr_settings[];
extern const int		wr_nsettings;

extern int	wr_config_load(wr_config *cfg, int argc, char **argv, char *errbuf,
						   size_t errlen);
extern void wr_config_free(wr_config *cfg);

/* The --help text (wr_config_load prints it on stdout and exits). */
extern void wr_config_usage(FILE *out);

/*
 * SIGHUP: take over from fresh each setting that differs and that a
 * SIGHUP applies, and name those in applied and the other settings that
 * differ in kept: config keys, comma-separated, in table order.  What is
 * taken over is swapped, so wr_config_free(fresh) frees the old values.
 */
extern void wr_config_reapply(wr_config *live, wr_config *fresh, char *applied,
							  size_t appliedlen, char *kept, size_t keptlen);

#endif /* WR_CONFIG_H */
