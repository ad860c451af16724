/*-------------------------------------------------------------------------
 *
 * pgconn.c
 *	  PostgreSQL connection, preflight checks, slot and CopyBoth transport
 *	  of walbus-relay (see pgconn.h).
 *
 * The preflight checks run on the replication connection itself (a
 * replication=database walsender accepts SQL) before anything is started,
 * because the server's own errors for these cases either come late (at
 * START_REPLICATION) or do not say what to change.  The server's errors are
 * still mapped the same way for races between the check and the command.
 *
 *-------------------------------------------------------------------------
 */
#include "pgconn.h"

#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"
#include "walbus_proto.h"
#include "walproto.h"

#define WR_PLUGIN "walbus"

static void wr_pg_setmsg(wr_pg *pg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
wr_pg_setmsg(wr_pg *pg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pg->errmsg, sizeof(pg->errmsg), fmt, ap);
	va_end(ap);

	/*
	 * One line: libpq's messages end in newlines and pad "FATAL:  ", so
	 * whitespace runs become one space, and none is left before ';'.
	 */
	{
		char *out = pg->errmsg;

		for (const char *in = pg->errmsg; *in; in++)
		{
			bool space = (*in == ' ' || *in == '\n' || *in == '\r' ||
						  *in == '\t');

			if (space && (out == pg->errmsg || out[-1] == ' '))
				continue;
			if (*in == ';' && out > pg->errmsg && out[-1] == ' ')
				out--;
			*out++ = space ? ' ' : *in;
		}
		while (out > pg->errmsg && out[-1] == ' ')
			out--;
		*out = '\0';
	}
}

int64_t
wr_pg_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return ((int64_t) tv.tv_sec - WB_PG_EPOCH_OFFSET_SEC) * 1000000 +
		tv.tv_usec;
}

static bool
wr_lsn_parse(const char *s, uint64_t *lsn)
{
	unsigned int hi, lo;

	if (s == NULL || sscanf(s, "%X/%X", &hi, &lo) != 2)
		return false;
	*lsn = ((uint64_t) hi << 32) | lo;
	return true;
}

/* ------------------------------------------------------------ messages */

/*
 * Split a list setting the way the server does: elements separated by
 * commas, each optionally in double quotes ("" for a quote inside).
 * Calls fn for each element; stops and returns true when fn does.
 */
static bool
wr_list_each(const char *list,
			 bool (*fn)(const char *elem, size_t len, void *arg), void *arg)
{
	const char *p = list;
	char		elem[256];

	while (*p)
	{
		size_t n = 0;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p == '"')
		{
			for (p++; *p; p++)
			{
				if (*p == '"' && p[1] == '"')
					p++;
				else if (*p == '"')
				{
					p++;
					break;
				}
				if (n + 1 < sizeof(elem))
					elem[n++] = *p;
			}
		}
		else
		{
			while (*p && *p != ',')
				if (n + 1 < sizeof(elem))
					elem[n++] = *p++;
				else
					p++;
			while (n > 0 && (elem[n - 1] == ' ' || elem[n - 1] == '\t'))
				n--;
		}
		while (*p && *p != ',')
			p++;
		elem[n] = '\0';
		if (fn(elem, n, arg))
			return true;
	}
	return false;
}

static bool
wr_elem_is(const char *elem, size_t len, void *arg)
{
	return strlen((const char *) arg) == len && strcmp(elem, arg) == 0;
}

typedef struct wr_strbuf
{
	char  *buf;
	size_t cap;
	size_t len;
} wr_strbuf;

/* Append elem to a list being rebuilt, quoted unless plainly a word. */
static bool
wr_elem_append(const char *elem, size_t len, void *arg)
{
	wr_strbuf *sb = arg;
	bool	   plain = len > 0;

	for (size_t i = 0; i < len; i++)
		if (!((elem[i] >= 'a' && elem[i] <= 'z') ||
			  (elem[i] >= 'A' && elem[i] <= 'Z') ||
			  (elem[i] >= '0' && elem[i] <= '9') || elem[i] == '_'))
			plain = false;
	if (sb->len < sb->cap)
		sb->len += snprintf(sb->buf + sb->len, sb->cap - sb->len,
							plain ? "%s%s" : "%s\"%s\"", sb->len ? ", " : "",
							elem);
	return false;
}

