/*-------------------------------------------------------------------------
 *
 * config.c
 *	  Defaults, config file and flags of walbus-relay (see config.h).
 *
 * wr_settings is the only place that knows a setting: its names, how it
 * is parsed and checked, its default, whether a SIGHUP applies it and its
 * --help lines.  Everything else here walks that table: the getopt_long
 * options, the config file's keys, the defaults, --help, wr_config_free
 * and the SIGHUP split.  Defaults, the file and the flags all go through
 * wr_setting_set, so a value is parsed the same way wherever it is given.
 *
 *-------------------------------------------------------------------------
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "walbus_envelope.h"

#define lengthof(a) (sizeof(a) / sizeof((a)[0]))
#define WR_STR(x)	WR_STR_(x)
#define WR_STR_(x)	#x

/* getopt_long returns this plus a row's index for a long-only flag */
#define WR_OPT_BASE 256

/* where --help starts the text of each flag */
#define WR_HELP_COLUMN 29

/* the longest period any timing setting takes, in ms: a day */
#define WR_DAY_MS 86400000

/* Where a value was given; a list keeps the values of one source only. */
typedef enum wr_origin
{
	WR_FROM_DEFAULT,
	WR_FROM_FILE,
	WR_FROM_FLAG
} wr_origin;

static bool wr_slot_name_ok(const char *name, size_t n);
static bool wr_consumer_name_ok(const char *name, size_t n);
static bool wr_nats_url_ok(const char *url, size_t n);
static bool wr_stream_name_ok(const char *name, size_t n);
static bool wr_metrics_listen_ok(const char *value, size_t n);

#define WR_AT(field) .offset = offsetof(wr_config, field)
#define WR_LIST_AT(field, count) \
	.offset = offsetof(wr_config, field), \
	.count_offset = offsetof(wr_config, count), \
	.max = sizeof(((wr_config *) 0)->field) / sizeof(char *)

/* in wr_source's order */
static const char *const wr_source_names[] = {"plugin", "trigger", NULL};

/*
 * The settings.  Rows are in the order the SIGHUP log names changed ones
 * (log_level first, as docs/RELAY.md section 8 shows); --help prints them
 * section by section (wr_help_sections), in this order within a section.
 * A new setting is a field in wr_config and a row here.
 */
