/*-------------------------------------------------------------------------
 *
 * torder.h
 *	  The order of the transactions of one tick of the trigger source.
 *
 * A tick's batch holds the transactions that committed between two
 * snapshots, and PostgreSQL does not say in which order they committed.
 * For transactions that touched different rows the order does not matter
 * to a copy of the tables; for those that touched the same row it does,
 * and the row tells it: the later writer's old row is the version the
 * earlier one wrote, and a key is inserted only after the transaction
 * that deleted it (or moved it away) committed.  wr_torder sorts the
 * transactions so that every such pair is in that order, and otherwise
 * keeps them in the order given (by transaction id).
 *
 * The caller describes each version a change touched: the transaction,
 * the row's identity (the table and the key, as bytes), the old row's
 * text (UPDATE, DELETE) and the new row's (INSERT, UPDATE), and whether
 * the change brings the key into the table (INSERT, or UPDATE to this key)
 * or takes it out (DELETE, or UPDATE away from it).  An UPDATE that changes
 * the key is two versions: one of the old key (removes), one of the new
 * (produces).
 *
 * Returns false when memory runs out; *cycle is set when the rows
 * contradict each other (they cannot, unless a row's text repeats), and
 * the transactions caught in it keep their given order.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_TORDER_H
#define WR_TORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wr_to_ver
{
	uint32_t	txn; /* 0 .. ntxn-1, in the given order */
	const char *key; /* the row's identity */
	size_t		key_len;
	const char *old_row; /* NULL: none */
	size_t		old_len;
	const char *new_row; /* NULL: none */
	size_t		new_len;
	bool		produces; /* the key enters the table */
	bool		removes;  /* the key leaves it */
} wr_to_ver;

extern bool wr_torder(const wr_to_ver *v, uint32_t nv, uint32_t ntxn,
					  uint32_t *order, bool *cycle);

#endif /* WR_TORDER_H */