bool
wr_pg_list_has(const char *list, const char *elem)
{
	return wr_list_each(list, wr_elem_is, (void *) elem);
}

void
wr_pg_list_add(const char *list, const char *elem, char *buf, size_t cap)
{
	wr_strbuf sb = {buf, cap, 0};

	buf[0] = '\0';
	wr_list_each(list, wr_elem_append, &sb);
	wr_elem_append(elem, strlen(elem), &sb);
}

/*
 * walbus is not allowed as an output plugin.  current is the setting's
 * value when known.  The ALTER SYSTEM form lists elements unquoted: a
 * quoted string there would become one element.
 */
static void
wr_msg_plugin_libraries(wr_pg *pg, const char *current)
{
	char	  list[512] = "";
	wr_strbuf sb = {list, sizeof(list), 0};

	wr_list_each(current ? current : "pgoutput, test_decoding", wr_elem_append,
				 &sb);
	wr_elem_append("walbus", 6, &sb);
	if (current != NULL)
		wr_pg_setmsg(pg,
					 "walbus is not allowed as an output plugin on this "
					 "server (output_plugin_libraries = '%s'): add it with "
					 "ALTER SYSTEM SET output_plugin_libraries = %s; then "
					 "SELECT pg_reload_conf(); (or output_plugin_libraries = "
					 "'%s' in postgresql.conf and a reload): no restart is "
					 "needed",
					 current, list, list);
	else
		wr_pg_setmsg(pg,
					 "walbus is not allowed as an output plugin on this "
					 "server: add it to the setting output_plugin_libraries, "
					 "e.g. ALTER SYSTEM SET output_plugin_libraries = %s; "
					 "then SELECT pg_reload_conf(); (or "
					 "output_plugin_libraries = '%s' in postgresql.conf and a "
					 "reload): no restart is needed",
					 list, list);
}

/*
 * On a reconnect the slot is usually still held by the walsender of the
 * lost connection, until the server notices that loss.
 */
static void
wr_msg_slot_active(wr_pg *pg, const char *slot, const char *pid, bool first)
{
	if (first)
		wr_pg_setmsg(pg,
					 "replication slot \"%s\" is active for PID %s: "
					 "another walbus-relay is running",
					 slot, pid);
	else
		wr_pg_setmsg(pg,
					 "replication slot \"%s\" is still active for PID "
					 "%s (the server process of the lost connection, until "
					 "the server notices; or another walbus-relay)",
					 slot, pid);
}

/*
 * Classify a failed command's result.  what names the command for errors
 * nobody anticipated.
 */
static wr_pg_rc
wr_pg_result_error(wr_pg *pg, PGresult *res, const char *what,
				   const wr_config *cfg, bool first)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *active;

	if (state == NULL)
		state = "";
	if (primary == NULL)
		primary = PQerrorMessage(pg->conn);

	if (strstr(primary, "may not be used as an output plugin") != NULL)
	{
		wr_msg_plugin_libraries(pg, NULL);
		return WR_PG_FATAL;
	}
	if (strcmp(state, "55006") == 0 &&
		(active = strstr(primary, "active for PID ")) != NULL)
	{
		wr_msg_slot_active(pg, cfg->slot, active + strlen("active for PID "),
						   first);
		return first ? WR_PG_FATAL : WR_PG_RETRY;
	}
	if (strcmp(state, "58P01") == 0 && strstr(primary, WR_PLUGIN) != NULL)
	{
		wr_pg_setmsg(pg,
					 "the walbus output plugin is not installed on the "
					 "server (%s): install it there (make -C plugin install) "
					 "and retry",
					 primary);
		return WR_PG_FATAL;
	}
	wr_pg_setmsg(pg, "%s failed: %s", what, primary);

	/* the connection broke, or the server is shutting down or starting */
	if (PQstatus(pg->conn) == CONNECTION_BAD || strncmp(state, "08", 2) == 0 ||
		strncmp(state, "57", 2) == 0 || strcmp(state, "53300") == 0)
		return first ? WR_PG_FATAL : WR_PG_RETRY;
	return WR_PG_FATAL;
}

/* ---------------------------------------------------------- connecting */

static bool
wr_looks_like_conninfo(const char *s)
{
	return strchr(s, '=') != NULL || strncmp(s, "postgresql://", 13) == 0 ||
		strncmp(s, "postgres://", 11) == 0;
}

/*
 * Validate the conninfo before connecting, so a typo is reported as such
 * rather than as a connection failure.  A bare word is a database name.
 */
