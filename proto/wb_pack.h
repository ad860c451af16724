/*-------------------------------------------------------------------------
 *
 * wb_pack.h
 *	  Internal to proto/: a msgpack-c packer that writes through a wb_enc.
 *
 * Every encoder of the library (plugin records, bus envelopes, control
 * messages) packs with msgpack-c over this one write callback, so all of
 * them share the wb_enc contract: the caller's write function, and errors
 * that stick (msgpack-c ignores some callback results, e.g. that of
 * msgpack_pack_timestamp's ext header, so stickiness has to live in the
 * callback rather than in the callers).  Not installed; not for users.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WB_PACK_H
#define WB_PACK_H

#include <msgpack/pack.h>

#include "walbus_proto.h"

/* msgpack_packer_write over a wb_enc passed as data. */
extern int wb_enc_write_sticky(void *data, const char *buf, size_t len);

/*
 * A msgpack str; fails e (sticky) when longer than str32 can hold, the
 * limit of every string in the format.
 */
extern void wb_pack_str(wb_enc *e, msgpack_packer *pk, const char *s,
						size_t len);

/* Declares a packer named pk writing through the wb_enc *e. */
#define WB_PACKER(pk, e) msgpack_packer pk = {(e), wb_enc_write_sticky}

#endif /* WB_PACK_H */
