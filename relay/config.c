/*-------------------------------------------------------------------------
 *
 * config.c
 *	  Defaults, config file and flags of walbus-relay (see config.h).
 *
 * The file is read first, then the flags, so a flag always wins.  Both go
 * through wr_config_set, which is the only place that knows how to parse
 * each setting.
 *
 *-------------------------------------------------------------------------
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "walbus_envelope.h"

#define WR_DEFAULT_BUS		"ipc:///tmp/walbus.pub"
#define WR_DEFAULT_CONTROL	"ipc:///tmp/walbus.ctl"
#define WR_DEFAULT_SLOT		"walbus"

/* Flags without a short form. */
enum
{
	OPT_CONFIG = 256,
	OPT_CREATE_SLOT,
	OPT_STATUS_INTERVAL,
	OPT_HEARTBEAT_INTERVAL,
	OPT_SERVER_TIMEOUT,
	OPT_RECONNECT_MAX_DELAY,
	OPT_INCLUDE_TABLES,
	OPT_EXCLUDE_TABLES,
	OPT_LOG_LEVEL,
	OPT_WAIT_SUBSCRIBERS,
	OPT_DURABLE,
	OPT_WINDOW_BYTES,
	OPT_LAG_LIMIT,
	OPT_TXN_HEARTBEAT_INTERVAL,
	OPT_CONSUMER_TIMEOUT,
	OPT_FRAME_BYTES,
	OPT_BUS_QUEUE,
	OPT_STATE_DIR,
	OPT_INITIAL_LOAD,
	OPT_SOURCE,
	OPT_TICK_INTERVAL,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_TLS_CA,
	OPT_TLS_REQUIRE_CLIENT_CERT,
	OPT_TRUSTED_NETWORK,
	OPT_CONTROL_ALLOW,
	OPT_METRICS_LISTEN,
	OPT_JETSTREAM,
	OPT_JETSTREAM_STREAM,
	OPT_JETSTREAM_REPLICAS,
	OPT_JSON,
	OPT_VERSION
};

static const struct option wr_options[] = {
	{"dbname", required_argument, NULL, 'd'},
	{"slot", required_argument, NULL, 'S'},
	{"create-slot", no_argument, NULL, OPT_CREATE_SLOT},
	{"bus", required_argument, NULL, 'b'},
	{"control", required_argument, NULL, 'c'},
	{"config", required_argument, NULL, OPT_CONFIG},
	{"include-tables", required_argument, NULL, OPT_INCLUDE_TABLES},
	{"exclude-tables", required_argument, NULL, OPT_EXCLUDE_TABLES},
	{"status-interval", required_argument, NULL, OPT_STATUS_INTERVAL},
	{"heartbeat-interval", required_argument, NULL, OPT_HEARTBEAT_INTERVAL},
	{"server-timeout", required_argument, NULL, OPT_SERVER_TIMEOUT},
	{"reconnect-max-delay", required_argument, NULL, OPT_RECONNECT_MAX_DELAY},
	{"wait-subscribers", required_argument, NULL, OPT_WAIT_SUBSCRIBERS},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"durable", required_argument, NULL, OPT_DURABLE},
	{"window-bytes", required_argument, NULL, OPT_WINDOW_BYTES},
	{"lag-limit", required_argument, NULL, OPT_LAG_LIMIT},
	{"txn-heartbeat-interval", required_argument, NULL,
	OPT_TXN_HEARTBEAT_INTERVAL},
	{"consumer-timeout", required_argument, NULL, OPT_CONSUMER_TIMEOUT},
	{"frame-bytes", required_argument, NULL, OPT_FRAME_BYTES},
	{"bus-queue", required_argument, NULL, OPT_BUS_QUEUE},
	{"state-dir", required_argument, NULL, OPT_STATE_DIR},
	{"initial-load", no_argument, NULL, OPT_INITIAL_LOAD},
	{"source", required_argument, NULL, OPT_SOURCE},
	{"tick-interval", required_argument, NULL, OPT_TICK_INTERVAL},
	{"tls-cert", required_argument, NULL, OPT_TLS_CERT},
	{"tls-key", required_argument, NULL, OPT_TLS_KEY},
	{"tls-ca", required_argument, NULL, OPT_TLS_CA},
	{"tls-require-client-cert", no_argument, NULL,
	OPT_TLS_REQUIRE_CLIENT_CERT},
	{"trusted-network", no_argument, NULL, OPT_TRUSTED_NETWORK},
	{"control-allow", required_argument, NULL, OPT_CONTROL_ALLOW},
	{"metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN},
	{"jetstream", required_argument, NULL, OPT_JETSTREAM},
	{"jetstream-stream", required_argument, NULL, OPT_JETSTREAM_STREAM},
	{"jetstream-replicas", required_argument, NULL, OPT_JETSTREAM_REPLICAS},
	{"json", no_argument, NULL, OPT_JSON},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0}
};