/* clang-format off */
const wr_setting wr_settings[] = {
	/* Other */
	{.name = "metrics_listen", .flag = "metrics-listen",
		.kind = WR_SET_STRING, WR_AT(metrics_listen),
		.check = wr_metrics_listen_ok,
		.hint = "ADDR:PORT with a port from 1 to 65535, e.g. 127.0.0.1:9187 "
		"([::1]:9187 for IPv6, :9187 for every interface)",
		.section = WR_HELP_OTHER, .arg = "ADDR:PORT",
		.help = "serve Prometheus metrics on\n"
		"http://ADDR:PORT/metrics (default: off;\n"
		"[::1]:PORT for IPv6, :PORT for every\n"
		"interface)"},
	{.flag = "config", .kind = WR_SET_CONFIG,
		.section = WR_HELP_OTHER, .arg = "FILE",
		.help = "read settings from FILE (key = value, keys are\n"
		"the long options with '_' for '-'); flags win"},
	{.name = "log_level", .flag = "log-level",
		.kind = WR_SET_ENUM, WR_AT(log_level),
		.choices = wr_log_level_names, .def = "info", .reload = true,
		.noun = "log level",
		.section = WR_HELP_OTHER, .arg = "LEVEL",
		.help = "error, warning, info (default) or debug"},
	{.flag = "help", .short_flag = 'h', .kind = WR_SET_HELP,
		.section = WR_HELP_OTHER,
		.help = "show this help, then exit"},
	{.flag = "version", .kind = WR_SET_VERSION,
		.section = WR_HELP_OTHER,
		.help = "show the version, then exit"},

	/* Connection */
	{.name = "dbname", .flag = "dbname", .short_flag = 'd',
		.kind = WR_SET_STRING, WR_AT(dbname),
		.section = WR_HELP_CONNECTION, .arg = "CONNINFO",
		.help = "libpq conninfo string, URI or database name;\n"
		"PG* environment variables apply as usual"},
	{.name = "slot", .flag = "slot", .short_flag = 'S',
		.kind = WR_SET_STRING, WR_AT(slot),
		.def = "walbus", .check = wr_slot_name_ok,
		.noun = "slot name",
		.hint = "1 to 63 lower-case letters, digits and underscores",
		.section = WR_HELP_CONNECTION, .arg = "NAME",
		.help = "replication slot (default \"walbus\")"},
	{.name = "create_slot", .flag = "create-slot",
		.kind = WR_SET_BOOL, WR_AT(create_slot),
		.section = WR_HELP_CONNECTION,
		.help = "create the slot with the walbus plugin if it\n"
		"does not exist"},
	{.name = "include_tables", .flag = "include-tables",
		.kind = WR_SET_STRING, WR_AT(include_tables),
		.section = WR_HELP_CONNECTION, .arg = "PATS",
		.help = "only tables matching these schema.table patterns"},
	{.name = "exclude_tables", .flag = "exclude-tables",
		.kind = WR_SET_STRING, WR_AT(exclude_tables),
		.section = WR_HELP_CONNECTION, .arg = "PATS",
		.help = "never tables matching these patterns"},
	{.name = "source", .flag = "source",
		.kind = WR_SET_ENUM, WR_AT(source),
		.choices = wr_source_names, .def = "plugin",
		.hint = "plugin (a replication slot decoded by the walbus plugin) "
		"or trigger (docs/TRIGGER.md)",
		.section = WR_HELP_CONNECTION, .arg = "SOURCE",
		.help = "plugin (default: a slot decoded by walbus)\n"
		"or trigger (the queue trigger-install\n"
		"made: no REPLICATION attribute needed)"},
	{.name = "tick_interval", .flag = "tick-interval",
		.kind = WR_SET_SECONDS, WR_AT(tick_interval_ms),
		.min = 10, .max = 60000, .def = "0.2", .reload = true,
		.section = WR_HELP_CONNECTION, .arg = "S",
		.help = "trigger source: how often the queue is\n"
		"read (default 0.2)"},
	{.name = "initial_load", .flag = "initial-load",
		.kind = WR_SET_BOOL, WR_AT(initial_load),
		.section = WR_HELP_CONNECTION,
		.help = "when --create-slot creates the slot, read\n"
		"every eligible table into the stream\n"
		"(a backfill of each, docs/BACKFILL.md)"},
	{.name = "state_dir", .flag = "state-dir",
		.kind = WR_SET_STRING, WR_AT(state_dir),
		.section = WR_HELP_CONNECTION, .arg = "DIR",
		.help = "keep backfill progress here, so that a\n"
		"restarted relay resumes them (default:\n"
		"none; backfills then restart from scratch)"},

	/* Bus */
	{.name = "bus", .flag = "bus", .short_flag = 'b',
		.kind = WR_SET_LIST, WR_LIST_AT(bus_urls, nbus),
		.def = "ipc:///tmp/walbus.pub", .many = "bus URLs",
		.section = WR_HELP_BUS, .arg = "URL",
		.help = "nng pub listener; repeat for several\n"
		"(default ipc:///tmp/walbus.pub; ipc sockets are mode 0600)"},
	{.name = "control", .flag = "control", .short_flag = 'c',
		.kind = WR_SET_STRING, WR_AT(control_url),
		.def = "ipc:///tmp/walbus.ctl",
		.section = WR_HELP_BUS, .arg = "URL",
		.help = "nng rep control listener (default ipc:///tmp/walbus.ctl)"},
	{.name = "frame_bytes", .flag = "frame-bytes",
		.kind = WR_SET_SIZE, WR_AT(frame_bytes),
		.min = 1024, .max = 16 * 1024 * 1024, .def = "64kB",
		.section = WR_HELP_BUS, .arg = "SIZE",
		.help = "close a bus frame (many changes of one\n"
		"transaction on one topic) at this size\n"
		"(default 64kB, 1kB to 16MB)"},
	{.name = "bus_queue", .flag = "bus-queue",
		.kind = WR_SET_INT, WR_AT(bus_queue),
		.min = 1, .max = WR_MAX_BUS_QUEUE, .def = "1024",
		.section = WR_HELP_BUS, .arg = "N",
		.help = "frames queued per subscriber before the bus\n"
		"drops for it (default 1024, 1 to 8192)"},
	{.name = "wait_subscribers", .flag = "wait-subscribers",
		.kind = WR_SET_INT, WR_AT(wait_subscribers),
		.min = 0, .max = 1000, .def = "0",
		.section = WR_HELP_BUS, .arg = "N",
		.help = "at start-up, stream only once N subscribers\n"
		"are connected, so they miss nothing (default 0)"},

	/* Delivery */
	{.name = "durable", .flag = "durable",
		.kind = WR_SET_LIST, WR_LIST_AT(durable, ndurable),
		.split = true, .check = wr_consumer_name_ok,
		.noun = "durable consumer name",
		.hint = "1 to " WR_STR(WR_CONSUMER_NAME_MAX)
		" letters, digits, '_', '-' or '.'",
		.many = "durable consumers",
		.section = WR_HELP_DELIVERY, .arg = "NAME[,NAME]",
		.help = "durable consumers: the slot advances only past\n"
		"what every one of them acknowledged; repeat\n"
		"or list (default none: best effort)"},
	{.name = "window_bytes", .flag = "window-bytes",
		.kind = WR_SET_SIZE, WR_AT(window_bytes),
		.min = 64 * 1024, .max = UINT64_MAX, .def = "64MB",
		.section = WR_HELP_DELIVERY, .arg = "SIZE",
		.help = "recent messages kept in memory for replays\n"
		"(default 64MB; kB, MB, GB suffixes)"},
	{.name = "lag_limit", .flag = "lag-limit",
		.kind = WR_SET_SIZE, WR_AT(lag_limit_bytes),
		.min = 0, .max = UINT64_MAX, .def = "1GB", .reload = true,
		.section = WR_HELP_DELIVERY, .arg = "SIZE",
		.help = "warn loudly when a durable consumer's acks\n"
		"lag the stream by more (default 1GB, 0: off)"},
	{.name = "txn_heartbeat_interval", .flag = "txn-heartbeat-interval",
		.kind = WR_SET_SECONDS, WR_AT(txn_heartbeat_ms),
		.min = 0, .max = WR_DAY_MS, .def = "10", .reload = true,
		.section = WR_HELP_DELIVERY, .arg = "S",
		.help = "write a transactional heartbeat message\n"
		"so the slot advances while eligible tables\n"
		"are quiet (default 10, 0: off)"},
	{.name = "consumer_timeout", .flag = "consumer-timeout",
		.kind = WR_SET_SECONDS, WR_AT(consumer_timeout_ms),
		.min = 1, .max = WR_DAY_MS, .def = "15", .reload = true,
		.section = WR_HELP_DELIVERY, .arg = "S",
		.help = "a durable consumer silent this long stops\n"
		"holding the window back (default 15)"},

	/* Security */
	{.name = "tls_cert", .flag = "tls-cert",
		.kind = WR_SET_STRING, WR_AT(tls_cert),
		.section = WR_HELP_SECURITY, .arg = "FILE",
		.help = "PEM certificate of tls+tcp:// listeners"},
	{.name = "tls_key", .flag = "tls-key",
		.kind = WR_SET_STRING, WR_AT(tls_key),
		.section = WR_HELP_SECURITY, .arg = "FILE",
		.help = "its unencrypted PEM key"},
	{.name = "tls_ca", .flag = "tls-ca",
		.kind = WR_SET_STRING, WR_AT(tls_ca),
		.section = WR_HELP_SECURITY, .arg = "FILE",
		.help = "PEM CAs that client certificates must\n"
		"chain to"},
	{.name = "tls_require_client_cert", .flag = "tls-require-client-cert",
		.kind = WR_SET_BOOL, WR_AT(tls_require_client_cert),
		.section = WR_HELP_SECURITY,
		.help = "refuse tls clients without one"},
	{.name = "trusted_network", .flag = "trusted-network",
		.kind = WR_SET_BOOL, WR_AT(trusted_network),
		.section = WR_HELP_SECURITY,
		.help = "allow plain tcp:// listeners beyond\n"
		"loopback (whoever reaches them reads every\n"
		"change and can acknowledge)"},
	{.name = "control_allow", .flag = "control-allow",
		.kind = WR_SET_RULES, WR_AT(control_allow), .reload = true,
		.section = WR_HELP_SECURITY, .arg = "RULES",
		.help = "who may do what on the control socket:\n"
		"IDENTITY=RIGHT[,...], identities cn:NAME,\n"
		"cn:*, uid:N, uid:*, any; rights read,\n"
		"consumer:NAME, all; repeat or list"},

	/* JetStream */
	{.name = "jetstream", .flag = "jetstream",
		.kind = WR_SET_LIST, WR_LIST_AT(jetstream_urls, njetstream),
		.check = wr_nats_url_ok, .hint = "nats://HOST:PORT or tls://HOST:PORT",
		.many = "jetstream servers",
		.section = WR_HELP_JETSTREAM, .arg = "URL",
		.help = "also publish every frame to NATS JetStream at\n"
		"nats://HOST:PORT (repeat for a server list);\n"
		"the slot then advances only past what\n"
		"JetStream acknowledged (default: off)"},
	{.name = "jetstream_stream", .flag = "jetstream-stream",
		.kind = WR_SET_STRING, WR_AT(jetstream_stream),
		.def = "WALBUS", .check = wr_stream_name_ok,
		.hint = "1 to 64 letters, digits, '_' or '-'",
		.section = WR_HELP_JETSTREAM, .arg = "NAME",
		.help = "the stream, created when missing with\n"
		"subjects walbus.> (default WALBUS)"},
	{.name = "jetstream_replicas", .flag = "jetstream-replicas",
		.kind = WR_SET_INT, WR_AT(jetstream_replicas),
		.min = 1, .max = 5, .def = "1",
		.section = WR_HELP_JETSTREAM, .arg = "N",
		.help = "replicas of the stream the relay creates,\n"
		"1 to 5 (default 1)"},
	{.name = "jetstream_creds", .flag = "jetstream-creds",
		.kind = WR_SET_STRING, WR_AT(jetstream_creds),
		.section = WR_HELP_JETSTREAM, .arg = "FILE",
		.help = "a NATS credentials file (.creds) for the\n"
		"servers (or user:password@ in the URL)"},
	{.name = "jetstream_tls_ca", .flag = "jetstream-tls-ca",
		.kind = WR_SET_STRING, WR_AT(jetstream_tls_ca),
		.section = WR_HELP_JETSTREAM, .arg = "FILE",
		.help = "PEM CAs the servers' certificates must\n"
		"chain to: the connections are then TLS"},
	{.name = "jetstream_tls_cert", .flag = "jetstream-tls-cert",
		.kind = WR_SET_STRING, WR_AT(jetstream_tls_cert),
		.section = WR_HELP_JETSTREAM, .arg = "FILE",
		.help = "the relay's PEM certificate, for servers\n"
		"that verify clients"},
	{.name = "jetstream_tls_key", .flag = "jetstream-tls-key",
		.kind = WR_SET_STRING, WR_AT(jetstream_tls_key),
		.section = WR_HELP_JETSTREAM, .arg = "FILE",
		.help = "its unencrypted PEM key"},

	/* Timing */
	{.name = "status_interval", .flag = "status-interval",
		.kind = WR_SET_SECONDS, WR_AT(status_interval_ms),
		.min = 1, .max = WR_DAY_MS, .def = "10", .reload = true,
		.section = WR_HELP_TIMING, .arg = "S",
		.help = "standby status update period (default 10)"},
	{.name = "heartbeat_interval", .flag = "heartbeat-interval",
		.kind = WR_SET_SECONDS, WR_AT(heartbeat_interval_ms),
		.min = 1, .max = WR_DAY_MS, .def = "5", .reload = true,
		.section = WR_HELP_TIMING, .arg = "S",
		.help = "heartbeat period on the _hb topic (default 5)"},
	{.name = "server_timeout", .flag = "server-timeout",
		.kind = WR_SET_SECONDS, WR_AT(server_timeout_ms),
		.min = 0, .max = WR_DAY_MS, .def = "60", .reload = true,
		.section = WR_HELP_TIMING, .arg = "S",
		.help = "reconnect after this much silence from the\n"
		"server, 0 to disable (default 60)"},
	{.name = "reconnect_max_delay", .flag = "reconnect-max-delay",
		.kind = WR_SET_SECONDS, WR_AT(reconnect_max_ms),
		.min = 1, .max = WR_DAY_MS, .def = "30", .reload = true,
		.section = WR_HELP_TIMING, .arg = "S",
		.help = "cap of the reconnect backoff (default 30)"},

	/* Preflight */
	{.flag = "json", .kind = WR_SET_BOOL, WR_AT(check_json),
		.section = WR_HELP_PREFLIGHT,
		.help = "check: one JSON object instead of lines"},
};
/* clang-format on */

