/*-------------------------------------------------------------------------
 *
 * check.c
 *	  walbus-relay check: the preflight report (see check.h).
 *
 * The report is built as JSON from the first item (jansson), then printed
 * either as that JSON or as one line per item, so both forms always carry
 * the same statuses.  Each check adds its items and never stops the
 * others: one run names every problem, not only the first.  Facts some
 * checks share (the role, the slot's row) are read once into wr_ck_ctx.
 *
 *-------------------------------------------------------------------------
 */
#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "pgconn.h"

#define WR_CK_PLUGIN  "walbus"
#define WR_CK_APPNAME "walbus-relay check"
#define WR_CK_PG_MAJOR \
	15 /* what the plugin is built and tested
		* for */

typedef enum wr_ck_status
{
	WR_CK_OK,
	WR_CK_WARNING,
	WR_CK_ERROR
} wr_ck_status;

static const char *const wr_ck_status_name[] = {"ok", "warning", "error"};

/* The report so far; oom is sticky and checked once at the end. */
typedef struct wr_ck_report
{
	json_t *items;	  /* [{name, status, detail, fix}] */
	json_t *tables;	  /* [{schema, table, eligible, reason}] or
					   * NULL: not known */
	int		count[3]; /* items by wr_ck_status */
	bool	oom;
} wr_ck_report;

/* What several checks use. */
typedef struct wr_ck_ctx
{
	const wr_config *cfg;
	PGconn			*conn;		/* the ordinary session */
	char			 role[128]; /* session_user */
	char			 db[128];
	char			 version[64]; /* server_version */
	int				 version_num;
	bool			 superuser;
	bool			 replication; /* REPLICATION attribute or superuser */
	PGresult		*slot;		  /* the slot's row (0 rows: missing); NULL:
								   * could not be read */
	char			 slot_err[512];
} wr_ck_ctx;

/* ------------------------------------------------------------ the report */

