/*-------------------------------------------------------------------------
 *
 * walbus-tap.c
 *	  Subscribe to a walbus-relay and print each change as one JSON line.
 *
 * Built on libwalbus; the output is meant for jq and for scripts:
 * one object per line on stdout, flushed line by line, with diagnostics
 * (gaps, skipped frames) on stderr.  Column values keep their types
 * where JSON has them (integers, floats, booleans, null); timestamps are
 * ISO 8601 strings in UTC, LSNs PostgreSQL's "X/X" text, bytea "\x..."
 * hex, and non-finite floats the strings "NaN", "Infinity", "-Infinity":
 * the dialect of docs/JSON.md, shared with walbus-dump.  Test suites parse
 * this output: a change to it is a change to the dialect.
 *
 * Exit status: 0 when done (--count reached, or --timeout passed without
 * --count, or a signal), 1 on an error, 2 on bad usage, 3 when --timeout
 * passed before --count changes arrived.
 *
 *-------------------------------------------------------------------------
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "walbus_client.h"
#include "wire_text.h"

#define TAP_DEFAULT_BUS		"ipc:///tmp/walbus.pub"
#define TAP_DEFAULT_CONTROL "ipc:///tmp/walbus.ctl"
#define TAP_MAX_TOPICS		64

/* How often a waiting tap looks at the stop flag and the clock. */
#define TAP_SLICE_MS 200

static volatile sig_atomic_t tap_stop = 0;

static void
tap_on_signal(int signo)
{
	(void) signo;
	tap_stop = 1;
}

static void
tap_usage(void)
{
	printf(
		"walbus-tap prints the changes a walbus-relay publishes, one JSON "
		"object per line.\n"
		"\n"
		"Usage:\n"
		"  walbus-tap [OPTION]...\n"
		"\n"
		"Options:\n"
		"  -b, --bus=URL        the relay's bus (default %s), or the "
		"NATS server(s) of\n"
		"                       its JetStream stream: nats://HOST:PORT[,"
		"nats://...]\n"
		"      --jetstream-stream=NAME  that stream (default \"WALBUS\", "
		"as the relay's)\n"
		"      --jetstream-creds=FILE   a NATS credentials file for it\n"
		"  -c, --control=URL    the relay's control socket, for column "
		"names\n"
		"                       (default %s; \"\" for none: values then "
		"come as arrays)\n"
		"  -t, --topic=FILTER   what to receive; repeatable (default \"*\", "
		"every table):\n"
		"                       \"public.contacts\" one table, \"public.*\" "
		"a schema,\n"
		"                       \"_msg.PREFIX\" or \"_msg.*\" logical "
		"messages,\n"
		"                       \"_txn\" transaction ends, \"_hb\" "
		"heartbeats,\n"
		"                       \"_schema\" every table's schema events "
		"(those of the\n"
		"                       tables selected come anyway; renamed "
		"tables are followed)\n"
		"  -n, --count=N        exit after N changes (schema events "
		"are printed but\n"
		"                       not counted)\n"
		"  -T, --timeout=S      exit after S seconds (status 3 if --count "
		"was not reached)\n"
		"  -C, --consumer=NAME  read as the durable consumer NAME (the "
		"relay's\n"
		"                       --durable): nothing is lost, and each "
		"change printed\n"
		"                       is acknowledged, so the next run starts "
		"after it\n"
		"  -q, --recv-queue=N   frames (bus messages, each with many "
		"changes) to queue\n"
		"                       before the bus drops some for this tap "
		"(1 to %d;\n"
		"                       default %d)\n"
		"  -A, --attnums        rows by column attnum (\"3\": value), "
		"which renames\n"
		"                       do not change, instead of by name\n"
		"  -B, --backfill=SCHEMA.TABLE  ask the relay to read the table's "
		"rows into\n"
		"                       the stream (read changes), print the "
		"backfill's id,\n"
		"                       then exit\n"
		"  -s, --status         print the relay's status as one JSON "
		"object, then exit\n"
		"      --tls-ca=FILE    for tls+tcp:// URLs and NATS servers with "
		"TLS: PEM CAs the\n"
		"                       server's certificate must chain to "
		"(required for them)\n"
		"      --tls-cert=FILE  this tap's PEM certificate, for a relay "
		"that wants one\n"
		"      --tls-key=FILE   its unencrypted PEM key\n"
		"      --tls-server-name=NAME  the name the relay's certificate "
		"must carry\n"
		"                       (default: the URL's host)\n"
		"  -h, --help           show this help, then exit\n"
		"\n"
		"Lost frames are reported on stderr as they are detected.  The output\n"
		"is the JSON dialect walbus-dump prints too, described in "
		"docs/JSON.md.\n",
		TAP_DEFAULT_BUS, TAP_DEFAULT_CONTROL, WALBUS_RECV_QUEUE_MAX,
		WALBUS_RECV_QUEUE_DEFAULT);
}