static bool
wr_conninfo_ok(wr_pg *pg, const char *conninfo)
{
	PQconninfoOption *opts;
	char			 *err = NULL;

	if (conninfo == NULL || !wr_looks_like_conninfo(conninfo))
		return true;
	opts = PQconninfoParse(conninfo, &err);
	if (opts == NULL)
	{
		wr_pg_setmsg(pg,
					 "invalid connection string in --dbname: %s; it takes "
					 "a libpq conninfo (\"host=H port=P dbname=D user=U\"), "
					 "a URI (\"postgresql://U@H:P/D\") or a database name",
					 err ? err : "out of memory");
		PQfreemem(err);
		return false;
	}
	PQconninfoFree(opts);
	return true;
}

static PGconn *
wr_pg_open(const char *conninfo, bool replication)
{
	const char *keys[] = {"dbname", "fallback_application_name", "replication",
						  NULL};
	const char *vals[] = {conninfo ? conninfo : "", "walbus-relay", "database",
						  NULL};

	if (!replication)
		keys[2] = NULL;
	/* expand_dbname: the first dbname may be a whole conninfo or URI */
	return PQconnectdbParams(keys, vals, 1);
}

/*
 * The replication connection failed.  A role without REPLICATION is
 * refused before any query can run, so ask over a plain connection, which
 * pg_hba treats the same way for replication=database.  Returns true when
 * that is the cause (and sets the message).
 */
static bool
wr_pg_lacks_replication(wr_pg *pg, const char *conninfo)
{
	PGconn	 *plain = wr_pg_open(conninfo, false);
	PGresult *res;
	bool	  lacks = false;

	if (PQstatus(plain) == CONNECTION_OK)
	{
		res = PQexec(plain,
					 "SELECT rolreplication OR rolsuper, rolname "
					 "FROM pg_catalog.pg_roles WHERE rolname = current_user");
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
			strcmp(PQgetvalue(res, 0, 0), "f") == 0)
		{
			lacks = true;
			wr_pg_setmsg(
				pg,
				"The user does not have the right permissions "
				"for replication. Role \"%s\" needs the REPLICATION "
				"attribute (ALTER ROLE \"%s\" REPLICATION, as a "
				"superuser); where it cannot be granted, use the "
				"trigger source instead: walbus-relay trigger-install "
				"as the tables' owner, then walbus-relay --source "
				"trigger (docs/TRIGGER.md)",
				PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 1));
		}
		PQclear(res);
	}
	PQfinish(plain);
	return lacks;
}

/* SHOW a setting; NULL (and *missing) when the server does not know it. */
static char *
wr_pg_show(wr_pg *pg, const char *name, bool *missing)
{
	char	  sql[128];
	PGresult *res;
	char	 *value = NULL;

	snprintf(sql, sizeof(sql), "SHOW %s", name);
	res = PQexec(pg->conn, sql);
	*missing = false;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		value = strdup(PQgetvalue(res, 0, 0));
	else
	{
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		*missing = state != NULL && strcmp(state, "42704") == 0;
		if (!*missing)
			wr_pg_setmsg(pg, "SHOW %s failed: %s", name,
						 PQerrorMessage(pg->conn));
	}
	PQclear(res);
	return value;
}

static wr_pg_rc
wr_pg_check_server(wr_pg *pg)
{
	bool  missing;
	char *wal_level = wr_pg_show(pg, "wal_level", &missing);
	char *libs;

	if (wal_level == NULL)
		return WR_PG_FATAL;
	if (strcmp(wal_level, "logical") != 0)
	{
		wr_pg_setmsg(pg,
					 "wal_level is \"%s\" but walbus needs logical "
					 "decoding: set wal_level = logical in postgresql.conf "
					 "(or ALTER SYSTEM SET wal_level = logical) and restart "
					 "PostgreSQL",
					 wal_level);
		free(wal_level);
		return WR_PG_FATAL;
	}
	free(wal_level);

	/*
	 * A server without this setting accepts any installed plugin; a role
	 * that may not read it learns of a refusal from START_REPLICATION,
	 * whose error is mapped to the same message.
	 */
	libs = wr_pg_show(pg, "output_plugin_libraries", &missing);
	if (libs == NULL)
	{
		if (!missing)
			wr_debug("not checking output_plugin_libraries: %s", pg->errmsg);
		pg->errmsg[0] = '\0';
		return WR_PG_OK;
	}
	if (!wr_list_each(libs, wr_elem_is, (void *) WR_PLUGIN))
	{
		wr_msg_plugin_libraries(pg, libs);
		free(libs);
		return WR_PG_FATAL;
	}
	free(libs);
	return WR_PG_OK;
}