static void
wr_usage(void)
{
	printf(
		   "walbus-relay streams a PostgreSQL logical replication slot decoded by\n"
		   "the walbus output plugin and publishes each change on an nng bus.\n"
		   "\n"
		   "Usage:\n"
		   "  walbus-relay [OPTION]...\n"
		   "  walbus-relay [OPTION]... trigger-install\n"
		   "  walbus-relay [OPTION]... trigger-remove\n"
		   "  walbus-relay [OPTION]... check [--json]\n"
		   "\n"
		   "Preflight (docs/RELAY.md section 6, \"Before starting\"):\n"
		   "  check                      connect as the relay would and report, with\n"
		   "                             the fix for each problem: server version,\n"
		   "                             output_plugin_libraries, wal_level, the\n"
		   "                             REPLICATION attribute, slot and walsender\n"
		   "                             headroom, a replication connection, the\n"
		   "                             slot (plugin, activity, lag, wal_status)\n"
		   "                             and each table's eligibility; creates\n"
		   "                             nothing.  Exit status 0 all ok, 1 warnings,\n"
		   "                             2 errors (or a connection failure)\n"
		   "      --json                 check: one JSON object instead of lines\n"
		   "\n"
		   "Commands (for databases where the role has no REPLICATION attribute;\n"
		   "docs/TRIGGER.md):\n"
		   "  trigger-install            create schema walbus_trigger (a queue and\n"
		   "                             a capture function) as the connecting role,\n"
		   "                             give each eligible table its triggers and\n"
		   "                             say why the others have none; run it again\n"
		   "                             after creating or changing tables\n"
		   "  trigger-remove             take the triggers off every table and drop\n"
		   "                             the schema, with its events\n"
		   "\n"
		   "Connection:\n"
		   "  -d, --dbname=CONNINFO      libpq conninfo string, URI or database name;\n"
		   "                             PG* environment variables apply as usual\n"
		   "  -S, --slot=NAME            replication slot (default \"%s\")\n"
		   "      --create-slot          create the slot with the walbus plugin if it\n"
		   "                             does not exist\n"
		   "      --include-tables=PATS  only tables matching these schema.table patterns\n"
		   "      --exclude-tables=PATS  never tables matching these patterns\n"
		   "      --source=SOURCE        plugin (default: a slot decoded by walbus)\n"
		   "                             or trigger (the queue trigger-install\n"
		   "                             made: no REPLICATION attribute needed)\n"
		   "      --tick-interval=S      trigger source: how often the queue is\n"
		   "                             read (default 0.2)\n"
		   "      --initial-load         when --create-slot creates the slot, read\n"
		   "                             every eligible table into the stream\n"
		   "                             (a backfill of each, docs/BACKFILL.md)\n"
		   "      --state-dir=DIR        keep backfill progress here, so that a\n"
		   "                             restarted relay resumes them (default:\n"
		   "                             none; backfills then restart from scratch)\n"
		   "\n"
		   "Bus:\n"
		   "  -b, --bus=URL              nng pub listener; repeat for several\n"
		   "                             (default %s; ipc sockets are mode 0600)\n"
		   "  -c, --control=URL          nng rep control listener (default %s)\n"
		   "      --frame-bytes=SIZE     close a bus frame (many changes of one\n"
		   "                             transaction on one topic) at this size\n"
		   "                             (default 64kB, 1kB to 16MB)\n"
		   "      --bus-queue=N          frames queued per subscriber before the bus\n"
		   "                             drops for it (default 1024, 1 to 8192)\n"
		   "      --wait-subscribers=N   at start-up, stream only once N subscribers\n"
		   "                             are connected, so they miss nothing (default 0)\n"
		   "\n"
		   "Security (docs/RELAY.md, \"Security\"):\n"
		   "      --tls-cert=FILE        PEM certificate of tls+tcp:// listeners\n"
		   "      --tls-key=FILE         its unencrypted PEM key\n"
		   "      --tls-ca=FILE          PEM CAs that client certificates must\n"
		   "                             chain to\n"
		   "      --tls-require-client-cert  refuse tls clients without one\n"
		   "      --trusted-network      allow plain tcp:// listeners beyond\n"
		   "                             loopback (whoever reaches them reads every\n"
		   "                             change and can acknowledge)\n"
		   "      --control-allow=RULES  who may do what on the control socket:\n"
		   "                             IDENTITY=RIGHT[,...], identities cn:NAME,\n"
		   "                             cn:*, uid:N, uid:*, any; rights read,\n"
		   "                             consumer:NAME, all; repeat or list\n"
		   "\n"
		   "Delivery (docs/DELIVERY.md):\n"
		   "      --durable=NAME[,NAME]  durable consumers: the slot advances only past\n"
		   "                             what every one of them acknowledged; repeat\n"
		   "                             or list (default none: best effort)\n"
		   "      --window-bytes=SIZE    recent messages kept in memory for replays\n"
		   "                             (default 64MB; kB, MB, GB suffixes)\n"
		   "      --lag-limit=SIZE       warn loudly when a durable consumer's acks\n"
		   "                             lag the stream by more (default 1GB, 0: off)\n"
		   "      --txn-heartbeat-interval=S  write a transactional heartbeat message\n"
		   "                             so the slot advances while eligible tables\n"
		   "                             are quiet (default 10, 0: off)\n"
		   "      --consumer-timeout=S   a durable consumer silent this long stops\n"
		   "                             holding the window back (default 15)\n"
		   "\n"
		   "JetStream (docs/RELAY.md, \"JetStream\"):\n"
		   "      --jetstream=URL        also publish every frame to NATS JetStream at\n"
		   "                             nats://HOST:PORT (repeat for a server list);\n"
		   "                             the slot then advances only past what\n"
		   "                             JetStream acknowledged (default: off)\n"
		   "      --jetstream-stream=NAME  the stream, created when missing with\n"
		   "                             subjects walbus.> (default WALBUS)\n"
		   "      --jetstream-replicas=N  replicas of the stream the relay creates,\n"
		   "                             1 to 5 (default 1)\n"
		   "\n"
		   "Timing (seconds, fractions allowed):\n"
		   "      --status-interval=S    standby status update period (default 10)\n"
		   "      --heartbeat-interval=S heartbeat period on the _hb topic (default 5)\n"
		   "      --server-timeout=S     reconnect after this much silence from the\n"
		   "                             server, 0 to disable (default 60)\n"
		   "      --reconnect-max-delay=S  cap of the reconnect backoff (default 30)\n"
		   "\n"
		   "Other:\n"
		   "      --metrics-listen=ADDR:PORT  serve Prometheus metrics on\n"
		   "                             http://ADDR:PORT/metrics (default: off;\n"
		   "                             [::1]:PORT for IPv6, :PORT for every\n"
		   "                             interface)\n"
		   "      --config=FILE          read settings from FILE (key = value, keys are\n"
		   "                             the long options with '_' for '-'); flags win\n"
		   "      --log-level=LEVEL      error, warning, info (default) or debug\n"
		   "  -h, --help                 show this help, then exit\n"
		   "      --version              show the version, then exit\n"
		   "\n"
		   "Signals: SIGTERM and SIGINT stop after a final status update.\n"
		   "See docs/RELAY.md and docs/PROTOCOL.md (Part 2).\n",
		   WR_DEFAULT_SLOT, WR_DEFAULT_BUS, WR_DEFAULT_CONTROL);
}

