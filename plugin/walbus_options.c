/*-------------------------------------------------------------------------
 *
 * walbus_options.c
 *	  Parsing of the walbus plugin's options and matching of table patterns.
 *
 * Every user mistake is an ERROR with SQLSTATE 22023 and a hint naming what
 * is accepted, raised before the first record is decoded, so a client with
 * a typo in its options never receives a stream it did not ask for.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"

#include "walbus_options.h"
#include "walbus_proto.h"

#define WALBUS_VALID_OPTIONS \
	"proto_version, include_tables, exclude_tables, origin, messages"

static void		   walbus_option_once(const char *name, bool *seen);
static const char *walbus_option_value(DefElem *elem);
static int		   walbus_parse_proto_version(const char *value);
static List		  *walbus_parse_patterns(const char *name, const char *value);
static bool		   walbus_glob_match(const char *pattern, const char *name);

/*
 * Fill opts from the client's option list.  Options are positional pairs
 * of the SQL functions or of START_REPLICATION; each may appear once.
 */
void
walbus_options_parse(List *defels, WalbusOptions *opts)
{
	ListCell *lc;
	bool	  seen_proto_version = false;
	bool	  seen_include = false;
	bool	  seen_exclude = false;
	bool	  seen_origin = false;
	bool	  seen_messages = false;

	memset(opts, 0, sizeof(*opts));
	opts->messages = true;

	foreach(lc, defels)
	{
		DefElem	   *elem = lfirst_node(DefElem, lc);
		const char *name = elem->defname;

		if (strcmp(name, "proto_version") == 0)
		{
			walbus_option_once(name, &seen_proto_version);
			opts->proto_version =
				walbus_parse_proto_version(walbus_option_value(elem));
		}
		else if (strcmp(name, "include_tables") == 0)
		{
			walbus_option_once(name, &seen_include);
			opts->filter.include =
				walbus_parse_patterns(name, walbus_option_value(elem));
		}
		else if (strcmp(name, "exclude_tables") == 0)
		{
			walbus_option_once(name, &seen_exclude);
			opts->filter.exclude =
				walbus_parse_patterns(name, walbus_option_value(elem));
		}
		else if (strcmp(name, "origin") == 0)
		{
			const char *value;

			walbus_option_once(name, &seen_origin);
			value = walbus_option_value(elem);
			/* clang-format off */
			if (pg_strcasecmp(value, "any") == 0)
				opts->skip_origin = false;
			else if (pg_strcasecmp(value, "none") == 0)
				opts->skip_origin = true;
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid value for walbus option \"origin\": \"%s\"",
								value),
						 errhint("Valid values are \"any\" and \"none\".")));
			/* clang-format on */
		}
		else if (strcmp(name, "messages") == 0)
		{
			const char *value;

			walbus_option_once(name, &seen_messages);
			value = walbus_option_value(elem);
			/* clang-format off */
			if (!parse_bool(value, &opts->messages))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid value for walbus option \"messages\": \"%s\"",
								value),
						 errhint("Valid values are booleans: true, false, on, off, 1, 0.")));
			/* clang-format on */
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unrecognized walbus option \"%s\"", name),
					 errhint("Valid options are: " WALBUS_VALID_OPTIONS ".")));
	}

	/*
	 * A client that names no version gets version 1, the first one, and will
	 * keep getting it when later versions exist: a stream started without
	 * options (pg_recvlogical, a SQL peek, a benchmark script) never changes
	 * meaning under it.  Clients should still name the version they parse.
	 */
	if (!seen_proto_version)
		opts->proto_version = WB_PROTO_VERSION_MIN;
}

/* An option given twice is refused: which value was meant is unknowable. */
static void
walbus_option_once(const char *name, bool *seen)
{
	if (*seen)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("walbus option \"%s\" given more than once", name),
				 errhint("Give each of " WALBUS_VALID_OPTIONS
						 " at most once.")));
	*seen = true;
}

