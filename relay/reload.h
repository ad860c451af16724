/*-------------------------------------------------------------------------
 *
 * reload.h
 *	  SIGHUP: the relay reads its settings again (the config file, then the
 *	  flags it was started with, which still win) and applies what can
 *	  change while it runs; the log names what changed and was applied,
 *	  and what changed and was not.
 *
 * What is applied is the reload column of the table of settings
 * (config.c): log_level, lag_limit, consumer_timeout, status_interval,
 * heartbeat_interval, txn_heartbeat_interval, server_timeout,
 * reconnect_max_delay, tick_interval and control_allow.  The loop reads
 * these at each use, so the new values take effect at the next one.
 * Not applied (a restart is needed): the connection, the slot and the
 * source, the listeners and their TLS files, the durable consumer names,
 * the sizes of the window, frames and queues, the table filters and the
 * metrics endpoint: each is in use (a socket bound, a slot streaming with
 * these options, memory sized, consumers' positions kept by name).
 * Settings that do not load leave every running one as it is.
 *
 * wr_reload_init keeps what wr_reload needs: the arguments and the live
 * settings (which the rest of the relay reads through a const pointer).
 * wr_reload_requested is set by the signal handler; the loop calls
 * wr_reload when it sees it.  Single-threaded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_RELOAD_H
#define WR_RELOAD_H

#include <signal.h>

#include "config.h"
#include "relay.h"

extern volatile sig_atomic_t wr_reload_requested;

extern void wr_reload_init(wr_config *live, int argc, char **argv);
extern void wr_reload(wr_relay *r);

#endif /* WR_RELOAD_H */