static int	wr_fail(char *errbuf, size_t errlen, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

static int
wr_fail(char *errbuf, size_t errlen, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
wr_set_string(char **dst, const char *value)
{
	char	   *copy = strdup(value);

	if (copy == NULL)
		return -1;
	free(*dst);
	*dst = copy;
	return 0;
}

static int
wr_parse_seconds(const char *value, bool allow_zero, int *ms)
{
	char	   *end;
	double		s;

	errno = 0;
	s = strtod(value, &end);
	if (errno != 0 || end == value || *end != '\0' || !isfinite(s) ||
		s < 0 || s > 86400 || (s == 0 && !allow_zero) ||
		(s > 0 && s < 0.001))
		return -1;
	*ms = (int) (s * 1000.0 + 0.5);
	return 0;
}

static int
wr_parse_bool(const char *value, bool *b)
{
	if (strcasecmp(value, "true") == 0 || strcasecmp(value, "on") == 0 ||
		strcasecmp(value, "yes") == 0 || strcmp(value, "1") == 0)
		*b = true;
	else if (strcasecmp(value, "false") == 0 || strcasecmp(value, "off") == 0 ||
			 strcasecmp(value, "no") == 0 || strcmp(value, "0") == 0)
		*b = false;
	else
		return -1;
	return 0;
}

/*
 * Slot names follow PostgreSQL's rule (lower-case letters, digits and
 * underscores, at most 63 bytes), checked here so that they can be put in
 * replication commands without quoting and the error comes early.
 */
static bool
wr_slot_name_ok(const char *name)
{
	size_t		n = strlen(name);

	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
			  (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return false;
	return true;
}

/* A byte size: digits with an optional kB, MB or GB suffix (1024-based). */
static int
wr_parse_size(const char *value, bool allow_zero, uint64_t *bytes)
{
	char	   *end;
	unsigned long long n;
	uint64_t	mult = 1;

	errno = 0;
	n = strtoull(value, &end, 10);
	if (errno != 0 || end == value || value[0] == '-')
		return -1;
	while (*end == ' ')
		end++;
	if (strcasecmp(end, "kB") == 0 || strcasecmp(end, "k") == 0)
		mult = 1024;
	else if (strcasecmp(end, "MB") == 0 || strcasecmp(end, "M") == 0)
		mult = 1024 * 1024;
	else if (strcasecmp(end, "GB") == 0 || strcasecmp(end, "G") == 0)
		mult = 1024ULL * 1024 * 1024;
	else if (*end != '\0' && strcasecmp(end, "B") != 0)
		return -1;
	if (n > UINT64_MAX / mult / 2 || (n == 0 && !allow_zero))
		return -1;
	*bytes = n * mult;
	return 0;
}

/* Consumer names: what a worker passes; kept short and printable. */
static bool
wr_consumer_name_ok(const char *name, size_t n)
{
	if (n == 0 || n > WR_CONSUMER_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
			  (name[i] >= 'A' && name[i] <= 'Z') ||
			  (name[i] >= '0' && name[i] <= '9') ||
			  name[i] == '_' || name[i] == '-' || name[i] == '.'))
			return false;
	return true;
}

/* "a,b, c": add each name once. */
static int
wr_add_durable(wr_config *cfg, const char *value, char *errbuf,
			   size_t errlen)
{
	const char *p = value;

	while (*p != '\0')
	{
		const char *start;
		size_t		n;
		bool		dup = false;

		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ',' && *p != ' ')
			p++;
		n = (size_t) (p - start);
		if (!wr_consumer_name_ok(start, n))
			return wr_fail(errbuf, errlen,
						   "invalid durable consumer name \"%.*s\": use 1 to "
						   "%d letters, digits, '_', '-' or '.'",
						   (int) (n > 80 ? 80 : n), start,
						   WR_CONSUMER_NAME_MAX);
		for (int i = 0; i < cfg->ndurable; i++)
			if (strlen(cfg->durable[i]) == n &&
				memcmp(cfg->durable[i], start, n) == 0)
				dup = true;
		if (dup)
			continue;
		if (cfg->ndurable == WR_MAX_CONSUMERS)
			return wr_fail(errbuf, errlen,
						   "too many durable consumers (at most %d)",
						   WR_MAX_CONSUMERS);
		if ((cfg->durable[cfg->ndurable] = strndup(start, n)) == NULL)
			return wr_fail(errbuf, errlen, "out of memory");
		cfg->ndurable++;
	}
	return 0;
}

/*
 * metrics_listen: HOST:PORT, [IPV6]:PORT or :PORT (every interface).  Only
 * the form is checked here; the host is resolved when the relay starts
 * (metrics.c), which reports an unknown name or a taken port.
 */
static int
wr_set_metrics_listen(wr_config *cfg, const char *value)
{
	const char *colon = strrchr(value, ':');
	const char *host = value;
	size_t		hostlen;
	char	   *end;
	long		port;

	if (colon == NULL || colon[1] == '\0')
		return -1;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || colon[1] == '-' || colon[1] == '+' ||
		port < 1 || port > 65535)
		return -1;
	hostlen = (size_t) (colon - value);
	if (hostlen >= 2 && host[0] == '[' && host[hostlen - 1] == ']')
	{
		host++;
		hostlen -= 2;
		if (hostlen == 0 || strspn(host, "0123456789abcdefABCDEF:.") < hostlen)
			return -1;
	}
	else if (strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					"0123456789.-") < hostlen)
		return -1;				/* an IPv6 address needs its brackets */
	free(cfg->metrics_host);
	cfg->metrics_host = NULL;
	if (hostlen > 0 && (cfg->metrics_host = strndup(host, hostlen)) == NULL)
		return -2;
	cfg->metrics_port = (int) port;
	return wr_set_string(&cfg->metrics_listen, value) == 0 ? 0 : -2;
}

