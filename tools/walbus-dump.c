/*-------------------------------------------------------------------------
 *
 * walbus-dump.c
 *	  Print walbus plugin records as JSON lines, one object per record.
 *
 * Reads raw records (pg_recvlogical -f - output: records back to back, each
 * followed by a newline) or, with --hex, psql's text output of bytea rows,
 * and prints what each record says, resolving relation ids to names from the
 * RELATION records seen earlier in the same input.  Meant for tests (the
 * plugin's regression tests pipe psql output through --hex --stable) and for
 * people looking at a slot.
 *
 * Exit status: 0 when every record decoded and the stream kept the
 * protocol's rules; 1 after a decode error (the records before it are
 * printed, the error names the byte offset or line) or a protocol violation
 * (warned about on stderr, dumping goes on); 2 for bad usage.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "dump_format.h"
#include "json_emit.h"
#include "walbus_proto.h"

#define PROGNAME "walbus-dump"

/* Bytes asked of read() at least; records are usually far smaller. */
#define READ_CHUNK 65536

/* State shared by both input framings. */
typedef struct dumper
{
	const char	   *input_name; /* file name, or "stdin" */
	wb_dec			dec;
	dump_formatter *formatter;
	bool			violation; /* a protocol violation was warned about */
} dumper;

/* Raw input not yet decoded, and where it sits in the stream. */
typedef struct raw_input
{
	int				   fd;
	char			  *buf;
	size_t			   cap;
	size_t			   start; /* first byte not yet decoded */
	size_t			   end;	  /* end of the bytes read */
	unsigned long long base;  /* stream offset of buf[0] */
	bool			   eof;
} raw_input;

static void usage(FILE *out);
static bool dump_raw(dumper *d, FILE *in);
static bool read_more(dumper *d, raw_input *r);
static bool dump_hex(dumper *d, FILE *in);
static bool print_record(dumper *d, const wb_record *rec, const char *where);
static void decode_failed(dumper *d, int rc, const char *where);

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"hex", no_argument, NULL, 'x'},
		{"stable", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	bool   hex = false;
	bool   stable = false;
	FILE  *in = stdin;
	dumper d;
	bool   ok;
	int	   c;

	while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 'x':
				hex = true;
				break;
			case 's':
				stable = true;
				break;
			case 'h':
				usage(stdout);
				return 0;
			default:
				/* getopt_long has said what was wrong */
				fprintf(stderr, "Try \"%s --help\" for more information.\n",
						PROGNAME);
				return 2;
		}
	}
	if (argc - optind > 1)
	{
		fprintf(stderr, "%s: too many arguments (at most one FILE)\n",
				PROGNAME);
		fprintf(stderr, "Try \"%s --help\" for more information.\n", PROGNAME);
		return 2;
	}

	d.input_name = "stdin";
	if (optind < argc && strcmp(argv[optind], "-") != 0)
	{
		d.input_name = argv[optind];
		in = fopen(d.input_name, "rb");
		if (in == NULL)
		{
			fprintf(stderr, "%s: could not open \"%s\": %s\n", PROGNAME,
					d.input_name, strerror(errno));
			return 1;
		}
	}

	wb_dec_init(&d.dec);
	d.formatter = dump_formatter_create(stable);
	d.violation = false;
	if (d.formatter == NULL)
	{
		fprintf(stderr, "%s: out of memory\n", PROGNAME);
		return 1;
	}

	ok = hex ? dump_hex(&d, in) : dump_raw(&d, in);

	dump_formatter_free(d.formatter);
	wb_dec_free(&d.dec);
	if (in != stdin)
		fclose(in);
	if (fflush(stdout) != 0 || ferror(stdout))
	{
		fprintf(stderr, "%s: could not write output: %s\n", PROGNAME,
				strerror(errno));
		return 1;
	}
	return ok && !d.violation ? 0 : 1;
}