wr_pg_rc
wr_pg_create_slot(wr_pg *pg, const wr_config *cfg)
{
	char	  sql[256];
	PGresult *res;
	wr_pg_rc  rc = WR_PG_OK;

	/* no snapshot: walbus streams changes from now on, it does not copy */
	snprintf(sql, sizeof(sql),
			 "CREATE_REPLICATION_SLOT \"%s\" LOGICAL \"%s\" "
			 "(SNAPSHOT 'nothing')",
			 cfg->slot, WR_PLUGIN);
	res = PQexec(pg->conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = wr_pg_result_error(pg, res, "CREATE_REPLICATION_SLOT", cfg, true);
	else if (PQntuples(res) != 1 ||
			 !wr_lsn_parse(PQgetvalue(res, 0, 1), &pg->slot_confirmed))
	{
		wr_pg_setmsg(pg, "unexpected reply to CREATE_REPLICATION_SLOT");
		rc = WR_PG_FATAL;
	}
	else
	{
		pg->slot_missing = false;
		wr_info(
			"created replication slot \"%s\" with plugin walbus at " WR_LSN_FMT,
			cfg->slot, WR_LSN_ARGS(pg->slot_confirmed));
	}
	PQclear(res);
	return rc;
}

static wr_pg_rc
wr_pg_check_slot(wr_pg *pg, const wr_config *cfg, bool first)
{
	char		sql[512];
	PGresult   *res;
	wr_pg_rc	rc = WR_PG_FATAL;
	const char *plugin, *type, *db, *curdb, *pid;

	/* the slot name is validated by config.c: no quoting needed */
	snprintf(sql, sizeof(sql),
			 "SELECT s.plugin, s.slot_type, s.database, s.active_pid, "
			 "s.confirmed_flush_lsn, current_database() "
			 "FROM pg_catalog.pg_replication_slots s "
			 "WHERE s.slot_name = '%s'",
			 cfg->slot);
	res = PQexec(pg->conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		rc = wr_pg_result_error(pg, res, "reading pg_replication_slots", cfg,
								first);
		PQclear(res);
		return rc;
	}
	if (PQntuples(res) == 0)
	{
		PQclear(res);
		if (!first)
		{
			wr_pg_setmsg(pg,
						 "replication slot \"%s\" was dropped while "
						 "walbus-relay was streaming it: changes since then "
						 "cannot be streamed; restart walbus-relay with "
						 "--create-slot to continue from now on",
						 cfg->slot);
			return WR_PG_FATAL;
		}
		if (cfg->create_slot)
		{
			pg->slot_missing = true;
			return WR_PG_OK;
		}
		wr_pg_setmsg(pg,
					 "replication slot \"%s\" does not exist: run "
					 "walbus-relay with --create-slot (or create_slot = true "
					 "in its config file) to create it, or name an existing "
					 "slot with --slot",
					 cfg->slot);
		return WR_PG_FATAL;
	}
	plugin = PQgetvalue(res, 0, 0);
	type = PQgetvalue(res, 0, 1);
	db = PQgetvalue(res, 0, 2);
	pid = PQgetvalue(res, 0, 3);
	curdb = PQgetvalue(res, 0, 5);
	if (strcmp(type, "logical") != 0)
		wr_pg_setmsg(pg,
					 "replication slot \"%s\" is a %s slot, but walbus "
					 "needs a logical slot: name another one with --slot",
					 cfg->slot, type);
	else if (strcmp(plugin, WR_PLUGIN) != 0)
		wr_pg_setmsg(pg,
					 "replication slot \"%s\" uses the output plugin "
					 "\"%s\", not walbus: name another slot with --slot, or "
					 "drop this one (SELECT pg_drop_replication_slot('%s')) "
					 "and rerun with --create-slot",
					 cfg->slot, plugin, cfg->slot);
	else if (strcmp(db, curdb) != 0)
		wr_pg_setmsg(pg,
					 "replication slot \"%s\" belongs to database \"%s\", "
					 "not \"%s\": connect to \"%s\" with --dbname or name "
					 "another slot",
					 cfg->slot, db, curdb, db);
	else if (!PQgetisnull(res, 0, 3))
	{
		wr_msg_slot_active(pg, cfg->slot, pid, first);
		rc = first ? WR_PG_FATAL : WR_PG_RETRY;
	}
	else if (!wr_lsn_parse(PQgetvalue(res, 0, 4), &pg->slot_confirmed))
		wr_pg_setmsg(pg,
					 "replication slot \"%s\" has no confirmed position "
					 "yet",
					 cfg->slot);
	else
		rc = WR_PG_OK;
	PQclear(res);
	return rc;
}

wr_pg_rc
wr_pg_connect(wr_pg *pg, const wr_config *cfg, bool first)
{
	wr_pg_rc rc;

	pg->conn = NULL;
	pg->slot_missing = false;
	pg->errmsg[0] = '\0';
	if (!wr_conninfo_ok(pg, cfg->dbname))
		return WR_PG_FATAL;

	pg->conn = wr_pg_open(cfg->dbname, true);
	if (pg->conn == NULL)
	{
		wr_pg_setmsg(pg, "out of memory");
		return WR_PG_FATAL;
	}
	if (PQstatus(pg->conn) != CONNECTION_OK)
	{
		if (wr_pg_lacks_replication(pg, cfg->dbname))
			rc = WR_PG_FATAL;
		else
		{
			wr_pg_setmsg(pg, "cannot connect to PostgreSQL: %s",
						 PQerrorMessage(pg->conn));
			rc = first ? WR_PG_FATAL : WR_PG_RETRY;
		}
		wr_pg_close(pg);
		return rc;
	}
	if (!wr_pg_session_settings(pg->conn))
	{
		wr_pg_setmsg(pg, "cannot set the session's value formats: %s",
					 PQerrorMessage(pg->conn));
		wr_pg_close(pg);
		return first ? WR_PG_FATAL : WR_PG_RETRY;
	}
	if ((rc = wr_pg_check_server(pg)) == WR_PG_OK)
		rc = wr_pg_check_slot(pg, cfg, first);
	if (rc != WR_PG_OK)
		wr_pg_close(pg);
	return rc;
}

bool
wr_pg_session_settings(PGconn *conn)
{
	PGresult *res = PQexec(conn, WR_PG_SESSION_SETTINGS);
	bool	  ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;

	PQclear(res);
	return ok;
}

PGconn *
wr_pg_session(const char *conninfo, const char *appname)
{
	const char *keys[] = {"dbname", "application_name", "connect_timeout",
						  NULL};
	const char *vals[] = {conninfo ? conninfo : "", appname, "10", NULL};

	/* expand_dbname: the first dbname may be a whole conninfo or URI */
	return PQconnectdbParams(keys, vals, 1);
}

PGresult *
wr_pg_exec(PGconn *conn, const char *sql, int nparams,
		   const char *const *params, ExecStatusType want, char *err,
		   size_t errlen)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL,
								 0);

	if (res != NULL && PQresultStatus(res) == want)
		return res;
	snprintf(err, errlen, "%s",
			 res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	/* one line: libpq ends its messages with a newline */
	err[strcspn(err, "\n")] = '\0';
	PQclear(res);
	return NULL;
}