/* The settings of listen.h and authz.h. */
static int
wr_config_security(wr_config *cfg, const char *name, const char *value,
				   char *errbuf, size_t errlen)
{
	char	  **path = NULL;
	bool	   *flag = NULL;

	if (strcmp(name, "tls_cert") == 0)
		path = &cfg->tls_cert;
	else if (strcmp(name, "tls_key") == 0)
		path = &cfg->tls_key;
	else if (strcmp(name, "tls_ca") == 0)
		path = &cfg->tls_ca;
	else if (strcmp(name, "tls_require_client_cert") == 0)
		flag = &cfg->tls_require_client_cert;
	else if (strcmp(name, "trusted_network") == 0)
		flag = &cfg->trusted_network;
	else if (strcmp(name, "control_allow") == 0)
		return wr_authz_add(&cfg->control_allow, value, errbuf, errlen);
	else
		return wr_fail(errbuf, errlen, "unknown setting \"%s\"", name);
	if (flag != NULL && wr_parse_bool(value, flag) != 0)
		return wr_fail(errbuf, errlen, "invalid value \"%s\" for %s: use "
					   "true or false", value, name);
	if (path != NULL && wr_set_string(path, value) != 0)
		return wr_fail(errbuf, errlen, "out of memory");
	return 0;
}

