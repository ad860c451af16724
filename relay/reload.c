/*-------------------------------------------------------------------------
 *
 * reload.c
 *	  SIGHUP: settings read again, the safe ones applied (see reload.h).
 *
 *-------------------------------------------------------------------------
 */
#include "reload.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

volatile sig_atomic_t wr_reload_requested = 0;

static wr_config *wr_live;
static int	wr_argc;
static char **wr_argv;

void
wr_reload_init(wr_config *live, int argc, char **argv)
{
	wr_live = live;
	wr_argc = argc;
	wr_argv = argv;
}

/* Names of the settings, as the config file spells them, into a list. */
static void
wr_reload_note(char *list, size_t cap, const char *name)
{
	size_t		len = strlen(list);

	snprintf(list + len, cap - len, "%s%s", len > 0 ? ", " : "", name);
}

static bool
wr_str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

static bool
wr_list_differs(char *const *a, int na, char *const *b, int nb)
{
	if (na != nb)
		return true;
	for (int i = 0; i < na; i++)
		if (wr_str_differs(a[i], b[i]))
			return true;
	return false;
}

void
wr_reload(wr_relay *r)
{
	wr_config	n;
	wr_config  *c = wr_live;
	char		err[1024];
	char		applied[512] = "";
	char		kept[1024] = "";

	wr_reload_requested = 0;
	if (c == NULL)
		return;
	memset(&n, 0, sizeof(n));
	if (wr_config_load(&n, wr_argc, wr_argv, err, sizeof(err)) != 0)
	{
		wr_error("SIGHUP: the settings do not load, the running ones stay: %s", err);
		wr_config_free(&n);
		return;
	}

	/* applied: read by the loop at each use */
#define WR_APPLY(field, name) \
	do { \
		if (c->field != n.field) \
		{ \
			c->field = n.field; \
			wr_reload_note(applied, sizeof(applied), name); \
		} \
	} while (0)
	WR_APPLY(log_level, "log_level");
	WR_APPLY(lag_limit_bytes, "lag_limit");
	WR_APPLY(consumer_timeout_ms, "consumer_timeout");
	WR_APPLY(status_interval_ms, "status_interval");
	WR_APPLY(heartbeat_interval_ms, "heartbeat_interval");
	WR_APPLY(txn_heartbeat_ms, "txn_heartbeat_interval");
	WR_APPLY(server_timeout_ms, "server_timeout");
	WR_APPLY(reconnect_max_ms, "reconnect_max_delay");
	WR_APPLY(tick_interval_ms, "tick_interval");
#undef WR_APPLY
	if (memcmp(&c->control_allow, &n.control_allow, sizeof(n.control_allow)) != 0)
	{
		c->control_allow = n.control_allow;
		wr_reload_note(applied, sizeof(applied), "control_allow");
	}
	wr_log_set_level(c->log_level);
	/* the consumers keep their own copies */
	r->consumers.lag_limit = c->lag_limit_bytes;
	r->consumers.timeout_ms = c->consumer_timeout_ms;

	/* not applied: in use until a restart */
#define WR_KEEP(differs, name) \
	do { \
		if (differs) \
			wr_reload_note(kept, sizeof(kept), name); \
	} while (0)
	WR_KEEP(wr_str_differs(c->dbname, n.dbname), "dbname");
	WR_KEEP(wr_str_differs(c->slot, n.slot), "slot");
	WR_KEEP(c->create_slot != n.create_slot, "create_slot");
	WR_KEEP(wr_list_differs(c->bus_urls, c->nbus, n.bus_urls, n.nbus), "bus");
	WR_KEEP(wr_str_differs(c->control_url, n.control_url), "control");
	WR_KEEP(wr_str_differs(c->tls_cert, n.tls_cert), "tls_cert");
	WR_KEEP(wr_str_differs(c->tls_key, n.tls_key), "tls_key");
	WR_KEEP(wr_str_differs(c->tls_ca, n.tls_ca), "tls_ca");
	WR_KEEP(c->tls_require_client_cert != n.tls_require_client_cert,
			"tls_require_client_cert");
	WR_KEEP(c->trusted_network != n.trusted_network, "trusted_network");
	WR_KEEP(c->frame_bytes != n.frame_bytes, "frame_bytes");
	WR_KEEP(c->bus_queue != n.bus_queue, "bus_queue");
	WR_KEEP(wr_str_differs(c->include_tables, n.include_tables), "include_tables");
	WR_KEEP(wr_str_differs(c->exclude_tables, n.exclude_tables), "exclude_tables");
	WR_KEEP(c->wait_subscribers != n.wait_subscribers, "wait_subscribers");
	WR_KEEP(wr_list_differs(c->durable, c->ndurable, n.durable, n.ndurable), "durable");
	WR_KEEP(c->window_bytes != n.window_bytes, "window_bytes");
	WR_KEEP(c->initial_load != n.initial_load, "initial_load");
	WR_KEEP(wr_str_differs(c->state_dir, n.state_dir), "state_dir");
	WR_KEEP(c->source_trigger != n.source_trigger, "source");
	WR_KEEP(wr_str_differs(c->metrics_listen, n.metrics_listen), "metrics_listen");
	WR_KEEP(wr_list_differs(c->jetstream_urls, c->njetstream, n.jetstream_urls,
							n.njetstream), "jetstream");
	WR_KEEP(wr_str_differs(c->jetstream_stream, n.jetstream_stream),
			"jetstream_stream");
	WR_KEEP(c->jetstream_replicas != n.jetstream_replicas,
			"jetstream_replicas");
#undef WR_KEEP
	wr_config_free(&n);

	wr_info("SIGHUP: settings read again; applied: %s", applied[0] ? applied : "nothing changed");
	if (kept[0])
		wr_warning("SIGHUP: changed but not applied, restart the relay to "
				   "change them (they are in use: sockets, the slot, memory "
				   "sized by them): %s", kept);
}