/* Append " name 'value'" to an option list, doubling single quotes. */
static void
wr_append_option(char *buf, size_t cap, bool *first, const char *name,
				 const char *value)
{
	size_t n = strlen(buf);

	n += snprintf(buf + n, n < cap ? cap - n : 0, "%s\"%s\" '",
				  *first ? "" : ", ", name);
	for (const char *p = value; *p && n + 2 < cap; p++)
	{
		if (*p == '\'')
			buf[n++] = '\'';
		buf[n++] = *p;
	}
	if (n + 1 < cap)
	{
		buf[n++] = '\'';
		buf[n] = '\0';
	}
	*first = false;
}

wr_pg_rc
wr_pg_start(wr_pg *pg, const wr_config *cfg, bool first)
{
	char	  opts[4096] = "";
	char	  sql[4352];
	char	  version[16];
	bool	  first_opt = true;
	PGresult *res;
	wr_pg_rc  rc = WR_PG_OK;

	snprintf(version, sizeof(version), "%d", WB_PROTO_VERSION_MAX);
	wr_append_option(opts, sizeof(opts), &first_opt, "proto_version", version);
	if (cfg->include_tables)
		wr_append_option(opts, sizeof(opts), &first_opt, "include_tables",
						 cfg->include_tables);
	if (cfg->exclude_tables)
		wr_append_option(opts, sizeof(opts), &first_opt, "exclude_tables",
						 cfg->exclude_tables);
	if (strlen(opts) >= sizeof(opts) - 2)
	{
		wr_pg_setmsg(pg, "include_tables/exclude_tables are too long");
		return WR_PG_FATAL;
	}

	/* 0/0: the server resumes from the slot's confirmed position */
	snprintf(sql, sizeof(sql),
			 "START_REPLICATION SLOT \"%s\" LOGICAL 0/0 (%s)", cfg->slot,
			 opts);
	wr_debug("%s", sql);
	res = PQexec(pg->conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_BOTH)
		rc = wr_pg_result_error(pg, res, "START_REPLICATION", cfg, first);
	PQclear(res);
	return rc;
}