/*
 * Apply one setting by its config-file name.  replace_bus tells whether a
 * "bus" value starts a new list (the first --bus flag replaces the file's
 * list) or adds to it.
 */
static int
wr_config_set(wr_config *cfg, const char *name, const char *value,
			  bool *replace_bus, char *errbuf, size_t errlen)
{
	int			rc = 0;

	if (strcmp(name, "dbname") == 0)
		rc = wr_set_string(&cfg->dbname, value);
	else if (strcmp(name, "slot") == 0)
	{
		if (!wr_slot_name_ok(value))
			return wr_fail(errbuf, errlen,
						   "invalid slot name \"%s\": use 1 to 63 lower-case "
						   "letters, digits and underscores", value);
		rc = wr_set_string(&cfg->slot, value);
	}
	else if (strcmp(name, "create_slot") == 0)
	{
		if (wr_parse_bool(value, &cfg->create_slot) != 0)
			return wr_fail(errbuf, errlen,
						   "invalid value \"%s\" for create_slot: use true or "
						   "false", value);
	}
	else if (strcmp(name, "bus") == 0)
	{
		if (*replace_bus)
		{
			for (int i = 0; i < cfg->nbus; i++)
				free(cfg->bus_urls[i]);
			cfg->nbus = 0;
			*replace_bus = false;
		}
		if (cfg->nbus == WR_MAX_BUS_URLS)
			return wr_fail(errbuf, errlen, "too many bus URLs (at most %d)",
						   WR_MAX_BUS_URLS);
		cfg->bus_urls[cfg->nbus] = NULL;
		rc = wr_set_string(&cfg->bus_urls[cfg->nbus], value);
		if (rc == 0)
			cfg->nbus++;
	}
	else if (strcmp(name, "control") == 0)
		rc = wr_set_string(&cfg->control_url, value);
	else if (strncmp(name, "tls_", 4) == 0 ||
			 strcmp(name, "trusted_network") == 0 ||
			 strcmp(name, "control_allow") == 0)
		return wr_config_security(cfg, name, value, errbuf, errlen);
	else if (strcmp(name, "include_tables") == 0)
		rc = wr_set_string(&cfg->include_tables, value);
	else if (strcmp(name, "state_dir") == 0)
		rc = wr_set_string(&cfg->state_dir, value);
	else if (strcmp(name, "initial_load") == 0)
	{
		if (wr_parse_bool(value, &cfg->initial_load) != 0)
			return wr_fail(errbuf, errlen,
						   "invalid value \"%s\" for initial_load: use true or "
						   "false", value);
	}
	else if (strcmp(name, "exclude_tables") == 0)
		rc = wr_set_string(&cfg->exclude_tables, value);
	else if (strcmp(name, "source") == 0)
	{
		if (strcmp(value, "plugin") == 0)
			cfg->source_trigger = false;
		else if (strcmp(value, "trigger") == 0)
			cfg->source_trigger = true;
		else
			return wr_fail(errbuf, errlen,
						   "invalid value \"%s\" for source: use plugin (a "
						   "replication slot decoded by the walbus plugin) or "
						   "trigger (docs/TRIGGER.md)", value);
	}
	else if (strcmp(name, "tick_interval") == 0)
	{
		if (wr_parse_seconds(value, false, &cfg->tick_interval_ms) != 0 ||
			cfg->tick_interval_ms < 10 || cfg->tick_interval_ms > 60000)
			return wr_fail(errbuf, errlen,
						   "invalid value \"%s\" for tick_interval: use a "
						   "number of seconds from 0.01 to 60", value);
	}
	else if (strcmp(name, "status_interval") == 0 ||
			 strcmp(name, "heartbeat_interval") == 0 ||
			 strcmp(name, "server_timeout") == 0 ||
			 strcmp(name, "reconnect_max_delay") == 0)
	{
		bool		zero_ok = strcmp(name, "server_timeout") == 0;
		int		   *dst = &cfg->reconnect_max_ms;

		if (strcmp(name, "status_interval") == 0)
			dst = &cfg->status_interval_ms;
		else if (strcmp(name, "heartbeat_interval") == 0)
			dst = &cfg->heartbeat_interval_ms;
		else if (zero_ok)
			dst = &cfg->server_timeout_ms;

		if (wr_parse_seconds(value, zero_ok, dst) != 0)
			return wr_fail(errbuf, errlen,
						   "invalid value \"%s\" for %s: use a number of "
						   "seconds", value, name);
	}
	else if (strcmp(name, "wait_subscribers") == 0 ||
			 strcmp(name, "bus_queue") == 0 ||
			 strcmp(name, "jetstream_replicas") == 0)
	{
		bool		queue = name[0] == 'b';
		bool		replicas = name[0] == 'j';
		long		lo = queue || replicas ? 1 : 0;
		long		hi = queue ? WR_MAX_BUS_QUEUE : replicas ? 5 : 1000;
		char	   *end;
		long		n;

		errno = 0;
		n = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || n < lo || n > hi)
			return wr_fail(errbuf, errlen,
						   "invalid value \"%s\" for %s: use a number from "
						   "%ld to %ld", value, name, lo, hi);
		*(queue ? &cfg->bus_queue : replicas ? &cfg->jetstream_replicas :
		  &cfg->wait_subscribers) = (int) n;
	}
	else if (strcmp(name, "frame_bytes") == 0)
	{
		uint64_t	n;

		if (wr_parse_size(value, false, &n) != 0 || n < 1024 ||
			n > 16 * 1024 * 1024)
			return wr_fail(errbuf, errlen,
						   "invalid value \"%s\" for frame_bytes: use a size "
						   "from 1kB to 16MB, e.g. 64kB", value);
		cfg->frame_bytes = (size_t) n;
	}
	else if (strcmp(name, "durable") == 0)
		return wr_add_durable(cfg, value, errbuf, errlen);
	else if (strcmp(name, "window_bytes") == 0)
	{
		if (wr_parse_size(value, false, &cfg->window_bytes) != 0 ||
			cfg->window_bytes < 64 * 1024)
			return wr_fail(errbuf, errlen,
						   "invalid value \"%s\" for window_bytes: use a size "
						   "of at least 64kB, e.g. 64MB", value);
	}
	else if (strcmp(name, "lag_limit") == 0)
	{
		if (wr_parse_size(value, true, &cfg->lag_limit_bytes) != 0)
			return wr_fail(errbuf, errlen,
						   "invalid value \"%s\" for lag_limit: use a size, "
						   "e.g. 1GB, or 0 for none", value);
	}
	else if (strcmp(name, "txn_heartbeat_interval") == 0 ||
			 strcmp(name, "consumer_timeout") == 0)
	{
		bool		zero_ok = name[0] == 't';

		if (wr_parse_seconds(value, zero_ok, zero_ok ? &cfg->txn_heartbeat_ms
							 : &cfg->consumer_timeout_ms) != 0)
			return wr_fail(errbuf, errlen,
						   "invalid value \"%s\" for %s: use a number of "
						   "seconds", value, name);
	}
	else if (strcmp(name, "jetstream") == 0)
	{
		if (cfg->njetstream == WR_MAX_BUS_URLS)
			return wr_fail(errbuf, errlen,
						   "too many jetstream servers (at most %d)",
						   WR_MAX_BUS_URLS);
		if (strncmp(value, "nats://", 7) != 0 || value[7] == '\0')
			return wr_fail(errbuf, errlen,
						   "invalid value \"%s\" for jetstream: use "
						   "nats://HOST:PORT", value);
		cfg->jetstream_urls[cfg->njetstream] = NULL;
		rc = wr_set_string(&cfg->jetstream_urls[cfg->njetstream], value);
		if (rc == 0)
			cfg->njetstream++;
	}
	else if (strcmp(name, "jetstream_stream") == 0)
	{
		/* JetStream's rule: no '.', wildcards, whitespace or separators */
		size_t		n = strlen(value);

		if (n == 0 || n > 64 ||
			strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				   "0123456789_-") != n)
			return wr_fail(errbuf, errlen,
						   "invalid value \"%s\" for jetstream_stream: use "
						   "1 to 64 letters, digits, '_' or '-'", value);
		rc = wr_set_string(&cfg->jetstream_stream, value);
	}
	else if (strcmp(name, "metrics_listen") == 0)
	{
		rc = wr_set_metrics_listen(cfg, value);
		if (rc == -1)
			return wr_fail(errbuf, errlen,
						   "invalid value \"%s\" for metrics_listen: use "
						   "ADDR:PORT with a port from 1 to 65535, e.g. "
						   "127.0.0.1:9187 ([::1]:9187 for IPv6, :9187 for "
						   "every interface)", value);
	}
	else if (strcmp(name, "log_level") == 0)
	{
		cfg->log_level = wr_log_parse_level(value);
		if (cfg->log_level < 0)
			return wr_fail(errbuf, errlen,
						   "invalid log level \"%s\": use error, warning, "
						   "info or debug", value);
	}
	else
		return wr_fail(errbuf, errlen, "unknown setting \"%s\"", name);
	if (rc != 0)
		return wr_fail(errbuf, errlen, "out of memory");
	return 0;
}

