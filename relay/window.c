/*-------------------------------------------------------------------------
 *
 * window.c
 *	  The replay window: a ring of message copies (see window.h).
 *
 *-------------------------------------------------------------------------
 */
#include "window.h"

#include <stdlib.h>
#include <string.h>

void
wr_window_init(wr_window *w, uint64_t limit)
{
	memset(w, 0, sizeof(*w));
	w->limit = limit;
	w->from_start = true;
}

static void
wr_window_pop(wr_window *w)
{
	wr_wentry *e = w->ring[w->head];

	w->floor = e->key;
	w->bytes -= e->len;
	free(e);
	w->ring[w->head] = NULL;
	w->head = (w->head + 1) % w->cap;
	w->count--;
}

void
wr_window_reset(wr_window *w)
{
	while (w->count > 0)
		wr_window_pop(w);
	w->head = 0;
	w->from_start = true;
	memset(&w->floor, 0, sizeof(w->floor));
}

void
wr_window_free(wr_window *w)
{
	wr_window_reset(w);
	free(w->ring);
	w->ring = NULL;
	w->cap = 0;
}

/* Double the ring, unwrapping it so that head is 0 again. */
static bool
wr_window_grow(wr_window *w)
{
	size_t		ncap = w->cap ? w->cap * 2 : 1024;
	wr_wentry **n = malloc(ncap * sizeof(wr_wentry *));

	if (n == NULL)
		return false;
	for (size_t i = 0; i < w->count; i++)
		n[i] = w->ring[(w->head + i) % w->cap];
	free(w->ring);
	w->ring = n;
	w->cap = ncap;
	w->head = 0;
	return true;
}

bool
wr_window_add(wr_window *w, wr_wkey key, uint64_t seq, const void *data,
			  size_t len)
{
	wr_wentry *e;

	if (w->count > 0 &&
		wr_wkey_cmp(key, wr_window_at(w, w->count - 1)->key) <= 0)
		return true;
	if (!w->from_start && w->count == 0 && wr_wkey_cmp(key, w->floor) <= 0)
		return true;
	if (len > UINT32_MAX)
		return false;
	if (w->count == w->cap && !wr_window_grow(w))
		return false;
	if ((e = malloc(sizeof(wr_wentry) + len)) == NULL)
		return false;
	e->key = key;
	e->seq = seq;
	e->len = (uint32_t) len;
	memcpy(e->data, data, len);
	w->ring[(w->head + w->count) % w->cap] = e;
	w->count++;
	w->bytes += len;
	return true;
}

void
wr_window_drop_through(wr_window *w, wr_wkey key)
{
	while (w->count > 0)
		wr_window_pop(w);
	w->head = 0;
	w->from_start = false;
	if (wr_wkey_cmp(key, w->floor) > 0)
		w->floor = key;
}

void
wr_window_trim(wr_window *w, wr_wkey hold)
{
	while (w->count > 0 && w->bytes > w->limit &&
		   wr_wkey_cmp(w->ring[w->head]->key, hold) <= 0)
	{
		wr_window_pop(w);
		w->from_start = false;
		w->evicted++;
	}
}

bool
wr_window_covers(const wr_window *w, wr_wkey after)
{
	return w->from_start || wr_wkey_cmp(after, w->floor) >= 0;
}

size_t
wr_window_find(const wr_window *w, wr_wkey after)
{
	size_t lo = 0;
	size_t hi = w->count;

	while (lo < hi)
	{
		size_t mid = lo + (hi - lo) / 2;

		if (wr_wkey_cmp(wr_window_at(w, mid)->key, after) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void
wr_window_page(const wr_window *w, wr_wkey after, uint64_t budget,
			   wr_wselect select, void *arg, wr_wpage *page)
{
	size_t i;

	memset(page, 0, sizeof(*page));
	page->first = wr_window_find(w, after);
	for (i = page->first; i < w->count; i++)
	{
		const wr_wentry *m = wr_window_at(w, i);

		if (!select(m, arg))
			continue;
		if (page->n > 0 && page->bytes + m->len > budget)
			break;
		page->bytes += m->len;
		page->n++;
		page->last = i;
	}
	page->end = i >= w->count;
}