static json_t *
tap_lsn(uint64_t lsn)
{
	char buf[WIRE_TEXT_LSN_LEN];

	wire_text_lsn(buf, lsn);
	return json_string(buf);
}

static json_t *
tap_time(wb_timestamp ts)
{
	char buf[WIRE_TEXT_TIMESTAMP_LEN];

	wire_text_timestamp(buf, ts);
	return json_string(buf);
}

static json_t *
tap_hex(const char *p, uint32_t len)
{
	char   *buf = malloc(WIRE_TEXT_HEX_LEN(len));
	json_t *j;

	if (buf == NULL)
		return json_null();
	wire_text_hex(buf, p, len);
	j = json_string(buf);
	free(buf);
	return j;
}

static json_t *
tap_double(double d)
{
	if (isnan(d))
		return json_string("NaN");
	if (isinf(d))
		return json_string(d > 0 ? "Infinity" : "-Infinity");
	return json_real(d);
}

static json_t *
tap_value(const wb_value *v)
{
	json_t *j;

	switch (v->type)
	{
		case WB_V_NIL:
			return json_null();
		case WB_V_BOOL:
			return json_boolean(v->v.b);
		case WB_V_INT:
			return json_integer(v->v.i);
		case WB_V_FLOAT32:
			return tap_double(v->v.f32);
		case WB_V_FLOAT64:
			return tap_double(v->v.f64);
		case WB_V_STR:
			/* the protocol promises UTF-8; keep the line valid JSON anyway */
			j = json_stringn(v->v.s.ptr, v->v.s.len);
			return j ? j : tap_hex(v->v.s.ptr, v->v.s.len);
		case WB_V_BIN:
			return tap_hex(v->v.s.ptr, v->v.s.len);
		case WB_V_TIMESTAMP:
			return tap_time(v->v.ts);
		case WB_V_UNCHANGED_TOAST:
			return json_pack("{s:b}", "unchanged_toast", 1);
	}
	return json_null();
}

/* --attnums: rows are objects by attnum ("3": value) instead of by name. */
static bool tap_by_attnum = false;

/* The row: an object by column name (or attnum) when the table is known. */
static json_t *
tap_row(const walbus_change *ch)
{
	json_t *row;

	if (ch->table == NULL)
	{
		row = json_array();
		for (uint32_t i = 0; i < ch->nvalues; i++)
			json_array_append_new(row, tap_value(&ch->values[i]));
		return row;
	}
	row = json_object();
	for (uint32_t i = 0; i < ch->nvalues; i++)
	{
		char		attnum[16];
		const char *key = ch->table->columns[i].name;

		/* a version 1 relay has no attnums: names then */
		if (tap_by_attnum && ch->table->columns[i].attnum > 0)
		{
			snprintf(attnum, sizeof(attnum), "%d",
					 (int) ch->table->columns[i].attnum);
			key = attnum;
		}
		json_object_set_new(row, key, tap_value(&ch->values[i]));
	}
	return row;
}

/* A definition of a table: names, OIDs, and each column by attnum. */
static json_t *
tap_table(const walbus_table *t)
{
	json_t *o = json_object();
	json_t *cols = json_array();

	json_object_set_new(o, "schema", json_string(t->schema));
	json_object_set_new(o, "table", json_string(t->name));
	json_object_set_new(o, "schema_oid", json_integer(t->schema_oid));
	json_object_set_new(o, "schema_version",
						json_integer((json_int_t) t->schema_version));
	if (t->key_index < t->ncolumns)
		json_object_set_new(o, "key_attnum",
							json_integer(t->columns[t->key_index].attnum));
	for (uint32_t i = 0; i < t->ncolumns; i++)
	{
		json_t *c = json_object();

		json_object_set_new(c, "attnum", json_integer(t->columns[i].attnum));
		json_object_set_new(c, "name", json_string(t->columns[i].name));
		json_object_set_new(c, "type", json_string(t->columns[i].type_name));
		json_array_append_new(cols, c);
	}
	json_object_set_new(o, "columns", cols);
	return o;
}

