/*-------------------------------------------------------------------------
 *
 * header_alone.c
 *	  Compile test: libwalbus's installed header stands alone.
 *
 * make check installs the library into a scratch directory and compiles
 * this file against that include directory only, in C99 and C11, with
 * warnings as errors: a worker needs walbus_client.h and nothing else of
 * walbus's (walbus_proto.h is not installed).  It names every public type
 * and constant a worker uses, so that one defined only in an internal
 * header fails here.  It is compiled, never run.
 *
 *-------------------------------------------------------------------------
 */
#include <walbus_client.h>

int walbus_header_alone(const walbus_change *ch);

int
walbus_header_alone(const walbus_change *ch)
{
	const wb_value	   *v = ch->values;
	wb_timestamp		ts = ch->commit_time;
	wb_str				prefix = ch->prefix;
	walbus_options		opts = {0};
	walbus_stats		stats = {0};
	walbus_relay_status st = {0};
	int					n = 0;

	(void) opts;
	(void) stats;
	(void) st;
	if (v != NULL)
		switch (v->type)
		{
			case WB_V_NIL:
			case WB_V_UNCHANGED_TOAST:
				break;
			case WB_V_BOOL:
				n += v->v.b;
				break;
			case WB_V_INT:
				n += (int) v->v.i;
				break;
			case WB_V_FLOAT32:
				n += (int) v->v.f32;
				break;
			case WB_V_FLOAT64:
				n += (int) v->v.f64;
				break;
			case WB_V_STR:
			case WB_V_BIN:
				n += (int) v->v.s.len;
				break;
			case WB_V_TIMESTAMP:
				n += (int) v->v.ts.nsec;
				break;
		}
	if (ch->truncate_flags &
		(WB_TRUNCATE_CASCADE | WB_TRUNCATE_RESTART_IDENTITY |
		 WB_TRUNCATE_PARTIAL))
		n++;
	if (ch->kind == WALBUS_COMMIT && ch->pos == WALBUS_POS_COMMIT)
		n++;
	return n + (int) ts.sec + (int) prefix.len + WALBUS_OK;
}
