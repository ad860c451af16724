/*-------------------------------------------------------------------------
 *
 * torder.c
 *	  The order of the transactions of one tick (see torder.h).
 *
 *-------------------------------------------------------------------------
 */
#include "torder.h"

#include <stdlib.h>
#include <string.h>

#include "hashmap.h"

typedef struct wr_to_edge
{
	uint32_t from;
	uint32_t to;
} wr_to_edge;

typedef struct wr_to
{
	wr_to_edge *e;
	uint32_t	n;
	uint32_t	cap;
} wr_to;

static bool
wr_to_same(const char *a, size_t alen, const char *b, size_t blen)
{
	return a != NULL && b != NULL && alen == blen && memcmp(a, b, alen) == 0;
}

static bool
wr_to_add(wr_to *g, uint32_t from, uint32_t to)
{
	if (g->n == g->cap)
	{
		uint32_t	cap = g->cap ? g->cap * 2 : 64;
		wr_to_edge *n = realloc(g->e, cap * sizeof(wr_to_edge));

		if (n == NULL)
			return false;
		g->e = n;
		g->cap = cap;
	}
	g->e[g->n++] = (wr_to_edge) {from, to};
	return true;
}

/* Must a's transaction come before b's?  (a and b: versions of one row) */
static bool
wr_to_before(const wr_to_ver *a, const wr_to_ver *b)
{
	/* b changed the version a wrote */
	if (wr_to_same(a->new_row, a->new_len, b->old_row, b->old_len))
		return true;
	/* a took the key out, b brought it back, b did not change a's version */
	if (a->removes && b->produces &&
		!wr_to_same(b->new_row, b->new_len, a->old_row, a->old_len))
		return true;
	return false;
}

/* A min-heap of transaction numbers: the given order among the ready. */
static void
wr_to_push(uint32_t *h, uint32_t *n, uint32_t x)
{
	uint32_t i = (*n)++;

	while (i > 0 && h[(i - 1) / 2] > x)
	{
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = x;
}

static uint32_t
wr_to_pop(uint32_t *h, uint32_t *n)
{
	uint32_t top = h[0];
	uint32_t x = h[--(*n)];
	uint32_t i = 0;

	for (;;)
	{
		uint32_t c = 2 * i + 1;

		if (c >= *n)
			break;
		if (c + 1 < *n && h[c + 1] < h[c])
			c++;
		if (h[c] >= x)
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n > 0)
		h[i] = x;
	return top;
}

static int
wr_to_edge_cmp(const void *a, const void *b)
{
	const wr_to_edge *x = a;
	const wr_to_edge *y = b;

	return x->from != y->from ? (x->from < y->from ? -1 : 1) :
								(x->to < y->to ? -1 : x->to > y->to);
}

bool
wr_torder(const wr_to_ver *v, uint32_t nv, uint32_t ntxn, uint32_t *order,
		  bool *cycle)
{
	whm		  rows;
	int64_t	 *next = NULL; /* versions of the same row, chained */
	uint32_t *indeg = NULL;
	uint32_t *first = NULL; /* each transaction's edges in g.e */
	uint32_t *heap = NULL;
	bool	 *done = NULL;
	wr_to	  g = {0};
	uint32_t  nheap = 0;
	uint32_t  out = 0;
	bool	  ok = false;

	*cycle = false;
	for (uint32_t t = 0; t < ntxn; t++)
		order[t] = t;
	if (ntxn < 2)
		return true;

	/* group the versions by row; an edge for each ordered pair */
	whm_init(&rows);
	if ((next = malloc((nv ? nv : 1) * sizeof(int64_t))) == NULL)
		goto done;
	for (uint32_t i = 0; i < nv; i++)
	{
		void *head = whm_get(&rows, v[i].key, v[i].key_len);

		next[i] = head ? (int64_t) (uintptr_t) head - 1 : -1;
		if (whm_put(&rows, v[i].key, v[i].key_len,
					(void *) (uintptr_t) (i + 1)) != 0)
			goto done;
		for (int64_t j = next[i]; j >= 0; j = next[j])
		{
			if (v[j].txn == v[i].txn)
				continue;
			if (wr_to_before(&v[j], &v[i]) &&
				!wr_to_add(&g, v[j].txn, v[i].txn))
				goto done;
			if (wr_to_before(&v[i], &v[j]) &&
				!wr_to_add(&g, v[i].txn, v[j].txn))
				goto done;
		}
	}
	if (g.n == 0)
	{
		ok = true; /* nothing to reorder */
		goto done;
	}

	/* Kahn's algorithm, the lowest-numbered ready transaction first */
	qsort(g.e, g.n, sizeof(wr_to_edge), wr_to_edge_cmp);
	indeg = calloc(ntxn, sizeof(uint32_t));
	first = malloc((ntxn + 1) * sizeof(uint32_t));
	heap = malloc(ntxn * sizeof(uint32_t));
	done = calloc(ntxn, sizeof(bool));
	if (indeg == NULL || first == NULL || heap == NULL || done == NULL)
		goto done;
	for (uint32_t k = 0, t = 0; t <= ntxn; t++)
	{
		while (k < g.n && g.e[k].from < t)
			k++;
		first[t] = k;
	}
	for (uint32_t k = 0; k < g.n; k++)
		if (k == 0 || g.e[k].from != g.e[k - 1].from ||
			g.e[k].to != g.e[k - 1].to)
			indeg[g.e[k].to]++;
	for (uint32_t t = 0; t < ntxn; t++)
		if (indeg[t] == 0)
			wr_to_push(heap, &nheap, t);
	while (out < ntxn)
	{
		uint32_t t;

		if (nheap == 0)
		{
			/* a cycle: the rest in the given order */
			*cycle = true;
			for (uint32_t u = 0; u < ntxn; u++)
				if (!done[u])
					order[out++] = u;
			break;
		}
		t = wr_to_pop(heap, &nheap);
		done[t] = true;
		order[out++] = t;
		for (uint32_t k = first[t]; k < first[t + 1]; k++)
		{
			if (k > first[t] && g.e[k].to == g.e[k - 1].to)
				continue; /* a repeated edge counted once */
			if (--indeg[g.e[k].to] == 0 && !done[g.e[k].to])
				wr_to_push(heap, &nheap, g.e[k].to);
		}
	}
	ok = true;
done:
	whm_free(&rows, NULL);
	free(next);
	free(g.e);
	free(indeg);
	free(first);
	free(heap);
	free(done);
	return ok;
}