static void
tap_schema_event(json_t *o, const walbus_schema_event *ev)
{
	json_t *changes = json_array();

	json_object_set_new(o, "event", json_string(ev->event));
	json_object_set_new(o, "relid", json_integer(ev->relid));
	json_object_set_new(o, "topic", json_string(ev->topic));
	if (ev->previous_topic != NULL)
		json_object_set_new(o, "previous_topic",
							json_string(ev->previous_topic));
	if (ev->reason != NULL)
		json_object_set_new(o, "reason", json_string(ev->reason));
	for (uint32_t i = 0; i < ev->nchanges; i++)
	{
		const walbus_schema_change *c = &ev->changes[i];
		json_t					   *j = json_object();

		json_object_set_new(j, "change", json_string(c->change));
		if (c->attnum != 0)
			json_object_set_new(j, "attnum", json_integer(c->attnum));
		if (c->from_attnum != 0)
			json_object_set_new(j, "from_attnum",
								json_integer(c->from_attnum));
		if (c->from != NULL)
			json_object_set_new(j, "from", json_string(c->from));
		if (c->to != NULL)
			json_object_set_new(j, "to", json_string(c->to));
		json_array_append_new(changes, j);
	}
	json_object_set_new(o, "changes", changes);
	if (ev->table != NULL)
		json_object_set_new(o, "definition", tap_table(ev->table));
	if (ev->previous != NULL)
		json_object_set_new(o, "previous", tap_table(ev->previous));
}

static json_t *
tap_change(const walbus_change *ch)
{
	json_t *o = json_object();
	json_t *flags;

	json_object_set_new(o, "kind", json_string(walbus_kind_name(ch->kind)));
	json_object_set_new(o, "topic", json_string(ch->topic));
	if (ch->table != NULL)
	{
		json_object_set_new(o, "schema", json_string(ch->table->schema));
		json_object_set_new(o, "table", json_string(ch->table->name));
	}
	json_object_set_new(o, "seq", json_integer((json_int_t) ch->seq));
	json_object_set_new(o, "tseq", json_integer((json_int_t) ch->tseq));
	if (ch->in_txn)
	{
		json_object_set_new(o, "xid", json_integer(ch->xid));
		json_object_set_new(o, "commit_lsn", tap_lsn(ch->commit_lsn));
		json_object_set_new(o, "commit_time", tap_time(ch->commit_time));
		if (ch->kind != WALBUS_COMMIT)
			json_object_set_new(o, "pos", json_integer(ch->pos));
	}
	switch (ch->kind)
	{
		case WALBUS_INSERT:
		case WALBUS_UPDATE:
		case WALBUS_DELETE:
		case WALBUS_TRUNCATE:
		case WALBUS_READ:
			json_object_set_new(o, "relid", json_integer(ch->relid));
			json_object_set_new(o, "schema_version",
								json_integer((json_int_t) ch->schema_version));
			if (ch->kind == WALBUS_INSERT || ch->kind == WALBUS_UPDATE ||
				ch->kind == WALBUS_READ)
				json_object_set_new(o, "values", tap_row(ch));
			if (ch->key != NULL)
				json_object_set_new(o, "key", tap_value(ch->key));
			if (ch->old_key != NULL)
				json_object_set_new(o, "old_key", tap_value(ch->old_key));
			if (ch->kind == WALBUS_TRUNCATE)
			{
				flags = json_array();
				if (ch->truncate_flags & WB_TRUNCATE_CASCADE)
					json_array_append_new(flags, json_string("cascade"));
				if (ch->truncate_flags & WB_TRUNCATE_RESTART_IDENTITY)
					json_array_append_new(flags,
										  json_string("restart_identity"));
				/* only some partitions of the table: resync it */
				if (ch->truncate_flags & WB_TRUNCATE_PARTIAL)
					json_array_append_new(flags, json_string("partial"));
				json_object_set_new(o, "flags", flags);
			}
			break;
		case WALBUS_MESSAGE:
		{
			json_t *content = json_stringn(ch->content.ptr, ch->content.len);

			json_object_set_new(o, "transactional",
								json_boolean(ch->transactional));
			json_object_set_new(o, "lsn", tap_lsn(ch->message_lsn));
			json_object_set_new(o, "prefix",
								json_stringn(ch->prefix.ptr, ch->prefix.len));
			if (content != NULL)
				json_object_set_new(o, "content", content);
			else
				json_object_set_new(o, "content_hex",
									tap_hex(ch->content.ptr, ch->content.len));
			break;
		}
		case WALBUS_COMMIT:
			json_object_set_new(o, "end_lsn", tap_lsn(ch->end_lsn));
			json_object_set_new(o, "changes", json_integer(ch->nchanges));
			break;
		case WALBUS_SCHEMA:
			if (ch->schema_event != NULL)
				tap_schema_event(o, ch->schema_event);
			break;
		case WALBUS_BACKFILL:
			if (ch->backfill_event != NULL)
			{
				const walbus_backfill_event *b = ch->backfill_event;

				json_object_set_new(o, "event", json_string(b->event));
				json_object_set_new(o, "backfill",
									json_integer((json_int_t) b->backfill));
				json_object_set_new(o, "relid", json_integer(b->relid));
				json_object_set_new(o, "topic", json_string(b->topic));
				json_object_set_new(o, "rows",
									json_integer((json_int_t) b->rows));
				json_object_set_new(o, "chunks",
									json_integer((json_int_t) b->chunks));
				if (b->reason != NULL)
					json_object_set_new(o, "reason", json_string(b->reason));
			}
			break;
		case WALBUS_HEARTBEAT:
			json_object_set_new(o, "time", tap_time(ch->time));
			json_object_set_new(o, "received_lsn", tap_lsn(ch->received_lsn));
			json_object_set_new(o, "flushed_lsn", tap_lsn(ch->flushed_lsn));
			break;
	}
	return o;
}