const int wr_nsettings = (int) lengthof(wr_settings);

/* --help's groups: a title, and the commands a group describes. */
/* clang-format off */
static const struct
{
	const char *title;
	const char *commands;
}			wr_help_sections[WR_HELP_NSECTIONS] = {
	[WR_HELP_PREFLIGHT] = {
		"Preflight (docs/RELAY.md section 6, \"Before starting\"):",
		"  check                      connect as the relay would and report, with\n"
		"                             the fix for each problem: server version,\n"
		"                             output_plugin_libraries, wal_level, the\n"
		"                             REPLICATION attribute, slot and walsender\n"
		"                             headroom, a replication connection, the\n"
		"                             slot (plugin, activity, lag, wal_status)\n"
		"                             and each table's eligibility; creates\n"
		"                             nothing.  Exit status 0 all ok, 1 warnings,\n"
		"                             2 errors (or a connection failure)\n"
	},
	[WR_HELP_COMMANDS] = {
		"Commands (for databases where the role has no REPLICATION attribute;\n"
		"docs/TRIGGER.md):",
		"  trigger-install            create schema walbus_trigger (a queue and\n"
		"                             a capture function) as the connecting role,\n"
		"                             give each eligible table its triggers and\n"
		"                             say why the others have none; run it again\n"
		"                             after creating or changing tables\n"
		"  trigger-remove             take the triggers off every table and drop\n"
		"                             the schema, with its events\n"
	},
	[WR_HELP_CONNECTION] = {"Connection:", NULL},
	[WR_HELP_BUS] = {"Bus:", NULL},
	[WR_HELP_SECURITY] = {"Security (docs/RELAY.md, \"Security\"):", NULL},
	[WR_HELP_DELIVERY] = {"Delivery (docs/DELIVERY.md):", NULL},
	[WR_HELP_JETSTREAM] = {"JetStream (docs/RELAY.md, \"JetStream\"):", NULL},
	[WR_HELP_TIMING] = {"Timing (seconds, fractions allowed):", NULL},
	[WR_HELP_OTHER] = {"Other:", NULL},
};
/* clang-format on */

