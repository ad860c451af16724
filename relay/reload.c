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
static int		  wr_argc;
static char		**wr_argv;

void
wr_reload_init(wr_config *live, int argc, char **argv)
{
	wr_live = live;
	wr_argc = argc;
	wr_argv = argv;
}

void
wr_reload(wr_relay *r)
{
	wr_config  n;
	wr_config *c = wr_live;
	char	   err[1024];
	char	   applied[512] = "";
	char	   kept[1024] = "";

	wr_reload_requested = 0;
	if (c == NULL)
		return;
	memset(&n, 0, sizeof(n));
	if (wr_config_load(&n, wr_argc, wr_argv, err, sizeof(err)) != 0)
	{
		wr_error("SIGHUP: the settings do not load, the running ones stay: %s",
				 err);
		wr_config_free(&n);
		return;
	}

	/* the table in config.c says which settings are applied */
	wr_config_reapply(c, &n, applied, sizeof(applied), kept, sizeof(kept));
	wr_config_free(&n);
	wr_log_set_level(c->log_level);
	/* the consumers keep their own copies */
	r->consumers.lag_limit = c->lag_limit_bytes;
	r->consumers.timeout_ms = c->consumer_timeout_ms;

	wr_info("SIGHUP: settings read again; applied: %s",
			applied[0] ? applied : "nothing changed");
	if (kept[0])
		wr_warning("SIGHUP: changed but not applied, restart the relay to "
				   "change them (they are in use: sockets, the slot, memory "
				   "sized by them): %s",
				   kept);
}