/*
 * --backfill SCHEMA.TABLE: ask the relay to read the table into the stream;
 * print {"backfill": id, ...} or say why not.  The names are as stored,
 * split at the first dot (a schema whose name has a dot: quote it as in
 * topics, "my.schema".t).
 */
static int
tap_backfill(walbus_client *c, const char *spec)
{
	char		schema[256];
	const char *table;
	uint64_t	id = 0;
	size_t		len;

	if (spec[0] == '"')
	{
		const char *end = strstr(spec + 1, "\".");

		if (end == NULL || (len = (size_t) (end - spec - 1)) >= sizeof(schema))
			goto bad;
		memcpy(schema, spec + 1, len);
		table = end + 2;
	}
	else
	{
		const char *dot = strchr(spec, '.');

		if (dot == NULL || (len = (size_t) (dot - spec)) >= sizeof(schema))
			goto bad;
		memcpy(schema, spec, len);
		table = dot + 1;
	}
	schema[len] = '\0';
	if (len == 0 || table[0] == '\0')
		goto bad;
	if (walbus_backfill(c, schema, table, &id) != WALBUS_OK)
	{
		fprintf(stderr, "walbus-tap: %s\n", walbus_errmsg(c));
		return 1;
	}
	{
		json_t *o = json_pack("{s:I,s:s,s:s}", "backfill", (json_int_t) id,
							  "schema", schema, "table", table);
		char   *line = o ? json_dumps(o, JSON_COMPACT) : NULL;

		json_decref(o);
		if (line == NULL)
		{
			fprintf(stderr, "walbus-tap: out of memory\n");
			return 1;
		}
		printf("%s\n", line);
		free(line);
	}
	return 0;

bad:
	fprintf(stderr,
			"walbus-tap: invalid --backfill \"%s\": use SCHEMA.TABLE\n", spec);
	return 2;
}

/* A status field as JSON: LSNs as text, flags as booleans. */
static json_t *
tap_status_value(const walbus_status_value *v)
{
	switch (v->kind)
	{
		case WALBUS_STATUS_STR:
			return json_string(v->s);
		case WALBUS_STATUS_LSN:
			return tap_lsn(v->u);
		case WALBUS_STATUS_FLAG:
			return json_boolean(v->u != 0);
		default:
			return json_integer((json_int_t) v->u);
	}
}

/*
 * --status: every field libwalbus knows, by name and in the relay's order
 * (a field the relay gains needs nothing here), then the consumers.
 */