/* What wr_setting_set needs besides the value. */
typedef struct wr_load
{
	wr_config *cfg;
	wr_origin  from; /* where the values being set come from */
	wr_origin  origin[lengthof(wr_settings)]; /* of each list's values */
	char	  *errbuf;
	size_t	   errlen;
} wr_load;

/* ------------------------------------------------------------------ help */

/* One row's lines: the flag, then its help from WR_HELP_COLUMN on. */
static void
wr_usage_row(FILE *out, const wr_setting *s)
{
	char		lead[64];
	const char *line = s->help;
	int			n;

	if (s->short_flag != 0)
		snprintf(lead, sizeof(lead), "  -%c, --%s%s%s", s->short_flag, s->flag,
				 s->arg ? "=" : "", s->arg ? s->arg : "");
	else
		snprintf(lead, sizeof(lead), "      --%s%s%s", s->flag,
				 s->arg ? "=" : "", s->arg ? s->arg : "");
	/* at least two spaces: a long flag pushes its first line right */
	n = (int) strlen(lead);
	fprintf(out, "%s%*s", lead,
			n + 2 < WR_HELP_COLUMN ? WR_HELP_COLUMN - n : 2, "");
	for (;;)
	{
		size_t len = strcspn(line, "\n");

		fprintf(out, "%.*s\n", (int) len, line);
		if (line[len] == '\0')
			break;
		line += len + 1;
		fprintf(out, "%*s", WR_HELP_COLUMN, "");
	}
}

void
wr_config_usage(FILE *out)
{
	fprintf(
		out,
		"walbus-relay streams a PostgreSQL logical replication slot decoded by\n"
		"the walbus output plugin and publishes each change on an nng bus.\n"
		"\n"
		"Usage:\n"
		"  walbus-relay [OPTION]...\n"
		"  walbus-relay [OPTION]... trigger-install\n"
		"  walbus-relay [OPTION]... trigger-remove\n"
		"  walbus-relay [OPTION]... check [--json]\n");
	for (int sec = 0; sec < WR_HELP_NSECTIONS; sec++)
	{
		fprintf(out, "\n%s\n", wr_help_sections[sec].title);
		if (wr_help_sections[sec].commands != NULL)
			fputs(wr_help_sections[sec].commands, out);
		for (size_t i = 0; i < lengthof(wr_settings); i++)
			if ((int) wr_settings[i].section == sec)
				wr_usage_row(out, &wr_settings[i]);
	}
	fprintf(out,
			"\n"
			"Signals: SIGTERM and SIGINT stop after a final status update.\n"
			"See docs/RELAY.md and docs/PROTOCOL.md (Part 2).\n");
}