static void
usage(FILE *out)
{
	fprintf(
		out,
		"%s prints walbus plugin records (docs/PROTOCOL.md) as JSON lines.\n"
		"\n"
		"Usage:\n"
		"  %s [--hex] [--stable] [FILE]\n"
		"\n"
		"Reads FILE, or standard input when FILE is absent or \"-\".\n"
		"\n"
		"Options:\n"
		"  --hex      input is text: every line that starts with \\x (after\n"
		"             blanks) is one hex-encoded record, as psql prints a\n"
		"             bytea column; other lines are ignored\n"
		"             (default: raw records back to back, newlines between\n"
		"             them skipped, as pg_recvlogical -f - writes them)\n"
		"  --stable   leave out what changes from run to run: xid, LSNs,\n"
		"             commit times, relation ids, type and schema OIDs\n"
		"  --help     show this help, then exit\n"
		"\n"
		"Changes are printed with \"schema\", \"table\" and \"values\" keyed by\n"
		"column name, from the latest RELATION record of their relation id.\n"
		"The output is the JSON dialect walbus-tap prints too, described in\n"
		"docs/JSON.md.\n"
		"\n"
		"Exit status: 0 success; 1 decode error (records before it are\n"
		"printed) or protocol violation (warned about); 2 bad usage.\n",
		PROGNAME, PROGNAME);
}

/*
 * Raw framing.  The buffer holds input not yet decoded; a record that does
 * not fit yet (WB_ETRUNC) makes us read more and decode it again.
 */
static bool
dump_raw(dumper *d, FILE *in)
{
	raw_input r = {.fd = fileno(in)};
	bool	  ok = true;

	r.cap = READ_CHUNK;
	r.buf = malloc(r.cap);
	if (r.buf == NULL)
	{
		fprintf(stderr, "%s: out of memory\n", PROGNAME);
		return false;
	}

	while (ok)
	{
		wb_record rec;
		size_t	  consumed;
		char	  where[64];
		int		  rc = WB_ETRUNC;

		/* pg_recvlogical's newline after each record; never a record start */
		while (r.start < r.end && r.buf[r.start] == '\n')
			r.start++;
		snprintf(where, sizeof(where), "record at byte offset %llu",
				 r.base + r.start);

		if (r.start < r.end)
			rc = wb_decode(&d->dec, r.buf + r.start, r.end - r.start, &rec,
						   &consumed);
		if (rc == WB_OK)
		{
			ok = print_record(d, &rec, where);
			r.start += consumed;
		}
		else if (rc == WB_ETRUNC && !r.eof)
			ok = read_more(d, &r);
		else
		{
			if (r.start < r.end)
			{
				decode_failed(d, rc, where);
				ok = false;
			}
			break;
		}
	}
	free(r.buf);
	return ok;
}

/*
 * Keep only the pending bytes, then read.  To keep the cost of retrying a
 * large record linear, read until the pending bytes doubled, unless no more
 * input is ready now: then the record may well be complete, and a live
 * stream (pg_recvlogical piped in) must not wait for the next one.  Output
 * is flushed before a read that may block, for the same reason.
 */
