/*-------------------------------------------------------------------------
 *
 * hashmap.h
 *	  A small open-addressing hash map from byte-string keys to pointers,
 *	  shared by the relay and libwalbus.
 *
 * Keys are copied into the map; values are the caller's pointers and stay
 * where they are (so a value's address is stable while it is mapped).
 * Entries are never removed one by one: the users keep every key they
 * have seen (topics, relations, schema versions), whose number is bounded
 * by the database's DDL rather than by traffic.  whm_put returns 0 or -1
 * when out of memory.
 *
 * Thread safety: none; a map belongs to one thread.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_HASHMAP_H
#define WALBUS_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct whm_slot
{
	char	*key; /* NULL: empty slot */
	size_t	 keylen;
	uint64_t hash;
	void	*value;
} whm_slot;

typedef struct whm
{
	whm_slot *slots;
	size_t	  cap; /* a power of two, or 0 */
	size_t	  count;
} whm;

/* 64-bit FNV-1a, also used for schema versions. */
extern uint64_t whm_fnv1a(uint64_t h, const void *data, size_t len);
#define WHM_FNV_OFFSET UINT64_C(14695981039346656037)

extern void	 whm_init(whm *m);
extern void *whm_get(const whm *m, const void *key, size_t keylen);
extern int	 whm_put(whm *m, const void *key, size_t keylen, void *value);

/* Call fn on every value, then release the map's memory. */
extern void whm_free(whm *m, void (*fn)(void *value));

#endif /* WALBUS_HASHMAP_H */
