/*-------------------------------------------------------------------------
 *
 * schema_version.h
 *	  The schema version of a table definition: a 53-bit hash of
 *	  everything a RELATION record says (docs/PROTOCOL.md §E6).
 *
 * The version covers the names, the key, each column's name and type and,
 * from a version 2 plugin, the schema's OID and the columns' attnums, so
 * the same definition has the same version in every process and after
 * restarts.  It is below 2^53, so that JSON consumers hold it exactly, and
 * never 0, so that 0 can mean "no version".  Bus frames and the control
 * socket carry it; consumers treat it as opaque.  A protocol concept, kept
 * out of the relay so that anything holding a decoded RELATION (a tool, a
 * test, a second source) computes the same value.
 *
 * Pure function of its argument; thread-safe.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALBUS_SCHEMA_VERSION_H
#define WALBUS_SCHEMA_VERSION_H

#include <stdint.h>

#include "walbus_proto.h"

/* 2^53 - 1: the largest integer a double (JSON, JavaScript) holds exactly */
#define WSV_MASK ((UINT64_C(1) << 53) - 1)

/* The version of rec, which must be a WB_RELATION record. */
extern uint64_t wsv_of_relation(const wb_record *rec);

#endif /* WALBUS_SCHEMA_VERSION_H */