static void wr_ck_add(wr_ck_report *r, const char *name, wr_ck_status status,
					  const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* One item; fix is NULL for an ok item (and required for the others). */
static void
wr_ck_add(wr_ck_report *r, const char *name, wr_ck_status status,
		  const char *fix, const char *fmt, ...)
{
	char	detail[2048];
	va_list ap;
	json_t *item;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	item = json_pack("{s:s, s:s, s:s, s:s?}", "name", name, "status",
					 wr_ck_status_name[status], "detail", detail, "fix",
					 status == WR_CK_OK ? NULL : fix);
	if (item == NULL || json_array_append_new(r->items, item) != 0)
		r->oom = true;
	r->count[status]++;
}

static void wr_ck_fmt(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
wr_ck_fmt(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
}

/*
 * libpq's message as one line: it ends messages with newlines, pads
 * "FATAL:  " and may stack one message per host tried.
 */
static const char *
wr_ck_oneline(const char *msg, char *buf, size_t cap)
{
	size_t n = 0;

	for (const char *p = msg; *p && n + 1 < cap; p++)
	{
		bool space = *p == ' ' || *p == '\n' || *p == '\r' || *p == '\t';

		if (space && (n == 0 || buf[n - 1] == ' '))
			continue;
		buf[n++] = space ? ' ' : *p;
	}
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
	return buf;
}

/* ------------------------------------------------------------ connecting */

/* A connection like the relay's: the user's conninfo, our name. */
static PGconn *
wr_ck_open_replication(const char *conninfo)
{
	const char *keys[] = {"dbname", "application_name", "connect_timeout",
						  "replication", NULL};
	const char *vals[] = {conninfo ? conninfo : "", WR_CK_APPNAME, "10",
						  "database", NULL};

	/* expand_dbname: the first dbname may be a whole conninfo or URI */
	return PQconnectdbParams(keys, vals, 1);
}

/*
 * The pg_hba.conf line that lets the role in.  The relay's connection is
 * a logical replication connection (replication=database), which pg_hba
 * matches by database name like any other: a line for the keyword
 * "replication" covers only physical replication, so it is no fix.
 */
static void
wr_ck_hba_fix(PGconn *conn, char *fix, size_t cap)
{
	const char *host = PQhost(conn);
	const char *user = PQuser(conn);
	const char *db = PQdb(conn);

	if (user == NULL || user[0] == '\0')
		user = "ROLE";
	if (db == NULL || db[0] == '\0')
		db = user;
	if (host == NULL || host[0] == '\0' || host[0] == '/' || host[0] == '@')
		wr_ck_fmt(fix, cap,
				  "add a line such as \"local %s %s peer\" (or "
				  "another method) to pg_hba.conf above any line that "
				  "rejects it, then SELECT pg_reload_conf(); the relay's "
				  "connection is a logical replication connection "
				  "(replication=database), which pg_hba matches by database "
				  "name like any other: a \"local replication ...\" line "
				  "does not cover it",
				  db, user);
	else
		wr_ck_fmt(fix, cap,
				  "add a line such as \"host %s %s CLIENT_ADDRESS/32 "
				  "scram-sha-256\" to pg_hba.conf above any line that "
				  "rejects it, then SELECT pg_reload_conf(); the relay's "
				  "connection is a logical replication connection "
				  "(replication=database), which pg_hba matches by database "
				  "name like any other: a \"host replication ...\" line does "
				  "not cover it",
				  db, user);
}

/*
 * The ordinary session, the role and the server.  False (after the error
 * item) when there is none: nothing else can be checked.
 */
static bool
wr_ck_connect(wr_ck_ctx *ctx, wr_ck_report *r)
{
	char	  msg[1024];
	char	  fix[1024];
	char	  err[512];
	PGresult *res;

	ctx->conn = wr_pg_session(ctx->cfg->dbname, WR_CK_APPNAME);
	if (ctx->conn == NULL)
	{
		wr_ck_add(r, "connection", WR_CK_ERROR, "retry with more memory",
				  "cannot connect to PostgreSQL: out of memory");
		return false;
	}
	if (PQstatus(ctx->conn) != CONNECTION_OK)
	{
		wr_ck_oneline(PQerrorMessage(ctx->conn), msg, sizeof(msg));
		if (strstr(msg, "pg_hba.conf") != NULL)
			wr_ck_hba_fix(ctx->conn, fix, sizeof(fix));
		else
			wr_ck_fmt(fix, sizeof(fix),
					  "check --dbname (host, port, "
					  "dbname, user; PG* environment variables and "
					  "~/.pgpass apply) and that the server accepts "
					  "connections");
		wr_ck_add(r, "connection", WR_CK_ERROR, fix,
				  "cannot connect to PostgreSQL: %s", msg);
		return false;
	}

	/*
	 * Read only from here: whatever a check runs, it can change nothing in
	 * the database.
	 */
	res = wr_pg_exec(ctx->conn, "SET default_transaction_read_only = on", 0,
					 NULL, PGRES_COMMAND_OK, err, sizeof(err));
	if (res != NULL)
	{
		PQclear(res);
		res = wr_pg_exec(ctx->conn,
						 "SELECT session_user, current_database(), "
						 "r.rolsuper, r.rolreplication, "
						 "current_setting('server_version'), "
						 "current_setting('server_version_num') "
						 "FROM pg_catalog.pg_roles r "
						 "WHERE r.rolname = session_user",
						 0, NULL, PGRES_TUPLES_OK, err, sizeof(err));
	}
	if (res == NULL || PQntuples(res) != 1)
	{
		wr_ck_add(r, "connection", WR_CK_ERROR, "fix what the server says",
				  "cannot query the server: %s",
				  res == NULL ? err : "no such role in pg_roles");
		PQclear(res);
		return false;
	}
	snprintf(ctx->role, sizeof(ctx->role), "%s", PQgetvalue(res, 0, 0));
	snprintf(ctx->db, sizeof(ctx->db), "%s", PQgetvalue(res, 0, 1));
	ctx->superuser = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	ctx->replication = ctx->superuser ||
		strcmp(PQgetvalue(res, 0, 3), "t") == 0;
	snprintf(ctx->version, sizeof(ctx->version), "%s", PQgetvalue(res, 0, 4));
	ctx->version_num = atoi(PQgetvalue(res, 0, 5));
	PQclear(res);
	wr_ck_add(r, "connection", WR_CK_OK, NULL,
			  "connected to database \"%s\" as role \"%s\"", ctx->db,
			  ctx->role);
	return true;
}

/* ------------------------------------------------------------ the server */

static void
wr_ck_server_version(wr_ck_ctx *ctx, wr_ck_report *r)
{
	if (ctx->version_num / 10000 == WR_CK_PG_MAJOR)
		wr_ck_add(r, "server_version", WR_CK_OK, NULL, "server_version = %s",
				  ctx->version);
	else
		wr_ck_add(r, "server_version", WR_CK_WARNING,
				  "walbus is built and tested for PostgreSQL 15 (README.md): "
				  "use a PostgreSQL 15 server, or build and test the plugin "
				  "against this one's pg_config",
				  "server_version = %s, not PostgreSQL %d", ctx->version,
				  WR_CK_PG_MAJOR);
}

/*
 * output_plugin_libraries (PostgreSQL 15.19 and later) lets slots use only
 * the plugins it lists.  Builds without it accept any installed plugin;
 * roles without pg_read_all_settings may not read it.
 */
static void
wr_ck_plugin_libraries(wr_ck_ctx *ctx, wr_ck_report *r)
{
	PGresult *res =
		PQexec(ctx->conn, "SELECT current_setting('output_plugin_libraries')");
	const char *state;
	char		list[512];
	char		fix[2048];
	char		msg[512];

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
	{
		const char *libs = PQgetvalue(res, 0, 0);
		PGresult   *ctxres;
		bool		restart;

		/* the server says whether a reload is enough (it is, on 15.19) */
		ctxres = PQexec(ctx->conn,
						"SELECT context FROM pg_catalog.pg_settings "
						"WHERE name = 'output_plugin_libraries'");
		restart = PQresultStatus(ctxres) == PGRES_TUPLES_OK &&
			PQntuples(ctxres) == 1 &&
			strcmp(PQgetvalue(ctxres, 0, 0), "postmaster") == 0;
		PQclear(ctxres);
		if (wr_pg_list_has(libs, WR_CK_PLUGIN))
			wr_ck_add(r, "output_plugin_libraries", WR_CK_OK, NULL,
					  "output_plugin_libraries = '%s' lists walbus", libs);
		else
		{
			wr_pg_list_add(libs, WR_CK_PLUGIN, list, sizeof(list));
			wr_ck_fmt(fix, sizeof(fix),
					  "add walbus (ALTER SYSTEM SET "
					  "output_plugin_libraries = %s; or "
					  "output_plugin_libraries = '%s' in postgresql.conf), "
					  "then %s",
					  list, list,
					  restart ?
						  "restart PostgreSQL" :
						  "SELECT pg_reload_conf(); (a reload is enough)");
			wr_ck_add(r, "output_plugin_libraries", WR_CK_ERROR, fix,
					  "output_plugin_libraries = '%s' does not list walbus, "
					  "so the server refuses it as an output plugin",
					  libs);
		}
		PQclear(res);
		return;
	}
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	wr_ck_oneline(PQresultErrorMessage(res), msg, sizeof(msg));
	if (state != NULL && strcmp(state, "42704") == 0)
		wr_ck_add(r, "output_plugin_libraries", WR_CK_OK, NULL,
				  "output_plugin_libraries: not on this server build "
				  "(PostgreSQL %s), not needed: it lets slots use any "
				  "installed output plugin",
				  ctx->version);
	else
	{
		wr_ck_fmt(fix, sizeof(fix),
				  "make sure it lists walbus (as a "
				  "superuser: ALTER SYSTEM SET output_plugin_libraries = "
				  "pgoutput, test_decoding, walbus; then SELECT "
				  "pg_reload_conf();), or GRANT pg_read_all_settings TO "
				  "\"%s\" so that check can read it; the relay reports a "
				  "refusal when it starts",
				  ctx->role);
		wr_ck_add(r, "output_plugin_libraries", WR_CK_WARNING, fix,
				  "output_plugin_libraries: cannot read it as role \"%s\" "
				  "(%s)",
				  ctx->role, msg);
	}
	PQclear(res);
}

static void
wr_ck_wal_level(wr_ck_ctx *ctx, wr_ck_report *r)
{
	char	  err[512];
	PGresult *res = wr_pg_exec(ctx->conn, "SHOW wal_level", 0, NULL,
							   PGRES_TUPLES_OK, err, sizeof(err));

	if (res == NULL)
		wr_ck_add(r, "wal_level", WR_CK_ERROR, "fix what the server says",
				  "wal_level: cannot read it: %s", err);
	else if (strcmp(PQgetvalue(res, 0, 0), "logical") == 0)
		wr_ck_add(r, "wal_level", WR_CK_OK, NULL, "wal_level = logical");
	else
		wr_ck_add(r, "wal_level", WR_CK_ERROR,
				  "set wal_level = logical (ALTER SYSTEM SET wal_level = "
				  "logical;) and restart PostgreSQL",
				  "wal_level = %s", PQgetvalue(res, 0, 0));
	PQclear(res);
}

/* ----------------------------------------------------- role and headroom */

static void
wr_ck_role(wr_ck_ctx *ctx, wr_ck_report *r)
{
	char fix[1024];

	if (ctx->superuser)
		wr_ck_add(r, "replication_role", WR_CK_OK, NULL,
				  "role \"%s\" is a superuser (which counts as REPLICATION)",
				  ctx->role);
	else if (ctx->replication)
		wr_ck_add(r, "replication_role", WR_CK_OK, NULL,
				  "role \"%s\" has the REPLICATION attribute", ctx->role);
	else
	{
		wr_ck_fmt(fix, sizeof(fix),
				  "ALTER ROLE \"%s\" REPLICATION; (as a "
				  "superuser); where it cannot be granted, use the "
				  "no-replication fallback: walbus-relay trigger-install as "
				  "the tables' owner, then walbus-relay --source trigger "
				  "(docs/TRIGGER.md)",
				  ctx->role);
		wr_ck_add(r, "replication_role", WR_CK_ERROR, fix,
				  "The user does not have the right permissions for "
				  "replication. Role \"%s\" has no REPLICATION attribute",
				  ctx->role);
	}
}

/* The slot's row, read once: the headroom and the slot checks use it. */
static void
wr_ck_read_slot(wr_ck_ctx *ctx)
{
	const char *params[1] = {ctx->cfg->slot};

	ctx->slot = wr_pg_exec(ctx->conn,
						   "SELECT s.slot_type, s.plugin, s.database, "
						   "s.active, s.active_pid, s.wal_status, "
						   "s.confirmed_flush_lsn, pg_current_wal_lsn(), "
						   "pg_wal_lsn_diff(pg_current_wal_lsn(), "
						   "s.confirmed_flush_lsn)::bigint, "
						   "pg_size_pretty(pg_wal_lsn_diff("
						   "pg_current_wal_lsn(), s.confirmed_flush_lsn)), "
						   "a.application_name "
						   "FROM pg_catalog.pg_replication_slots s "
						   "LEFT JOIN pg_catalog.pg_stat_activity a "
						   "ON a.pid = s.active_pid "
						   "WHERE s.slot_name = $1",
						   1, params, PGRES_TUPLES_OK, ctx->slot_err,
						   sizeof(ctx->slot_err));
}

/*
 * Headroom: the relay holds one slot and one walsender.  Counted before
 * check opens its own replication connection.
 */
static void
wr_ck_headroom(wr_ck_ctx *ctx, wr_ck_report *r)
{
	char	  err[512];
	char	  fix[512];
	PGresult *res = wr_pg_exec(ctx->conn,
							   "SELECT "
							   "current_setting('max_replication_slots')"
							   "::int, (SELECT count(*) "
							   "FROM pg_catalog.pg_replication_slots), "
							   "current_setting('max_wal_senders')::int, "
							   "(SELECT count(*) "
							   "FROM pg_catalog.pg_stat_replication)",
							   0, NULL, PGRES_TUPLES_OK, err, sizeof(err));
	int		  max_slots, slots, max_senders, senders;
	bool	  slot_exists = ctx->slot != NULL && PQntuples(ctx->slot) > 0;

	if (res == NULL)
	{
		wr_ck_add(r, "max_replication_slots", WR_CK_ERROR,
				  "fix what the server says",
				  "cannot count slots and walsenders: %s", err);
		return;
	}
	max_slots = atoi(PQgetvalue(res, 0, 0));
	slots = atoi(PQgetvalue(res, 0, 1));
	max_senders = atoi(PQgetvalue(res, 0, 2));
	senders = atoi(PQgetvalue(res, 0, 3));
	PQclear(res);

	wr_ck_fmt(fix, sizeof(fix),
			  "drop unused slots (SELECT "
			  "pg_drop_replication_slot('NAME')) or raise "
			  "max_replication_slots (ALTER SYSTEM SET max_replication_slots "
			  "= %d;) and restart PostgreSQL",
			  max_slots + 4);
	if (slots < max_slots)
		wr_ck_add(r, "max_replication_slots", WR_CK_OK, NULL,
				  "max_replication_slots = %d, %d in use", max_slots, slots);
	else if (slot_exists)
		wr_ck_add(r, "max_replication_slots", WR_CK_WARNING, fix,
				  "max_replication_slots = %d, all %d in use (slot \"%s\" "
				  "among them): none left for another",
				  max_slots, slots, ctx->cfg->slot);
	else
		wr_ck_add(r, "max_replication_slots", WR_CK_ERROR, fix,
				  "max_replication_slots = %d, all in use: slot \"%s\" "
				  "cannot be created",
				  max_slots, ctx->cfg->slot);

	wr_ck_fmt(fix, sizeof(fix),
			  "raise max_wal_senders (ALTER SYSTEM SET "
			  "max_wal_senders = %d;) and restart PostgreSQL",
			  max_senders + 4);
	if (max_senders == 0)
		wr_ck_add(r, "max_wal_senders", WR_CK_ERROR, fix,
				  "max_wal_senders = 0: the server takes no replication "
				  "connection");
	else if (senders < max_senders)
		wr_ck_add(r, "max_wal_senders", WR_CK_OK, NULL,
				  "max_wal_senders = %d, %d in use", max_senders, senders);
	else
		wr_ck_add(r, "max_wal_senders", WR_CK_WARNING, fix,
				  "max_wal_senders = %d, all %d in use: another replication "
				  "connection is refused until one ends",
				  max_senders, senders);
}

/*
 * Open a replication connection the way the relay does, and close it at
 * once: only the server's answer says whether pg_hba, the role and the
 * walsender limit let the relay in.
 */
static void
wr_ck_replication_connection(wr_ck_ctx *ctx, wr_ck_report *r)
{
	PGconn *rep = wr_ck_open_replication(ctx->cfg->dbname);
	char	msg[1024];
	char	fix[1024];

	if (rep != NULL && PQstatus(rep) == CONNECTION_OK)
	{
		wr_ck_add(r, "replication_connection", WR_CK_OK, NULL,
				  "replication connection accepted (replication=database, "
				  "as the relay connects)");
		PQfinish(rep);
		return;
	}
	wr_ck_oneline(rep ? PQerrorMessage(rep) : "out of memory", msg,
				  sizeof(msg));
	if (strstr(msg, "must be superuser or replication role") != NULL)
		wr_ck_fmt(fix, sizeof(fix),
				  "give role \"%s\" the REPLICATION "
				  "attribute, or use the trigger source (replication_role "
				  "above)",
				  ctx->role);
	else if (strstr(msg, "max_wal_senders") != NULL)
		wr_ck_fmt(fix, sizeof(fix),
				  "raise max_wal_senders (ALTER SYSTEM "
				  "SET max_wal_senders = ...;) and restart PostgreSQL, or end "
				  "an unused replication connection");
	else if (strstr(msg, "pg_hba.conf") != NULL)
		wr_ck_hba_fix(rep, fix, sizeof(fix));
	else
		wr_ck_fmt(fix, sizeof(fix),
				  "fix what the server says: the relay "
				  "connects the same way (--dbname with replication="
				  "database)");
	wr_ck_add(r, "replication_connection", WR_CK_ERROR, fix,
			  "replication connection refused: %s", msg);
	PQfinish(rep);
}

/* ------------------------------------------------------------- the slot */

static void
wr_ck_slot(wr_ck_ctx *ctx, wr_ck_report *r)
{
	const char *slot = ctx->cfg->slot;
	PGresult   *res = ctx->slot;
	char		fix[1024];
	const char *type, *plugin, *db, *wal_status;

	if (res == NULL)
	{
		wr_ck_add(r, "slot", WR_CK_ERROR, "fix what the server says",
				  "slot \"%s\": cannot read pg_replication_slots: %s", slot,
				  ctx->slot_err);
		return;
	}
	if (PQntuples(res) == 0)
	{
		if (ctx->cfg->create_slot)
			wr_ck_add(r, "slot", WR_CK_WARNING,
					  "nothing to do: walbus-relay creates it when it starts "
					  "(create_slot is set); changes before that are not "
					  "streamed (see --initial-load)",
					  "slot \"%s\" does not exist yet", slot);
		else
		{
			wr_ck_fmt(fix, sizeof(fix),
					  "run walbus-relay with --create-slot "
					  "(or create_slot = true in its config file) to create "
					  "it, or name an existing slot with --slot");
			wr_ck_add(r, "slot", WR_CK_ERROR, fix,
					  "slot \"%s\" does not exist", slot);
		}
		return;
	}
	type = PQgetvalue(res, 0, 0);
	plugin = PQgetvalue(res, 0, 1);
	db = PQgetvalue(res, 0, 2);
	wal_status = PQgetvalue(res, 0, 5);

	if (strcmp(type, "logical") != 0)
	{
		wr_ck_add(r, "slot", WR_CK_ERROR,
				  "name a logical slot with --slot (or a new one, with "
				  "--create-slot)",
				  "slot \"%s\" is a %s slot, not a logical one", slot, type);
		return;
	}
	if (strcmp(plugin, WR_CK_PLUGIN) != 0)
	{
		wr_ck_fmt(fix, sizeof(fix),
				  "name another slot with --slot, or drop "
				  "this one (SELECT pg_drop_replication_slot('%s');) and run "
				  "walbus-relay with --create-slot",
				  slot);
		wr_ck_add(r, "slot", WR_CK_ERROR, fix,
				  "slot \"%s\" uses the output plugin \"%s\", not walbus",
				  slot, plugin);
	}
	else if (strcmp(db, ctx->db) != 0)
	{
		wr_ck_fmt(fix, sizeof(fix),
				  "connect to database \"%s\" with "
				  "--dbname, or name another slot with --slot",
				  db);
		wr_ck_add(r, "slot", WR_CK_ERROR, fix,
				  "slot \"%s\" belongs to database \"%s\", not \"%s\"", slot,
				  db, ctx->db);
	}
	else
		wr_ck_add(r, "slot", WR_CK_OK, NULL,
				  "slot \"%s\" exists: logical, plugin walbus, database "
				  "\"%s\"",
				  slot, db);

	/* a slot holds one walsender at a time: the relay would stop */
	if (strcmp(PQgetvalue(res, 0, 3), "t") == 0)
	{
		const char *app = PQgetvalue(res, 0, 10);

		wr_ck_fmt(fix, sizeof(fix),
				  "nothing to do if that is this slot's "
				  "walbus-relay; otherwise stop that process (SELECT "
				  "pg_terminate_backend(%s);) or give this relay another "
				  "--slot",
				  PQgetvalue(res, 0, 4));
		wr_ck_add(r, "slot_active", WR_CK_WARNING, fix,
				  "slot \"%s\" is active for PID %s%s%s%s: a second relay on "
				  "it would stop",
				  slot, PQgetvalue(res, 0, 4),
				  app[0] ? " (application_name " : "", app, app[0] ? ")" : "");
	}
	else
		wr_ck_add(r, "slot_active", WR_CK_OK, NULL,
				  "slot \"%s\" is not active", slot);

	if (PQgetisnull(res, 0, 8))
		wr_ck_add(r, "slot_lag", WR_CK_WARNING,
				  "wait until its creation completes, then check again",
				  "slot \"%s\" has no confirmed position yet", slot);
	else
	{
		long long lag = atoll(PQgetvalue(res, 0, 8));
		uint64_t  limit = ctx->cfg->lag_limit_bytes;
		char	  pretty[64] = "";

		/* "(215 kB)" helps a reader; "(12 bytes)" would only repeat */
		if (strstr(PQgetvalue(res, 0, 9), "bytes") == NULL)
			snprintf(pretty, sizeof(pretty), " (%s)", PQgetvalue(res, 0, 9));

		if (limit == 0 || lag < 0 || (uint64_t) lag <= limit)
			wr_ck_add(r, "slot_lag", WR_CK_OK, NULL,
					  "slot \"%s\": lag %lld bytes%s: confirmed_flush_lsn "
					  "%s, pg_current_wal_lsn() %s",
					  slot, lag, pretty, PQgetvalue(res, 0, 6),
					  PQgetvalue(res, 0, 7));
		else
			wr_ck_add(r, "slot_lag", WR_CK_WARNING,
					  "start walbus-relay (the server keeps this WAL until "
					  "the relay confirms it), or drop the slot if nothing "
					  "uses it",
					  "slot \"%s\": lag %lld bytes%s, over lag_limit: "
					  "confirmed_flush_lsn %s, pg_current_wal_lsn() %s",
					  slot, lag, pretty, PQgetvalue(res, 0, 6),
					  PQgetvalue(res, 0, 7));
	}

	if (strcmp(wal_status, "lost") == 0)
	{
		wr_ck_fmt(fix, sizeof(fix),
				  "the WAL it needed is gone: drop it "
				  "(SELECT pg_drop_replication_slot('%s');), run "
				  "walbus-relay with --create-slot, and backfill the tables "
				  "(docs/BACKFILL.md) for the changes in between",
				  slot);
		wr_ck_add(r, "slot_wal_status", WR_CK_ERROR, fix,
				  "slot \"%s\": wal_status = lost", slot);
	}
	else if (strcmp(wal_status, "unreserved") == 0)
		wr_ck_add(r, "slot_wal_status", WR_CK_WARNING,
				  "start walbus-relay soon, or raise max_slot_wal_keep_size: "
				  "the server removes the WAL past it at the next checkpoint "
				  "and the slot is then lost",
				  "slot \"%s\": wal_status = unreserved", slot);
	else
		wr_ck_add(r, "slot_wal_status", WR_CK_OK, NULL,
				  "slot \"%s\": wal_status = %s", slot,
				  wal_status[0] ? wal_status : "(none)");
}

/* ----------------------------------------------------------- the tables */

/*
 * Eligibility from the extension's walbus_tables, computed by the
 * plugin's own C code for the current role.  Without the extension no
 * table is listed: a second copy of the rules here could disagree with
 * the plugin.
 */
static void
wr_ck_tables(wr_ck_ctx *ctx, wr_ck_report *r)
{
	char	  err[512];
	char	  fix[512];
	char	  sql[512];
	PGresult *res = wr_pg_exec(ctx->conn,
							   "SELECT e.extversion, quote_ident(n.nspname), "
							   "n.nspname, "
							   "(SELECT count(*) "
							   "FROM pg_catalog.pg_available_extensions "
							   "WHERE name = 'walbus') "
							   "FROM (SELECT 1) AS one "
							   "LEFT JOIN pg_catalog.pg_extension e "
							   "ON e.extname = 'walbus' "
							   "LEFT JOIN pg_catalog.pg_namespace n "
							   "ON n.oid = e.extnamespace",
							   0, NULL, PGRES_TUPLES_OK, err, sizeof(err));
	int		  eligible = 0;
	int		  n;

	if (res == NULL)
	{
		wr_ck_add(r, "extension", WR_CK_ERROR, "fix what the server says",
				  "cannot look up the walbus extension: %s", err);
		return;
	}
	if (PQgetisnull(res, 0, 0))
	{
		if (strcmp(PQgetvalue(res, 0, 3), "0") == 0)
			wr_ck_fmt(fix, sizeof(fix),
					  "install the plugin on the server "
					  "(make install: walbus.so and the extension), then "
					  "CREATE EXTENSION walbus; in database \"%s\"",
					  ctx->db);
		else
			wr_ck_fmt(fix, sizeof(fix),
					  "CREATE EXTENSION walbus; in "
					  "database \"%s\" (by a role with CREATE on it: a view "
					  "and functions, nothing the plugin needs)",
					  ctx->db);
		wr_ck_add(
			r, "extension", WR_CK_WARNING, fix,
			"the walbus extension is not installed in database \"%s\"%s: "
			"no per-table eligibility to show",
			ctx->db,
			strcmp(PQgetvalue(res, 0, 3), "0") == 0 ?
				" (nor available on the server)" :
				"");
		PQclear(res);
		return;
	}
	wr_ck_add(r, "extension", WR_CK_OK, NULL,
			  "extension walbus %s installed in schema %s",
			  PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 2));
	snprintf(sql, sizeof(sql),
			 "SELECT schema_name, table_name, eligible, "
			 "reason FROM %s.walbus_tables ORDER BY 1, 2",
			 PQgetvalue(res, 0, 1));
	PQclear(res);

	res = wr_pg_exec(ctx->conn, sql, 0, NULL, PGRES_TUPLES_OK, err,
					 sizeof(err));
	if (res == NULL)
	{
		wr_ck_add(r, "tables", WR_CK_ERROR,
				  "fix what the server says "
				  "(ALTER EXTENSION walbus UPDATE; if it is an old version)",
				  "cannot read walbus_tables: %s", err);
		return;
	}
	n = PQntuples(res);
	if ((r->tables = json_array()) == NULL)
		r->oom = true;
	for (int i = 0; i < n && !r->oom; i++)
	{
		bool	yes = strcmp(PQgetvalue(res, i, 2), "t") == 0;
		json_t *t = json_pack("{s:s, s:s, s:b, s:s}", "schema",
							  PQgetvalue(res, i, 0), "table",
							  PQgetvalue(res, i, 1), "eligible", yes, "reason",
							  PQgetvalue(res, i, 3));

		if (t == NULL || json_array_append_new(r->tables, t) != 0)
			r->oom = true;
		eligible += yes;
	}
	PQclear(res);
	if (eligible > 0)
		wr_ck_add(r, "tables", WR_CK_OK, NULL,
				  "tables: %d of %d eligible for role \"%s\"", eligible, n,
				  ctx->role);
	else
	{
		wr_ck_fmt(fix, sizeof(fix),
				  "the relay would publish nothing: give "
				  "role \"%s\" tables it owns (or whose owner it is a member "
				  "of) with a one-column, generated primary key (README.md, "
				  "\"Which tables appear\"; the reasons are listed)",
				  ctx->role);
		wr_ck_add(r, "tables", WR_CK_WARNING, fix,
				  "tables: none of %d eligible for role \"%s\"", n, ctx->role);
	}
}

/* ------------------------------------------------------------ printing */

static void
wr_ck_print_human(const wr_ck_report *r)
{
	size_t	i;
	json_t *v;

	json_array_foreach(r->items, i, v)
	{
		const char *fix = json_string_value(json_object_get(v, "fix"));

		printf("%-7s %s%s%s\n",
			   json_string_value(json_object_get(v, "status")),
			   json_string_value(json_object_get(v, "detail")),
			   fix ? ": " : "", fix ? fix : "");
	}
	if (r->tables != NULL)
		json_array_foreach(r->tables, i, v)
		{
			bool yes = json_is_true(json_object_get(v, "eligible"));

			printf("        %-10s  %s.%s%s%s\n",
				   yes ? "eligible" : "ineligible",
				   json_string_value(json_object_get(v, "schema")),
				   json_string_value(json_object_get(v, "table")),
				   yes ? "" : ": ",
				   yes ? "" : json_string_value(json_object_get(v, "reason")));
		}
	printf("summary: %d ok, %d warning%s, %d error%s\n", r->count[WR_CK_OK],
		   r->count[WR_CK_WARNING], r->count[WR_CK_WARNING] == 1 ? "" : "s",
		   r->count[WR_CK_ERROR], r->count[WR_CK_ERROR] == 1 ? "" : "s");
}

static bool
wr_ck_print_json(wr_ck_report *r, int exit_code)
{
	json_t *root = json_pack("{s:s, s:i, s:O, s:O?, s:{s:i, s:i, s:i}}",
							 "status", wr_ck_status_name[exit_code], "exit",
							 exit_code, "items", r->items, "tables", r->tables,
							 "summary", "ok", r->count[WR_CK_OK], "warning",
							 r->count[WR_CK_WARNING], "error",
							 r->count[WR_CK_ERROR]);
	bool	ok = root != NULL &&
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0;

	if (ok)
		putchar('\n');
	json_decref(root);
	return ok;
}

int
wr_check(const wr_config *cfg, bool json)
{
	wr_ck_report r;
	wr_ck_ctx	 ctx;
	int			 exit_code;

	memset(&r, 0, sizeof(r));
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = cfg;
	if ((r.items = json_array()) == NULL)
	{
		fprintf(stderr, "walbus-relay: error: out of memory\n");
		return WR_CHECK_EXIT_ERROR;
	}

	if (wr_ck_connect(&ctx, &r))
	{
		wr_ck_server_version(&ctx, &r);
		wr_ck_plugin_libraries(&ctx, &r);
		wr_ck_wal_level(&ctx, &r);
		wr_ck_role(&ctx, &r);
		wr_ck_read_slot(&ctx);
		wr_ck_headroom(&ctx, &r);
		wr_ck_replication_connection(&ctx, &r);
		wr_ck_slot(&ctx, &r);
		wr_ck_tables(&ctx, &r);
	}

	if (r.count[WR_CK_ERROR] > 0)
		exit_code = WR_CHECK_EXIT_ERROR;
	else if (r.count[WR_CK_WARNING] > 0)
		exit_code = WR_CHECK_EXIT_WARNING;
	else
		exit_code = WR_CHECK_EXIT_OK;
	if (r.oom)
	{
		fprintf(stderr, "walbus-relay: error: out of memory\n");
		exit_code = WR_CHECK_EXIT_ERROR;
	}
	else if (json)
	{
		if (!wr_ck_print_json(&r, exit_code))
		{
			fprintf(stderr, "walbus-relay: error: cannot write the report\n");
			exit_code = WR_CHECK_EXIT_ERROR;
		}
	}
	else
		wr_ck_print_human(&r);

	PQclear(ctx.slot);
	PQfinish(ctx.conn);
	json_decref(r.tables);
	json_decref(r.items);
	return exit_code;
}
