/*-------------------------------------------------------------------------
 *
 * walbus_options.h
 *	  The walbus plugin's options (docs/PROTOCOL.md §2): parsing and the
 *	  table patterns of include_tables / exclude_tables.
 *
 * walbus_options_parse() turns the option list a client gave to the
 * decoding session into a WalbusOptions, or reports the first unknown,
 * repeated or malformed option with ereport(ERROR) and a hint listing what
 * is accepted.  The parsed options live in the caller's memory context and
 * never change during the session.  Backend-only, single-threaded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_OPTIONS_H
#define WALBUS_OPTIONS_H

#include "nodes/pg_list.h"

/* One include/exclude pattern, split at its first dot. */
typedef struct WalbusPattern
{
	char *text;	  /* as the user wrote it, for messages */
	char *schema; /* NULL: the pattern applies to any schema */
	char *table;
} WalbusPattern;

/* Which tables the client asked for; the lists hold WalbusPattern *. */
typedef struct WalbusTableFilter
{
	List *include; /* NIL: every table */
	List *exclude; /* NIL: none */
} WalbusTableFilter;

typedef struct WalbusOptions
{
	int				  proto_version;
	WalbusTableFilter filter;
	bool skip_origin; /* origin 'none': drop changes with an origin */
	bool messages;	  /* emit pg_logical_emit_message records */
} WalbusOptions;

extern void walbus_options_parse(List *defels, WalbusOptions *opts);

/*
 * The first pattern of the list that matches schema.table, or NULL when
 * none does.
 */
extern const WalbusPattern *walbus_pattern_find(const List *patterns,
												const char *schema,
												const char *table);

#endif /* WALBUS_OPTIONS_H */