static bool
read_more(dumper *d, raw_input *r)
{
	size_t pending = r->end - r->start;
	size_t goal = pending + (pending > READ_CHUNK ? pending : READ_CHUNK);
	bool   blocking = true;

	memmove(r->buf, r->buf + r->start, pending);
	r->base += r->start;
	r->start = 0;
	r->end = pending;
	if (r->cap < goal)
	{
		char *grown = realloc(r->buf, goal);

		if (grown == NULL)
		{
			fprintf(stderr,
					"%s: %s: record at byte offset %llu: out of memory\n",
					PROGNAME, d->input_name, r->base);
			return false;
		}
		r->buf = grown;
		r->cap = goal;
	}

	fflush(stdout);
	while (r->end < goal && !r->eof)
	{
		struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
		ssize_t		  n;

		if (!blocking && poll(&pfd, 1, 0) <= 0)
			break;
		n = read(r->fd, r->buf + r->end, r->cap - r->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
		{
			fprintf(stderr, "%s: could not read %s: %s\n", PROGNAME,
					d->input_name, strerror(errno));
			return false;
		}
		if (n == 0)
			r->eof = true;
		r->end += (size_t) n;
		blocking = false;
	}
	return true;
}

/*
 * Hex framing: psql's aligned or unaligned output of a bytea column.  A
 * record line is blanks, "\x", an even number of hex digits, then only
 * blanks (aligned output pads the column).
 */
static bool
dump_hex(dumper *d, FILE *in)
{
	char		  *line = NULL;
	size_t		   line_cap = 0;
	ssize_t		   line_len;
	unsigned char *bytes = NULL;
	size_t		   bytes_cap = 0;
	unsigned long  lineno = 0;
	bool		   ok = true;

	while (ok && (line_len = getline(&line, &line_cap, in)) >= 0)
	{
		const char *p = line;
		size_t		nbytes = 0;
		char		where[64];
		wb_record	rec;
		size_t		consumed;
		int			rc;

		lineno++;
		snprintf(where, sizeof(where), "record on line %lu", lineno);
		while (*p == ' ' || *p == '\t')
			p++;
		if (p[0] != '\\' || p[1] != 'x')
			continue;
		p += 2;

		if (bytes_cap < (size_t) line_len / 2)
		{
			free(bytes);
			bytes_cap = (size_t) line_len / 2;
			bytes = malloc(bytes_cap);
			if (bytes == NULL)
			{
				fprintf(stderr, "%s: %s: %s: out of memory\n", PROGNAME,
						d->input_name, where);
				ok = false;
				break;
			}
		}
		while (wb_hex_value(p[0]) >= 0 && wb_hex_value(p[1]) >= 0)
		{
			bytes[nbytes++] =
				(unsigned char) (wb_hex_value(p[0]) * 16 + wb_hex_value(p[1]));
			p += 2;
		}
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '\0')
		{
			fprintf(
				stderr,
				"%s: %s: %s: bad hex at column %ld: expected pairs of hex digits\n",
				PROGNAME, d->input_name, where, (long) (p - line) + 1);
			ok = false;
			break;
		}

		rc = wb_decode(&d->dec, bytes, nbytes, &rec, &consumed);
		if (rc != WB_OK)
		{
			decode_failed(d, rc, where);
			ok = false;
		}
		else if (consumed != nbytes)
		{
			fprintf(stderr,
					"%s: %s: %s: %zu bytes after the end of the record\n",
					PROGNAME, d->input_name, where, nbytes - consumed);
			ok = false;
		}
		else
			ok = print_record(d, &rec, where);
	}
	if (ok && ferror(in))
	{
		fprintf(stderr, "%s: could not read %s: %s\n", PROGNAME, d->input_name,
				strerror(errno));
		ok = false;
	}
	free(line);
	free(bytes);
	return ok;
}


/*
 * Print one record as a JSON line.  False when out of memory (said here) or
 * when writing failed (said by main, which checks stdout at the end).
 */
static bool
print_record(dumper *d, const wb_record *rec, const char *where)
{
	char	warning[256];
	json_t *obj = dump_format_record(d->formatter, rec, warning,
									 sizeof(warning));
	bool	ok;

	if (obj == NULL)
	{
		fprintf(stderr, "%s: %s: %s: out of memory\n", PROGNAME, d->input_name,
				where);
		return false;
	}
	if (warning[0] != '\0')
	{
		/* keep the warning next to the record it is about */
		fflush(stdout);
		fprintf(stderr, "%s: %s: %s: protocol violation: %s\n", PROGNAME,
				d->input_name, where, warning);
		d->violation = true;
	}
	ok = json_emit(stdout, obj) == 0 && putchar('\n') != EOF;
	json_decref(obj);
	return ok;
}

static void
decode_failed(dumper *d, int rc, const char *where)
{
	const char *what = "malformed";

	if (rc == WB_ETRUNC)
		what = "truncated";
	else if (rc == WB_ENOMEM)
		what = "out of memory";
	fflush(stdout);
	fprintf(stderr, "%s: %s: %s: %s: %s\n", PROGNAME, d->input_name, where,
			what, wb_dec_errmsg(&d->dec));
}
