/*-------------------------------------------------------------------------
 *
 * log.c
 *	  Leveled logging to stderr (see log.h).
 *
 *-------------------------------------------------------------------------
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static wr_log_level wr_log_threshold = WR_LOG_INFO;

const char *const wr_log_level_names[] = {"error", "warning", "info", "debug",
										  NULL};

void
wr_log_set_level(wr_log_level level)
{
	wr_log_threshold = level;
}

void
wr_log(wr_log_level level, const char *fmt, ...)
{
	char	line[2048];
	va_list ap;

	if (level > wr_log_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);

	/* libpq messages end in newlines and may span lines: keep one line */
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	for (size_t n = strlen(line); n > 0 && line[n - 1] == ' '; n--)
		line[n - 1] = '\0';

	/* one write per line, so lines of concurrent processes stay whole */
	fprintf(stderr, "walbus-relay: %s: %s\n", wr_log_level_names[level], line);
	fflush(stderr);
}