typedef struct wr_ini_state
{
	wr_config  *cfg;
	bool		replace_bus;
	char	   *errbuf;
	size_t		errlen;
} wr_ini_state;

/* inih callback: nonzero means success. */
static int
wr_ini_handler(void *user, const char *section, const char *name,
			   const char *value)
{
	wr_ini_state *st = user;

	if (section[0] != '\0' && strcmp(section, "relay") != 0)
	{
		snprintf(st->errbuf, st->errlen,
				 "unknown section [%s]: settings go at the top or under "
				 "[relay]", section);
		return 0;
	}
	return wr_config_set(st->cfg, name, value, &st->replace_bus,
						 st->errbuf, st->errlen) == 0;
}

static int
wr_config_file(wr_config *cfg, const char *path, char *errbuf, size_t errlen)
{
	char		why[512] = "";
	wr_ini_state st = {cfg, false, why, sizeof(why)};
	int			rc = ini_parse(path, wr_ini_handler, &st);

	if (rc == -1)
	{
		snprintf(errbuf, errlen, "could not open config file \"%s\": %s",
				 path, strerror(errno));
		return -1;
	}
	if (rc != 0)
	{
		snprintf(errbuf, errlen, "config file \"%s\", line %d: %s", path, rc,
				 why[0] ? why : "syntax error (expected key = value)");
		return -1;
	}
	return 0;
}