/* ------------------------------------------------------------ streaming */

int
wr_pg_read(wr_pg *pg, char **buf)
{
	int		  n = PQgetCopyData(pg->conn, buf, 1);
	PGresult *res;

	if (n >= 0)
		return n;
	if (n == -1)
	{
		/* the server ended the copy: its result says why */
		res = PQgetResult(pg->conn);
		if (res != NULL && PQresultStatus(res) == PGRES_FATAL_ERROR)
			wr_pg_setmsg(pg, "the server ended replication: %s",
						 PQresultErrorMessage(res));
		else
			wr_pg_setmsg(pg,
						 "the server ended replication (is it shutting "
						 "down?)");
		PQclear(res);
	}
	else
		wr_pg_setmsg(pg, "could not read from the server: %s",
					 PQerrorMessage(pg->conn));
	return -1;
}

bool
wr_pg_consume(wr_pg *pg)
{
	if (PQconsumeInput(pg->conn) == 0)
	{
		wr_pg_setmsg(pg, "could not read from the server: %s",
					 PQerrorMessage(pg->conn));
		return false;
	}
	return true;
}

bool
wr_pg_send_status(wr_pg *pg, uint64_t write_lsn, uint64_t flush_lsn,
				  bool reply_requested)
{
	wr_wp_msg st;
	char	  msg[WR_WP_STATUS_LEN];
	size_t	  len;

	memset(&st, 0, sizeof(st));
	st.kind = WR_WP_STATUS;
	st.u.status.write_lsn = write_lsn; /* received and written */
	st.u.status.flush_lsn = flush_lsn; /* published: the slot may move here */
	st.u.status.apply_lsn = flush_lsn; /* applied: nothing more to apply */
	st.u.status.send_time = wr_pg_now();
	st.u.status.reply_requested = reply_requested;
	len = wr_wp_write(&st, msg, sizeof(msg));
	if (PQputCopyData(pg->conn, msg, (int) len) <= 0 || PQflush(pg->conn) != 0)
	{
		wr_pg_setmsg(pg, "could not send a status update: %s",
					 PQerrorMessage(pg->conn));
		return false;
	}
	wr_debug("status update: write " WR_LSN_FMT " flush " WR_LSN_FMT "%s",
			 WR_LSN_ARGS(write_lsn), WR_LSN_ARGS(flush_lsn),
			 reply_requested ? " (reply requested)" : "");
	return true;
}

void
wr_pg_stop(wr_pg *pg, int timeout_ms)
{
	struct timespec start, now;

	if (PQputCopyEnd(pg->conn, NULL) <= 0 || PQflush(pg->conn) != 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &start);

	/* drain until the server's CopyDone; what it still sends is dropped */
	for (;;)
	{
		char		 *buf;
		int			  n = PQgetCopyData(pg->conn, &buf, 1);
		long		  left;
		struct pollfd pfd;

		if (n > 0)
		{
			PQfreemem(buf);
			continue;
		}
		if (n < 0)
			return;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = timeout_ms -
			((now.tv_sec - start.tv_sec) * 1000 +
			 (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0)
			return;
		pfd.fd = PQsocket(pg->conn);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int) left) < 0 || PQconsumeInput(pg->conn) == 0)
			return;
	}
}

void
wr_pg_close(wr_pg *pg)
{
	if (pg->conn != NULL)
		PQfinish(pg->conn);
	pg->conn = NULL;
}