static int
tap_status(walbus_client *c)
{
	walbus_relay_status st;
	walbus_status_value v;
	const char		   *name;
	json_t			   *o;
	json_t			   *consumers;
	char			   *line;

	if (walbus_relay_status_get(c, &st) != WALBUS_OK)
	{
		fprintf(stderr, "walbus-tap: %s\n", walbus_errmsg(c));
		return 1;
	}
	o = json_object();
	for (size_t i = 0; walbus_relay_status_field(c, i, &name, &v) == WALBUS_OK;
		 i++)
		json_object_set_new(o, name, tap_status_value(&v));
	consumers = json_array();
	for (uint32_t i = 0; i < st.nconsumers; i++)
	{
		json_t *c = json_object();

		json_object_set_new(c, "name", json_string(st.consumers[i].name));
		json_object_set_new(c, "connected",
							json_boolean(st.consumers[i].connected));
		json_object_set_new(c, "acked_lsn",
							tap_lsn(st.consumers[i].acked_lsn));
		json_object_set_new(c, "lag_bytes",
							json_integer(
								(json_int_t) st.consumers[i].lag_bytes));
		json_object_set_new(c, "over_lag_limit",
							json_boolean(st.consumers[i].over_lag_limit));
		json_object_set_new(c, "acks",
							json_integer((json_int_t) st.consumers[i].acks));
		json_object_set_new(c, "rewinds",
							json_integer(
								(json_int_t) st.consumers[i].rewinds));
		json_array_append_new(consumers, c);
	}
	json_object_set_new(o, "consumers", consumers);
	line = json_dumps(o, JSON_COMPACT);
	if (line != NULL)
		printf("%s\n", line);
	free(line);
	json_decref(o);
	return 0;
}