static void
wr_config_defaults(wr_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->status_interval_ms = 10000;
	cfg->tick_interval_ms = 200;
	cfg->heartbeat_interval_ms = 5000;
	cfg->server_timeout_ms = 60000;
	cfg->reconnect_max_ms = 30000;
	cfg->log_level = WR_LOG_INFO;
	cfg->window_bytes = 64 * 1024 * 1024;
	cfg->lag_limit_bytes = 1024ULL * 1024 * 1024;
	cfg->txn_heartbeat_ms = 10000;
	cfg->consumer_timeout_ms = 15000;
	cfg->frame_bytes = 64 * 1024;
	cfg->bus_queue = 1024;
	cfg->jetstream_replicas = 1;
}

/* Fill what neither the file nor the flags set. */
static int
wr_config_finish(wr_config *cfg)
{
	if (cfg->slot == NULL && wr_set_string(&cfg->slot, WR_DEFAULT_SLOT) != 0)
		return -1;
	if (cfg->control_url == NULL &&
		wr_set_string(&cfg->control_url, WR_DEFAULT_CONTROL) != 0)
		return -1;
	if (cfg->jetstream_stream == NULL &&
		wr_set_string(&cfg->jetstream_stream, "WALBUS") != 0)
		return -1;
	if (cfg->nbus == 0)
	{
		if ((cfg->bus_urls[0] = strdup(WR_DEFAULT_BUS)) == NULL)
			return -1;
		cfg->nbus = 1;
	}
	return 0;
}

/* Map a flag to its config-file name. */
static const char *
wr_flag_setting(int opt)
{
	switch (opt)
	{
		case 'd':
			return "dbname";
		case 'S':
			return "slot";
		case 'b':
			return "bus";
		case 'c':
			return "control";
		case OPT_INCLUDE_TABLES:
			return "include_tables";
		case OPT_EXCLUDE_TABLES:
			return "exclude_tables";
		case OPT_STATUS_INTERVAL:
			return "status_interval";
		case OPT_SOURCE:
			return "source";
		case OPT_TICK_INTERVAL:
			return "tick_interval";
		case OPT_TLS_CERT:
			return "tls_cert";
		case OPT_TLS_KEY:
			return "tls_key";
		case OPT_TLS_CA:
			return "tls_ca";
		case OPT_CONTROL_ALLOW:
			return "control_allow";
		case OPT_METRICS_LISTEN:
			return "metrics_listen";
		case OPT_JETSTREAM:
			return "jetstream";
		case OPT_JETSTREAM_STREAM:
			return "jetstream_stream";
		case OPT_JETSTREAM_REPLICAS:
			return "jetstream_replicas";
		case OPT_HEARTBEAT_INTERVAL:
			return "heartbeat_interval";
		case OPT_SERVER_TIMEOUT:
			return "server_timeout";
		case OPT_RECONNECT_MAX_DELAY:
			return "reconnect_max_delay";
		case OPT_LOG_LEVEL:
			return "log_level";
		case OPT_WAIT_SUBSCRIBERS:
			return "wait_subscribers";
		case OPT_DURABLE:
			return "durable";
		case OPT_WINDOW_BYTES:
			return "window_bytes";
		case OPT_LAG_LIMIT:
			return "lag_limit";
		case OPT_TXN_HEARTBEAT_INTERVAL:
			return "txn_heartbeat_interval";
		case OPT_CONSUMER_TIMEOUT:
			return "consumer_timeout";
		case OPT_FRAME_BYTES:
			return "frame_bytes";
		case OPT_BUS_QUEUE:
			return "bus_queue";
		case OPT_STATE_DIR:
			return "state_dir";
	}
	return NULL;
}

