/*-------------------------------------------------------------------------
 *
 * header_compat.c
 *	  Compile test: walbus_client.h's copy of the value types is the same
 *	  as proto/walbus_proto.h's.
 *
 * Both headers define wb_timestamp, wb_str, wb_vtype, wb_value and the
 * WB_TRUNCATE_* flags under one guard, so that a program can include both
 * (see walbus_client.h); libwalbus hands users values that proto/'s
 * decoder built, so the copies must agree to the byte.  Here the public
 * copy is read first under other names (pub_*), then the guard is lifted
 * and proto's copy is read, and every size, offset, alignment, enumerator
 * and flag is compared.  make check compiles this file; it is never run.
 *
 *-------------------------------------------------------------------------
 */
#include <stddef.h>

#define wb_timestamp		 pub_timestamp
#define wb_str				 pub_str
#define wb_vtype			 pub_vtype
#define wb_value			 pub_value
#define WB_V_NIL			 PUB_V_NIL
#define WB_V_BOOL			 PUB_V_BOOL
#define WB_V_INT			 PUB_V_INT
#define WB_V_FLOAT32		 PUB_V_FLOAT32
#define WB_V_FLOAT64		 PUB_V_FLOAT64
#define WB_V_STR			 PUB_V_STR
#define WB_V_BIN			 PUB_V_BIN
#define WB_V_TIMESTAMP		 PUB_V_TIMESTAMP
#define WB_V_UNCHANGED_TOAST PUB_V_UNCHANGED_TOAST

#include "walbus_client.h"

#ifndef WALBUS_VALUE_TYPES_DEFINED
#error "walbus_client.h no longer defines the value types"
#endif

enum
{
	PUB_TRUNCATE_CASCADE = WB_TRUNCATE_CASCADE,
	PUB_TRUNCATE_RESTART_IDENTITY = WB_TRUNCATE_RESTART_IDENTITY,
	PUB_TRUNCATE_PARTIAL = WB_TRUNCATE_PARTIAL
};

#undef wb_timestamp
#undef wb_str
#undef wb_vtype
#undef wb_value
#undef WB_V_NIL
#undef WB_V_BOOL
#undef WB_V_INT
#undef WB_V_FLOAT32
#undef WB_V_FLOAT64
#undef WB_V_STR
#undef WB_V_BIN
#undef WB_V_TIMESTAMP
#undef WB_V_UNCHANGED_TOAST
#undef WB_TRUNCATE_CASCADE
#undef WB_TRUNCATE_RESTART_IDENTITY
#undef WB_TRUNCATE_PARTIAL
#undef WALBUS_VALUE_TYPES_DEFINED

#include "walbus_proto.h"

#define SAME_LAYOUT(pub, wb) \
	_Static_assert(sizeof(pub) == sizeof(wb) && \
					   _Alignof(pub) == _Alignof(wb), \
				   #wb " differs in size")
#define SAME_FIELD(pub, wb, field) \
	_Static_assert(offsetof(pub, field) == offsetof(wb, field) && \
					   sizeof(((pub *) 0)->field) == \
						   sizeof(((wb *) 0)->field), \
				   #wb "." #field " differs")
#define SAME_VALUE(pub, wb) \
	_Static_assert((long) (pub) == (long) (wb), #wb " differs")

SAME_LAYOUT(pub_timestamp, wb_timestamp);
SAME_FIELD(pub_timestamp, wb_timestamp, sec);
SAME_FIELD(pub_timestamp, wb_timestamp, nsec);

SAME_LAYOUT(pub_str, wb_str);
SAME_FIELD(pub_str, wb_str, ptr);
SAME_FIELD(pub_str, wb_str, len);

SAME_LAYOUT(pub_vtype, wb_vtype);
SAME_VALUE(PUB_V_NIL, WB_V_NIL);
SAME_VALUE(PUB_V_BOOL, WB_V_BOOL);
SAME_VALUE(PUB_V_INT, WB_V_INT);
SAME_VALUE(PUB_V_FLOAT32, WB_V_FLOAT32);
SAME_VALUE(PUB_V_FLOAT64, WB_V_FLOAT64);
SAME_VALUE(PUB_V_STR, WB_V_STR);
SAME_VALUE(PUB_V_BIN, WB_V_BIN);
SAME_VALUE(PUB_V_TIMESTAMP, WB_V_TIMESTAMP);
SAME_VALUE(PUB_V_UNCHANGED_TOAST, WB_V_UNCHANGED_TOAST);

SAME_LAYOUT(pub_value, wb_value);
SAME_FIELD(pub_value, wb_value, type);
SAME_FIELD(pub_value, wb_value, v);
SAME_FIELD(pub_value, wb_value, v.b);
SAME_FIELD(pub_value, wb_value, v.i);
SAME_FIELD(pub_value, wb_value, v.f32);
SAME_FIELD(pub_value, wb_value, v.f64);
SAME_FIELD(pub_value, wb_value, v.s);
SAME_FIELD(pub_value, wb_value, v.ts);

SAME_VALUE(PUB_TRUNCATE_CASCADE, WB_TRUNCATE_CASCADE);
SAME_VALUE(PUB_TRUNCATE_RESTART_IDENTITY, WB_TRUNCATE_RESTART_IDENTITY);
SAME_VALUE(PUB_TRUNCATE_PARTIAL, WB_TRUNCATE_PARTIAL);