/* The option's value as a string; a bare option (no value) is an error. */
static const char *
walbus_option_value(DefElem *elem)
{
	if (elem->arg == NULL || strVal(elem->arg) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("walbus option \"%s\" requires a value",
						elem->defname),
				 errhint("Valid options are: " WALBUS_VALID_OPTIONS
						 ", each with a value.")));
	return strVal(elem->arg);
}

static int
walbus_parse_proto_version(const char *value)
{
	char *end;
	long  v;

	errno = 0;
	v = strtol(value, &end, 10);
	/* clang-format off */
	if (end == value || *end != '\0' || errno != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for walbus option \"proto_version\": \"%s\"",
						value),
				 errhint("proto_version is an integer from %d to %d.",
						 WB_PROTO_VERSION_MIN, WB_PROTO_VERSION_MAX)));
	/* clang-format on */
	/* clang-format off */
	if (v < WB_PROTO_VERSION_MIN || v > WB_PROTO_VERSION_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unsupported walbus proto_version %ld", v),
				 errdetail("This server's walbus supports proto_version %d to %d.",
						   WB_PROTO_VERSION_MIN, WB_PROTO_VERSION_MAX),
				 errhint("Ask for a proto_version from %d to %d.",
						 WB_PROTO_VERSION_MIN, WB_PROTO_VERSION_MAX)));
	/* clang-format on */
	return (int) v;
}

/*
 * A comma-separated list of patterns; blanks around each are ignored.  An
 * empty pattern is refused rather than read as "nothing", since a client
 * that sends include_tables '' has almost certainly lost a variable.
 */
static List *
walbus_parse_patterns(const char *name, const char *value)
{
	List *result = NIL;
	char *copy = pstrdup(value);
	char *item = copy;

	for (;;)
	{
		char		  *comma = strchr(item, ',');
		char		  *end;
		char		  *dot;
		WalbusPattern *p;

		if (comma)
			*comma = '\0';
		while (*item == ' ' || *item == '\t')
			item++;
		end = item + strlen(item);
		while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';

		/* clang-format off */
		if (*item == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("empty pattern in walbus option \"%s\"", name),
					 errhint("Give comma-separated patterns schema.table or table, where * matches any characters and ? one character.")));
		/* clang-format on */

		p = palloc(sizeof(WalbusPattern));
		p->text = pstrdup(item);
		dot = strchr(item, '.');
		if (dot)
		{
			*dot = '\0';
			p->schema = pstrdup(item);
			p->table = pstrdup(dot + 1);
		}
		else
		{
			p->schema = NULL;
			p->table = pstrdup(item);
		}
		result = lappend(result, p);

		if (!comma)
			break;
		item = comma + 1;
	}
	pfree(copy);
	return result;
}

const WalbusPattern *
walbus_pattern_find(const List *patterns, const char *schema,
					const char *table)
{
	ListCell *lc;

	foreach(lc, patterns)
	{
		const WalbusPattern *p = lfirst(lc);

		if ((p->schema == NULL || walbus_glob_match(p->schema, schema)) &&
			walbus_glob_match(p->table, table))
			return p;
	}
	return NULL;
}

/*
 * Glob match of a whole name: '*' matches any run of characters, '?' one
 * (possibly multibyte) character, anything else itself.  On a mismatch
 * after a '*', the star is retried one character further on; remembering
 * only the last star is enough, which keeps this linear in practice.
 */
static bool
walbus_glob_match(const char *pattern, const char *name)
{
	const char *p = pattern;
	const char *n = name;
	const char *star = NULL;
	const char *star_name = NULL;

	while (*n)
	{
		if (*p == '*')
		{
			star = ++p;
			star_name = n;
		}
		else if (*p == '?')
		{
			p++;
			n += pg_mblen(n);
		}
		else if (*p != '\0' && *p == *n)
		{
			p++;
			n++;
		}
		else if (star)
		{
			star_name += pg_mblen(star_name);
			p = star;
			n = star_name;
		}
		else
			return false;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}