static void
tap_print(const walbus_change *ch)
{
	json_t *o = tap_change(ch);
	char   *line = json_dumps(o, JSON_COMPACT);

	if (line != NULL)
	{
		fputs(line, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		free(line);
	}
	json_decref(o);
}

/* Flags without a short form. */
enum
{
	TAP_OPT_TLS_CA = 256,
	TAP_OPT_TLS_CERT,
	TAP_OPT_TLS_KEY,
	TAP_OPT_TLS_SERVER_NAME,
	TAP_OPT_JETSTREAM_STREAM,
	TAP_OPT_JETSTREAM_CREDS
};

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{"bus", required_argument, NULL, 'b'},
		{"control", required_argument, NULL, 'c'},
		{"topic", required_argument, NULL, 't'},
		{"count", required_argument, NULL, 'n'},
		{"timeout", required_argument, NULL, 'T'},
		{"status", no_argument, NULL, 's'},
		{"consumer", required_argument, NULL, 'C'},
		{"recv-queue", required_argument, NULL, 'q'},
		{"attnums", no_argument, NULL, 'A'},
		{"backfill", required_argument, NULL, 'B'},
		{"tls-ca", required_argument, NULL, TAP_OPT_TLS_CA},
		{"tls-cert", required_argument, NULL, TAP_OPT_TLS_CERT},
		{"tls-key", required_argument, NULL, TAP_OPT_TLS_KEY},
		{"tls-server-name", required_argument, NULL, TAP_OPT_TLS_SERVER_NAME},
		{"jetstream-stream", required_argument, NULL,
		 TAP_OPT_JETSTREAM_STREAM},
		{"jetstream-creds", required_argument, NULL, TAP_OPT_JETSTREAM_CREDS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	walbus_options	 wo = {TAP_DEFAULT_BUS, TAP_DEFAULT_CONTROL, 0, 0};
	const char		*topics[TAP_MAX_TOPICS];
	int				 ntopics = 0;
	long long		 count = -1;
	long			 queue;
	double			 timeout_s = -1;
	int64_t			 deadline = 0;
	long long		 printed = 0;
	walbus_client	*c;
	char			 err[256];
	struct sigaction sa;
	int				 opt;
	int				 status = 0;
	bool			 want_status = false;
	const char		*backfill = NULL;
	char			*end;

	while ((opt = getopt_long(argc, argv, "b:c:t:n:T:C:q:AB:sh", options,
							  NULL)) != -1)
	{
		switch (opt)
		{
			case 'b':
				wo.bus_url = optarg;
				break;
			case 'c':
				wo.control_url = optarg[0] ? optarg : NULL;
				break;
			case 't':
				if (ntopics == TAP_MAX_TOPICS)
				{
					fprintf(stderr, "walbus-tap: at most %d --topic\n",
							TAP_MAX_TOPICS);
					return 2;
				}
				topics[ntopics++] = optarg;
				break;
			case 'n':
				count = strtoll(optarg, &end, 10);
				if (*end != '\0' || count < 1)
				{
					fprintf(stderr,
							"walbus-tap: invalid --count \"%s\": use "
							"a positive integer\n",
							optarg);
					return 2;
				}
				break;
			case 'T':
				timeout_s = strtod(optarg, &end);
				if (*end != '\0' || !(timeout_s > 0))
				{
					fprintf(stderr,
							"walbus-tap: invalid --timeout \"%s\": "
							"use a positive number of seconds\n",
							optarg);
					return 2;
				}
				break;
			case 's':
				want_status = true;
				break;
			case 'C':
				wo.consumer = optarg;
				break;
			case 'q':
				queue = strtol(optarg, &end, 10);
				if (*end != '\0' || end == optarg || queue < 1 ||
					queue > WALBUS_RECV_QUEUE_MAX)
				{
					fprintf(stderr,
							"walbus-tap: invalid --recv-queue \"%s\": "
							"use a number of frames from 1 to %d (nng's "
							"limit)\n",
							optarg, WALBUS_RECV_QUEUE_MAX);
					return 2;
				}
				wo.recv_queue = (int) queue;
				break;
			case 'A':
				tap_by_attnum = true;
				break;
			case 'B':
				backfill = optarg;
				break;
			case TAP_OPT_TLS_CA:
				wo.tls_ca = optarg;
				break;
			case TAP_OPT_TLS_CERT:
				wo.tls_cert = optarg;
				break;
			case TAP_OPT_TLS_KEY:
				wo.tls_key = optarg;
				break;
			case TAP_OPT_TLS_SERVER_NAME:
				wo.tls_server_name = optarg;
				break;
			case TAP_OPT_JETSTREAM_STREAM:
				wo.jetstream_stream = optarg;
				break;
			case TAP_OPT_JETSTREAM_CREDS:
				wo.jetstream_creds = optarg;
				break;
			case 'h':
				tap_usage();
				return 0;
			default:
				fprintf(stderr, "Try \"walbus-tap --help\".\n");
				return 2;
		}
	}
	if (optind < argc)
	{
		fprintf(stderr, "walbus-tap: unexpected argument \"%s\"\n",
				argv[optind]);
		return 2;
	}
	if (ntopics == 0)
		topics[ntopics++] = "*";

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tap_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/*
	 * --status needs no bus connection, and must not make one: nng 1.5
	 * listeners stop accepting after a peer leaves mid-handshake.
	 */
	if (want_status || backfill != NULL)
	{
		wo.bus_url = NULL;
		wo.consumer = NULL;
	}
	if (walbus_open(&c, &wo, err, sizeof(err)) != WALBUS_OK)
	{
		fprintf(stderr, "walbus-tap: %s\n", err);
		return 1;
	}
	if (want_status)
	{
		status = tap_status(c);
		walbus_close(c);
		return status;
	}
	if (backfill != NULL)
	{
		status = tap_backfill(c, backfill);
		walbus_close(c);
		return status;
	}
	for (int i = 0; i < ntopics; i++)
		if (walbus_subscribe(c, topics[i]) != WALBUS_OK)
		{
			fprintf(stderr, "walbus-tap: %s\n", walbus_errmsg(c));
			walbus_close(c);
			return 2;
		}
	if (timeout_s > 0)
		deadline = wclock_now_ms() + (int64_t) (timeout_s * 1000);

	while (!tap_stop && (count < 0 || printed < count))
	{
		walbus_change ch;
		int			  wait = TAP_SLICE_MS;
		int			  rc;

		if (deadline)
		{
			int64_t left = deadline - wclock_now_ms();

			if (left <= 0)
			{
				status = count > 0 ? 3 : 0;
				break;
			}
			if (left < wait)
				wait = (int) left;
		}
		rc = walbus_recv(c, &ch, wait);
		switch (rc)
		{
			case WALBUS_OK:
			case WALBUS_ESCHEMA:
				if (rc == WALBUS_ESCHEMA)
					fprintf(stderr, "walbus-tap: %s\n", walbus_errmsg(c));
				tap_print(&ch);
				if (ch.kind != WALBUS_SCHEMA)
					printed++;
				if (wo.consumer != NULL)
					walbus_ack(c, &ch); /* printed and flushed: applied */
				break;
			case WALBUS_ETIMEDOUT:
				break;
			case WALBUS_EGAP:
			case WALBUS_EPROTO:
				fprintf(stderr, "walbus-tap: %s\n", walbus_errmsg(c));
				break;
			default:
				fprintf(stderr, "walbus-tap: %s\n", walbus_errmsg(c));
				status = 1;
				tap_stop = 1;
				break;
		}
	}
	walbus_close(c);
	return status;
}
