/*-------------------------------------------------------------------------
 *
 * json_emit.c
 *	  Compact JSON output with shortest round-trip reals (see json_emit.h).
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "json_emit.h"

static int emit_real(FILE *out, double d);

/*
 * Recursive descent over containers; leaves other than reals are printed by
 * jansson itself, which knows how to escape strings.
 */
int
json_emit(FILE *out, const json_t *value)
{
	const char *key;
	json_t	   *member;
	size_t		i;
	bool		first = true;

	switch (json_typeof(value))
	{
		case JSON_OBJECT:
			if (fputc('{', out) == EOF)
				return -1;
			/* cast: the foreach macro takes a non-const object */
			json_object_foreach((json_t *) value, key, member)
			{
				json_t *name = json_string(key);
				int		rc;

				if (name == NULL)
					return -1;
				rc = (first || fputc(',', out) != EOF) ?
					json_dumpf(name, out, JSON_ENCODE_ANY) :
					-1;
				json_decref(name);
				if (rc != 0 || fputc(':', out) == EOF ||
					json_emit(out, member) != 0)
					return -1;
				first = false;
			}
			return fputc('}', out) == EOF ? -1 : 0;

		case JSON_ARRAY:
			if (fputc('[', out) == EOF)
				return -1;
			json_array_foreach(value, i, member)
			{
				if (i > 0 && fputc(',', out) == EOF)
					return -1;
				if (json_emit(out, member) != 0)
					return -1;
			}
			return fputc(']', out) == EOF ? -1 : 0;

		case JSON_REAL:
			return emit_real(out, json_real_value(value));

		default:
			return json_dumpf(value, out, JSON_ENCODE_ANY) == 0 ? 0 : -1;
	}
}

/*
 * The fewest significant digits (at most 17, which always suffice for a
 * double) whose text converts back to exactly d.  A ".0" is added to
 * integral values so that readers keep seeing a real.  Callers never pass
 * NaN or infinities: JSON has no spelling for them.
 */
static int
emit_real(FILE *out, double d)
{
	char buf[40];
	int	 precision;

	for (precision = 1; precision < 17; precision++)
	{
		snprintf(buf, sizeof(buf), "%.*g", precision, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (precision == 17)
		snprintf(buf, sizeof(buf), "%.17g", d);
	if (strpbrk(buf, ".e") == NULL)
		strcat(buf, ".0");
	return fputs(buf, out) == EOF ? -1 : 0;
}