/* --------------------------------------------------------------- parsing */

static int wr_fail(char *errbuf, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
wr_fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void wr_appendf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Add to the string in buf, cutting what does not fit. */
static void
wr_appendf(char *buf, size_t len, const char *fmt, ...)
{
	size_t	used = strlen(buf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static int
wr_set_string(char **dst, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return -1;
	free(*dst);
	*dst = copy;
	return 0;
}

/* Seconds from 0 to a day, fractions allowed, into ms (0 < s < 1 ms: no). */
static int
wr_parse_seconds(const char *value, int *ms)
{
	char  *end;
	double s;

	errno = 0;
	s = strtod(value, &end);
	if (errno != 0 || end == value || *end != '\0' || !isfinite(s) || s < 0 ||
		s > WR_DAY_MS / 1000 || (s > 0 && s < 0.001))
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
	else if (strcasecmp(value, "false") == 0 ||
			 strcasecmp(value, "off") == 0 || strcasecmp(value, "no") == 0 ||
			 strcmp(value, "0") == 0)
		*b = false;
	else
		return -1;
	return 0;
}

/* A byte size: digits with an optional kB, MB or GB suffix (1024-based). */
static int
wr_parse_size(const char *value, uint64_t *bytes)
{
	char			  *end;
	unsigned long long n;
	uint64_t		   mult = 1;

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
	if (n > UINT64_MAX / mult / 2)
		return -1;
	*bytes = n * mult;
	return 0;
}

/* 1024 as "1kB", 16777216 as "16MB": how the messages write bounds. */
static void
wr_format_size(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = {"GB", "MB", "kB"};

	for (int i = 0; i < 3; i++)
	{
		uint64_t unit = (uint64_t) 1 << (10 * (3 - i));

		if (n > 0 && n % unit == 0)
		{
			snprintf(buf, len, "%llu%s", (unsigned long long) (n / unit),
					 units[i]);
			return;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long) n);
}

/*
 * Slot names follow PostgreSQL's rule (lower-case letters, digits and
 * underscores, at most 63 bytes), checked here so that they can be put in
 * replication commands without quoting and the error comes early.
 */
static bool
wr_slot_name_ok(const char *name, size_t n)
{
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
			  (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return false;
	return true;
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
			  (name[i] >= '0' && name[i] <= '9') || name[i] == '_' ||
			  name[i] == '-' || name[i] == '.'))
			return false;
	return true;
}

static bool
wr_nats_url_ok(const char *url, size_t n)
{
	return (n > 7 && strncmp(url, "nats://", 7) == 0) ||
		(n > 6 && strncmp(url, "tls://", 6) == 0);
}

/* JetStream's rule: no '.', wildcards, whitespace or separators */
static bool
wr_stream_name_ok(const char *name, size_t n)
{
	return n > 0 && n <= 64 &&
		strspn(name,
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			   "0123456789_-") == n;
}

/*
 * metrics_listen: HOST:PORT, [IPV6]:PORT or :PORT (every interface); the
 * host (without brackets) is at value + *hostoff, *hostlen long.  Only the
 * form is checked here; the host is resolved when the relay starts
 * (metrics.c), which reports an unknown name or a taken port.
 */
static bool
wr_metrics_split(const char *value, size_t *hostoff, size_t *hostlen,
				 int *port)
{
	const char *colon = strrchr(value, ':');
	const char *host = value;
	size_t		n;
	char	   *end;
	long		p;

	if (colon == NULL || colon[1] == '\0')
		return false;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || colon[1] == '-' || colon[1] == '+' ||
		p < 1 || p > 65535)
		return false;
	n = (size_t) (colon - value);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
	{
		host++;
		n -= 2;
		if (n == 0 || strspn(host, "0123456789abcdefABCDEF:.") < n)
			return false;
	}
	else if (strspn(host,
					"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					"0123456789.-") < n)
		return false; /* an IPv6 address needs its brackets */
	*hostoff = (size_t) (host - value);
	*hostlen = n;
	*port = (int) p;
	return true;
}

static bool
wr_metrics_listen_ok(const char *value, size_t n)
{
	size_t hostoff;
	size_t hostlen;
	int	   port;

	return strlen(value) == n &&
		wr_metrics_split(value, &hostoff, &hostlen, &port);
}

/* The "use ..." of a setting's error message, from its kind and bounds. */
static const char *
wr_hint(const wr_setting *s, char *buf, size_t len)
{
	char lo[32];
	char hi[32];

	if (s->hint != NULL)
		return s->hint;
	buf[0] = '\0';
	switch (s->kind)
	{
		case WR_SET_BOOL:
			return "true or false";
		case WR_SET_INT:
			snprintf(buf, len, "a number from %llu to %llu",
					 (unsigned long long) s->min, (unsigned long long) s->max);
			break;
		case WR_SET_SECONDS:
			if (s->min > 1 || s->max < WR_DAY_MS)
				snprintf(buf, len, "a number of seconds from %g to %g",
						 s->min / 1000.0, s->max / 1000.0);
			else
				snprintf(buf, len, "a number of seconds");
			break;
		case WR_SET_SIZE:
			wr_format_size(s->min, lo, sizeof(lo));
			wr_format_size(s->max, hi, sizeof(hi));
			if (s->max != UINT64_MAX)
				snprintf(buf, len, "a size from %s to %s", lo, hi);
			else if (s->min > 0)
				snprintf(buf, len, "a size of at least %s", lo);
			else
				snprintf(buf, len, "a size");
			if (s->def != NULL)
				wr_appendf(buf, len, ", e.g. %s", s->def);
			if (s->min == 0)
				wr_appendf(buf, len, ", or 0 for none");
			break;
		case WR_SET_ENUM:
			for (int i = 0; s->choices[i] != NULL; i++)
			{
				const char *sep = ", ";

				if (i == 0)
					sep = "";
				else if (s->choices[i + 1] == NULL)
					sep = " or ";
				wr_appendf(buf, len, "%s%s", sep, s->choices[i]);
			}
			break;
		default:
			break;
	}
	return buf;
}

/* The message for a value that does not parse or is out of bounds. */
static int
wr_invalid(wr_load *ld, const wr_setting *s, const char *value, size_t n)
{
	char		buf[128];
	const char *use = wr_hint(s, buf, sizeof(buf));

	/* a name out of a list: enough of it to find it */
	if (s->split && n > 80)
		n = 80;
	if (s->noun != NULL)
		return wr_fail(ld->errbuf, ld->errlen, "invalid %s \"%.*s\": use %s",
					   s->noun, (int) n, value, use);
	return wr_fail(ld->errbuf, ld->errlen,
				   "invalid value \"%.*s\" for %s: use %s", (int) n, value,
				   s->name, use);
}

static int
wr_oom(wr_load *ld)
{
	return wr_fail(ld->errbuf, ld->errlen, "out of memory");
}

static void
wr_list_clear(wr_config *cfg, const wr_setting *s)
{
	char **items = (char **) ((char *) cfg + s->offset);
	int	  *count;

	/* zeroed whole, so that wr_setting_differs can compare rule sets */
	if (s->kind == WR_SET_RULES)
	{
		memset(items, 0, sizeof(wr_authz));
		return;
	}
	count = (int *) ((char *) cfg + s->count_offset);
	for (int i = 0; i < *count; i++)
		free(items[i]);
	*count = 0;
}

/* Add one value to a list: s->split ones hold each name once. */
static int
wr_list_add(wr_load *ld, const wr_setting *s, const char *value, size_t n)
{
	char **items = (char **) ((char *) ld->cfg + s->offset);
	int	  *count = (int *) ((char *) ld->cfg + s->count_offset);

	if (s->check != NULL && !s->check(value, n))
		return wr_invalid(ld, s, value, n);
	if (s->split)
		for (int i = 0; i < *count; i++)
			if (strlen(items[i]) == n && memcmp(items[i], value, n) == 0)
				return 0;
	if ((uint64_t) *count == s->max)
		return wr_fail(ld->errbuf, ld->errlen, "too many %s (at most %d)",
					   s->many, (int) s->max);
	if ((items[*count] = strndup(value, n)) == NULL)
		return wr_oom(ld);
	(*count)++;
	return 0;
}

/*
 * Set one setting from its text, given where ld->from says.  Lists add
 * up, except that the first value from a source later than the list's
 * (the file after the defaults, a flag after the file) replaces it.
 */
static int
wr_setting_set(wr_load *ld, const wr_setting *s, const char *value)
{
	void	*field = (char *) ld->cfg + s->offset;
	size_t	 n = strlen(value);
	uint64_t size;
	int		 ms;
	long	 num;
	char	*end;

	switch (s->kind)
	{
		case WR_SET_STRING:
			if (s->check != NULL && !s->check(value, n))
				return wr_invalid(ld, s, value, n);
			return wr_set_string(field, value) == 0 ? 0 : wr_oom(ld);
		case WR_SET_BOOL:
			if (wr_parse_bool(value, field) != 0)
				return wr_invalid(ld, s, value, n);
			return 0;
		case WR_SET_INT:
			errno = 0;
			num = strtol(value, &end, 10);
			if (errno != 0 || end == value || *end != '\0' || num < 0 ||
				(uint64_t) num < s->min || (uint64_t) num > s->max)
				return wr_invalid(ld, s, value, n);
			*(int *) field = (int) num;
			return 0;
		case WR_SET_SECONDS:
			if (wr_parse_seconds(value, &ms) != 0 || (uint64_t) ms < s->min ||
				(uint64_t) ms > s->max)
				return wr_invalid(ld, s, value, n);
			*(int *) field = ms;
			return 0;
		case WR_SET_SIZE:
			if (wr_parse_size(value, &size) != 0 || size < s->min ||
				size > s->max)
				return wr_invalid(ld, s, value, n);
			*(uint64_t *) field = size;
			return 0;
		case WR_SET_ENUM:
			for (int i = 0; s->choices[i] != NULL; i++)
				if (strcmp(value, s->choices[i]) == 0)
				{
					*(int *) field = i;
					return 0;
				}
			return wr_invalid(ld, s, value, n);
		case WR_SET_LIST:
		case WR_SET_RULES:
			if (ld->origin[s - wr_settings] < ld->from)
			{
				wr_list_clear(ld->cfg, s);
				ld->origin[s - wr_settings] = ld->from;
			}
			if (s->kind == WR_SET_RULES)
				return wr_authz_add(field, value, ld->errbuf, ld->errlen);
			if (!s->split)
				return wr_list_add(ld, s, value, n);
			/* "a,b, c": each name */
			while (*value != '\0')
			{
				while (*value == ' ' || *value == ',')
					value++;
				n = strcspn(value, ", ");
				if (n > 0 && wr_list_add(ld, s, value, n) != 0)
					return -1;
				value += n;
			}
			return 0;
		case WR_SET_CONFIG:
		case WR_SET_HELP:
		case WR_SET_VERSION:
			break; /* wr_config_load's own */
	}
	return 0;
}

static const wr_setting *
wr_setting_by_name(const char *name)
{
	for (size_t i = 0; i < lengthof(wr_settings); i++)
		if (wr_settings[i].name != NULL &&
			strcmp(wr_settings[i].name, name) == 0)
			return &wr_settings[i];
	return NULL;
}

/* ------------------------------------------------------- file and flags */

/* inih callback: nonzero means success. */
static int
wr_ini_handler(void *user, const char *section, const char *name,
			   const char *value)
{
	wr_load			 *ld = user;
	const wr_setting *s;

	if (section[0] != '\0' && strcmp(section, "relay") != 0)
	{
		snprintf(ld->errbuf, ld->errlen,
				 "unknown section [%s]: settings go at the top or under "
				 "[relay]",
				 section);
		return 0;
	}
	if ((s = wr_setting_by_name(name)) == NULL)
	{
		snprintf(ld->errbuf, ld->errlen, "unknown setting \"%s\"", name);
		return 0;
	}
	return wr_setting_set(ld, s, value) == 0;
}

static int
wr_config_file(wr_load *ld, const char *path)
{
	char   why[512] = "";
	char  *errbuf = ld->errbuf;
	size_t errlen = ld->errlen;
	int	   rc;

	/* the handler's message goes into why, then into the whole line */
	ld->errbuf = why;
	ld->errlen = sizeof(why);
	rc = ini_parse(path, wr_ini_handler, ld);
	ld->errbuf = errbuf;
	ld->errlen = errlen;
	if (rc == -1)
		return wr_fail(errbuf, errlen, "could not open config file \"%s\": %s",
					   path, strerror(errno));
	if (rc != 0)
		return wr_fail(errbuf, errlen, "config file \"%s\", line %d: %s", path,
					   rc,
					   why[0] ? why : "syntax error (expected key = value)");
	return 0;
}

/* getopt_long's view of the table. */
static void
wr_getopt_table(struct option *longopts, char *shortopts)
{
	char *p = shortopts;

	for (size_t i = 0; i < lengthof(wr_settings); i++)
	{
		const wr_setting *s = &wr_settings[i];
		bool arg = s->kind != WR_SET_BOOL && s->kind != WR_SET_HELP &&
			s->kind != WR_SET_VERSION;

		longopts[i].name = s->flag;
		longopts[i].has_arg = arg ? required_argument : no_argument;
		longopts[i].flag = NULL;
		longopts[i].val = s->short_flag != 0 ? s->short_flag :
											   WR_OPT_BASE + (int) i;
		if (s->short_flag != 0)
		{
			*p++ = s->short_flag;
			if (arg)
				*p++ = ':';
		}
	}
	memset(&longopts[lengthof(wr_settings)], 0, sizeof(*longopts));
	*p = '\0';
}

/* The row of what getopt_long returned; NULL for '?' and ':'. */
static const wr_setting *
wr_setting_by_opt(int opt)
{
	if (opt >= WR_OPT_BASE && opt < WR_OPT_BASE + (int) lengthof(wr_settings))
		return &wr_settings[opt - WR_OPT_BASE];
	for (size_t i = 0; i < lengthof(wr_settings); i++)
		if (wr_settings[i].short_flag != 0 && wr_settings[i].short_flag == opt)
			return &wr_settings[i];
	return NULL;
}

/* What follows from the settings once they are all in. */
static int
wr_config_finish(wr_config *cfg)
{
	size_t hostoff;
	size_t hostlen;

	if (cfg->metrics_listen != NULL &&
		wr_metrics_split(cfg->metrics_listen, &hostoff, &hostlen,
						 &cfg->metrics_port) &&
		hostlen > 0 &&
		(cfg->metrics_host = strndup(cfg->metrics_listen + hostoff,
									 hostlen)) == NULL)
		return -1;
	return 0;
}

int
wr_config_load(wr_config *cfg, int argc, char **argv, char *errbuf,
			   size_t errlen)
{
	struct option longopts[lengthof(wr_settings) + 1];
	char		  shortopts[2 * lengthof(wr_settings) + 1];
	wr_load		  ld = {.cfg = cfg, .errbuf = errbuf, .errlen = errlen};
	const char	 *config_file = NULL;
	int			  opt;

	memset(cfg, 0, sizeof(*cfg));
	wr_getopt_table(longopts, shortopts);

	ld.from = WR_FROM_DEFAULT;
	for (size_t i = 0; i < lengthof(wr_settings); i++)
		if (wr_settings[i].def != NULL &&
			wr_setting_set(&ld, &wr_settings[i], wr_settings[i].def) != 0)
			return -1;

	/* first pass: only --config, --help and --version */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
	{
		const wr_setting *s = wr_setting_by_opt(opt);

		if (s == NULL)
			continue;
		if (s->kind == WR_SET_HELP)
		{
			wr_config_usage(stdout);
			exit(0);
		}
		if (s->kind == WR_SET_VERSION)
		{
			printf("walbus-relay 0.1 (bus layout %d)\n", WBE_LAYOUT);
			exit(0);
		}
		if (s->kind == WR_SET_CONFIG)
			config_file = optarg;
	}
	ld.from = WR_FROM_FILE;
	if (config_file != NULL && wr_config_file(&ld, config_file) != 0)
		return -1;

	/* second pass: every flag, over the file's values */
	ld.from = WR_FROM_FLAG;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
	{
		const wr_setting *s = wr_setting_by_opt(opt);
		const char		 *value;

		if (s == NULL)
			return wr_fail(errbuf, errlen,
						   "invalid option or missing value: \"%s\" (see "
						   "walbus-relay --help)",
						   argv[optind - 1]);
		value = s->kind == WR_SET_BOOL ? "true" : optarg;
		if (wr_setting_set(&ld, s, value) != 0)
			return -1;
	}
	if (optind < argc)
	{
		static const char *const commands[] = {"trigger-install",
											   "trigger-remove", "check"};

		for (size_t i = 0; i < lengthof(commands); i++)
			if (strcmp(argv[optind], commands[i]) == 0)
				cfg->command = commands[i];
		if (cfg->command == NULL || optind + 1 < argc)
			return wr_fail(errbuf, errlen,
						   "unexpected argument \"%s\" (see "
						   "walbus-relay --help)",
						   argv[cfg->command == NULL ? optind : optind + 1]);
	}
	if (cfg->check_json &&
		(cfg->command == NULL || strcmp(cfg->command, "check") != 0))
		return wr_fail(errbuf, errlen,
					   "--json goes with the command check "
					   "(walbus-relay check --json)");
	if (wr_config_finish(cfg) != 0)
		return wr_fail(errbuf, errlen, "out of memory");
	return 0;
}

void
wr_config_free(wr_config *cfg)
{
	for (size_t i = 0; i < lengthof(wr_settings); i++)
	{
		const wr_setting *s = &wr_settings[i];

		if (s->kind == WR_SET_STRING)
			free(*(char **) ((char *) cfg + s->offset));
		else if (s->kind == WR_SET_LIST)
			wr_list_clear(cfg, s);
	}
	free(cfg->metrics_host);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---------------------------------------------------------------- SIGHUP */

/* The bytes a setting's value takes in wr_config (a list: its array). */
static size_t
wr_setting_size(const wr_setting *s)
{
	switch (s->kind)
	{
		case WR_SET_STRING:
			return sizeof(char *);
		case WR_SET_BOOL:
			return sizeof(bool);
		case WR_SET_INT:
		case WR_SET_SECONDS:
		case WR_SET_ENUM:
			return sizeof(int);
		case WR_SET_SIZE:
			return sizeof(uint64_t);
		case WR_SET_LIST:
			return s->max * sizeof(char *);
		case WR_SET_RULES:
			return sizeof(wr_authz);
		case WR_SET_CONFIG:
		case WR_SET_HELP:
		case WR_SET_VERSION:
			break;
	}
	return 0;
}

static bool
wr_str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

static bool
wr_setting_differs(const wr_setting *s, const wr_config *a, const wr_config *b)
{
	const char *fa = (const char *) a + s->offset;
	const char *fb = (const char *) b + s->offset;

	if (s->kind == WR_SET_STRING)
		return wr_str_differs(*(char *const *) fa, *(char *const *) fb);
	if (s->kind == WR_SET_LIST)
	{
		char *const *la = (char *const *) fa;
		char *const *lb = (char *const *) fb;
		int			 na = *(const int *) ((const char *) a + s->count_offset);
		int			 nb = *(const int *) ((const char *) b + s->count_offset);

		if (na != nb)
			return true;
		for (int i = 0; i < na; i++)
			if (wr_str_differs(la[i], lb[i]))
				return true;
		return false;
	}
	/* the rest are values; unused rules are zeroed (wr_list_clear) */
	return memcmp(fa, fb, wr_setting_size(s)) != 0;
}

static void
wr_swap(void *a, void *b, size_t n)
{
	unsigned char *x = a;
	unsigned char *y = b;

	for (size_t i = 0; i < n; i++)
	{
		unsigned char t = x[i];

		x[i] = y[i];
		y[i] = t;
	}
}

void
wr_config_reapply(wr_config *live, wr_config *fresh, char *applied,
				  size_t appliedlen, char *kept, size_t keptlen)
{
	applied[0] = '\0';
	kept[0] = '\0';
	for (size_t i = 0; i < lengthof(wr_settings); i++)
	{
		const wr_setting *s = &wr_settings[i];

		if (s->name == NULL || !wr_setting_differs(s, live, fresh))
			continue;
		if (!s->reload)
		{
			wr_appendf(kept, keptlen, "%s%s", kept[0] ? ", " : "", s->name);
			continue;
		}
		wr_swap((char *) live + s->offset, (char *) fresh + s->offset,
				wr_setting_size(s));
		if (s->kind == WR_SET_LIST)
			wr_swap((char *) live + s->count_offset,
					(char *) fresh + s->count_offset, sizeof(int));
		wr_appendf(applied, appliedlen, "%s%s", applied[0] ? ", " : "",
				   s->name);
	}
}