int
wr_config_load(wr_config *cfg, int argc, char **argv, char *errbuf,
			   size_t errlen)
{
	const char *config_file = NULL;
	bool		replace_bus = true;
	int			opt;

	wr_config_defaults(cfg);

	/* first pass: only --config, --help and --version */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "d:S:b:c:h", wr_options, NULL)) != -1)
	{
		if (opt == 'h')
		{
			wr_usage();
			exit(0);
		}
		if (opt == OPT_VERSION)
		{
			printf("walbus-relay 0.1 (bus layout %d)\n", WBE_LAYOUT);
			exit(0);
		}
		if (opt == OPT_CONFIG)
			config_file = optarg;
	}
	if (config_file != NULL && wr_config_file(cfg, config_file, errbuf,
											  errlen) != 0)
		return -1;

	/* second pass: every flag, over the file's values */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "d:S:b:c:h", wr_options, NULL)) != -1)
	{
		const char *setting;

		if (opt == OPT_CONFIG || opt == 'h' || opt == OPT_VERSION)
			continue;
		if (opt == OPT_CREATE_SLOT)
		{
			cfg->create_slot = true;
			continue;
		}
		if (opt == OPT_INITIAL_LOAD)
		{
			cfg->initial_load = true;
			continue;
		}
		if (opt == OPT_JSON)
		{
			cfg->check_json = true;
			continue;
		}
		if (opt == OPT_TLS_REQUIRE_CLIENT_CERT || opt == OPT_TRUSTED_NETWORK)
		{
			*(opt == OPT_TRUSTED_NETWORK ? &cfg->trusted_network :
			  &cfg->tls_require_client_cert) = true;
			continue;
		}
		if (opt == '?' || opt == ':')
		{
			snprintf(errbuf, errlen,
					 "invalid option or missing value: \"%s\" (see "
					 "walbus-relay --help)", argv[optind - 1]);
			return -1;
		}
		setting = wr_flag_setting(opt);
		if (setting == NULL ||
			wr_config_set(cfg, setting, optarg, &replace_bus, errbuf,
						  errlen) != 0)
			return -1;
	}
	if (optind < argc)
	{
		static const char *const commands[] = {"trigger-install",
		"trigger-remove", "check"};

		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (strcmp(argv[optind], commands[i]) == 0)
				cfg->command = commands[i];
		if (cfg->command == NULL || optind + 1 < argc)
		{
			snprintf(errbuf, errlen, "unexpected argument \"%s\" (see "
					 "walbus-relay --help)",
					 argv[cfg->command == NULL ? optind : optind + 1]);
			return -1;
		}
	}
	if (cfg->check_json &&
		(cfg->command == NULL || strcmp(cfg->command, "check") != 0))
	{
		snprintf(errbuf, errlen, "--json goes with the command check "
				 "(walbus-relay check --json)");
		return -1;
	}
	if (wr_config_finish(cfg) != 0)
	{
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void
wr_config_free(wr_config *cfg)
{
	free(cfg->dbname);
	free(cfg->slot);
	for (int i = 0; i < cfg->nbus; i++)
		free(cfg->bus_urls[i]);
	free(cfg->control_url);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->tls_ca);
	free(cfg->include_tables);
	free(cfg->state_dir);
	free(cfg->exclude_tables);
	free(cfg->metrics_listen);
	free(cfg->metrics_host);
	for (int i = 0; i < cfg->njetstream; i++)
		free(cfg->jetstream_urls[i]);
	free(cfg->jetstream_stream);
	for (int i = 0; i < cfg->ndurable; i++)
		free(cfg->durable[i]);
	memset(cfg, 0, sizeof(*cfg));
}
