/*-------------------------------------------------------------------------
 *
 * hashmap.c
 *	  Open-addressing hash map with linear probing (see hashmap.h).
 *
 *-------------------------------------------------------------------------
 */
#include "hashmap.h"

#include <stdlib.h>
#include <string.h>

uint64_t
whm_fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
	{
		h ^= p[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

void
whm_init(whm *m)
{
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
}

static whm_slot *
whm_find(const whm *m, const void *key, size_t keylen, uint64_t hash)
{
	size_t mask = m->cap - 1;

	for (size_t i = hash & mask;; i = (i + 1) & mask)
	{
		whm_slot *s = &m->slots[i];

		if (s->key == NULL)
			return s;
		if (s->hash == hash && s->keylen == keylen &&
			memcmp(s->key, key, keylen) == 0)
			return s;
	}
}

void *
whm_get(const whm *m, const void *key, size_t keylen)
{
	whm_slot *s;

	if (m->cap == 0)
		return NULL;
	s = whm_find(m, key, keylen, whm_fnv1a(WHM_FNV_OFFSET, key, keylen));
	return s->key ? s->value : NULL;
}

/* Double the table (or create it); keys move, values stay. */
static int
whm_grow(whm *m)
{
	size_t	  ncap = m->cap ? m->cap * 2 : 16;
	whm_slot *old = m->slots;
	size_t	  oldcap = m->cap;

	m->slots = calloc(ncap, sizeof(whm_slot));
	if (m->slots == NULL)
	{
		m->slots = old;
		return -1;
	}
	m->cap = ncap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key != NULL)
			*whm_find(m, old[i].key, old[i].keylen, old[i].hash) = old[i];
	free(old);
	return 0;
}

int
whm_put(whm *m, const void *key, size_t keylen, void *value)
{
	uint64_t  hash = whm_fnv1a(WHM_FNV_OFFSET, key, keylen);
	whm_slot *s;

	/* keep the load under 70% so probe chains stay short */
	if ((m->count + 1) * 10 > m->cap * 7 && whm_grow(m) != 0)
		return -1;
	s = whm_find(m, key, keylen, hash);
	if (s->key == NULL)
	{
		s->key = malloc(keylen ? keylen : 1);
		if (s->key == NULL)
			return -1;
		memcpy(s->key, key, keylen);
		s->keylen = keylen;
		s->hash = hash;
		m->count++;
	}
	s->value = value;
	return 0;
}

void
whm_free(whm *m, void (*fn)(void *value))
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key != NULL)
		{
			if (fn)
				fn(m->slots[i].value);
			free(m->slots[i].key);
		}
	free(m->slots);
	whm_init(m);
}
