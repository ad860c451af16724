/*-------------------------------------------------------------------------
 *
 * test_common.c
 *	  cmocka tests of common/: schema versions (schema_version.c), the
 *	  text forms of LSNs, timestamps and bytes (wire_text.c) and the hash
 *	  map (hashmap.c).  No sockets, no PostgreSQL.
 *
 * Schema versions are pinned to literal values: a relay must give a
 * definition the version an earlier relay gave it, because workers cache
 * (relid, schema_version) across runs.  A change of the hash that breaks
 * those pins breaks every worker's cache.
 *
 *-------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hashmap.h"
#include "schema_version.h"
#include "wire_text.h"

/* -------------------------------------------------------- schema versions */

static wb_column cols_a[] = {
	{{"id", 2}, 23, -1, {"integer", 7}},
	{{"name", 4}, 25, -1, {"text", 4}},
};
static wb_column cols_b[] = {
	{{"id", 2}, 23, -1, {"integer", 7}},
	{{"name", 4}, 1043, 84, {"character varying(80)", 21}},
};

static wb_record
relation(uint32_t relid, const char *table, wb_column *cols, uint32_t n)
{
	wb_record r;

	memset(&r, 0, sizeof(r));
	r.kind = WB_RELATION;
	r.u.relation.relid = relid;
	r.u.relation.schema = (wb_str) {"public", 6};
	r.u.relation.table = (wb_str) {table, (uint32_t) strlen(table)};
	r.u.relation.key_index = 0;
	r.u.relation.ncolumns = n;
	r.u.relation.columns = cols;
	return r;
}

static void
test_schema_versions(void **state)
{
	wb_record a = relation(16385, "contacts", cols_a, 2);
	wb_record b = relation(16385, "contacts", cols_b, 2);
	wb_record renamed = relation(16385, "people", cols_a, 2);
	uint64_t  va = wsv_of_relation(&a);
	uint64_t  vb = wsv_of_relation(&b);

	(void) state;
	/* stable: a function of the definition only, and JSON-safe */
	assert_true(va == wsv_of_relation(&a));
	assert_true(va != 0 && va <= WSV_MASK);
	assert_true(va != vb);
	assert_true(va != wsv_of_relation(&renamed));
	/* "ab"+"c" and "a"+"bc" must not collide through concatenation */
	{
		wb_column x[] = {{{"ab", 2}, 25, -1, {"c", 1}}};
		wb_column y[] = {{{"a", 1}, 25, -1, {"bc", 2}}};
		wb_record rx = relation(1, "t", x, 1);
		wb_record ry = relation(1, "t", y, 1);

		assert_true(wsv_of_relation(&rx) != wsv_of_relation(&ry));
	}
}

/* The relid is not part of a definition; version 2's OIDs and attnums are. */
static void
test_schema_versions_pinned(void **state)
{
	wb_column v2[] = {
		{{"id", 2}, 23, -1, {"integer", 7}, 1},
		{{"name", 4}, 25, -1, {"text", 4}, 3},
	};
	wb_record a = relation(16385, "contacts", cols_a, 2);
	wb_record elsewhere = relation(99, "contacts", cols_a, 2);
	wb_record b = relation(16385, "contacts", cols_b, 2);
	wb_record version2 = relation(16385, "contacts", v2, 2);

	(void) state;
	version2.u.relation.schema_oid = 2200;
	assert_true(wsv_of_relation(&a) == wsv_of_relation(&elsewhere));
	assert_true(wsv_of_relation(&a) == UINT64_C(3623022996347893));
	assert_true(wsv_of_relation(&b) == UINT64_C(7963034379045495));
	assert_true(wsv_of_relation(&version2) == UINT64_C(5006531391518155));
}

/* ------------------------------------------------------------- text forms */

static void
test_lsn_text(void **state)
{
	char buf[WIRE_TEXT_LSN_LEN];

	(void) state;
	wire_text_lsn(buf, 0);
	assert_string_equal(buf, "0/0");
	wire_text_lsn(buf, UINT64_C(0x16B3748));
	assert_string_equal(buf, "0/16B3748");
	wire_text_lsn(buf, UINT64_MAX);
	assert_string_equal(buf, "FFFFFFFF/FFFFFFFF");
}

static void
test_timestamp_text(void **state)
{
	static const struct
	{
		int64_t		sec;
		uint32_t	nsec;
		const char *text;
	} cases[] = {
		{0, 0, "1970-01-01T00:00:00Z"},
		{-1, 500000000, "1969-12-31T23:59:59.500000Z"},
		{1709164800, 1000, "2024-02-29T00:00:00.000001Z"},
		{1795482786, 123456789, "2026-11-24T01:13:06.123456789Z"},
		{-62135596800, 0, "0001-01-01T00:00:00Z"},
		{-210866803200, 0, "-4713-11-24T00:00:00Z"},
		{9224318015999, 999999000, "294276-12-31T23:59:59.999999Z"},
	};
	char buf[WIRE_TEXT_TIMESTAMP_LEN];

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		wire_text_timestamp(buf, (wb_timestamp) {cases[i].sec, cases[i].nsec});
		assert_string_equal(buf, cases[i].text);
	}
}

static void
test_hex_text(void **state)
{
	char buf[WIRE_TEXT_HEX_LEN(5)];

	(void) state;
	wire_text_hex(buf, "", 0);
	assert_string_equal(buf, "\\x");
	wire_text_hex(buf, "\x00\x01\x7f\x80\xff", 5);
	assert_string_equal(buf, "\\x00017f80ff");
}

/* --------------------------------------------------------------- hash map */

static void
test_hashmap(void **state)
{
	whm	 m;
	int	 values[1000];
	char key[16];

	(void) state;
	whm_init(&m);
	assert_null(whm_get(&m, "absent", 6));
	/* enough keys to grow the table several times */
	for (int i = 0; i < 1000; i++)
	{
		values[i] = i;
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(whm_put(&m, key, strlen(key), &values[i]), 0);
	}
	assert_int_equal(m.count, 1000);
	for (int i = 0; i < 1000; i++)
	{
		snprintf(key, sizeof(key), "k%d", i);
		assert_ptr_equal(whm_get(&m, key, strlen(key)), &values[i]);
	}
	/* a key that is a prefix of another is another key */
	assert_null(whm_get(&m, "k1", 1));
	whm_free(&m, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_versions),
		cmocka_unit_test(test_schema_versions_pinned),
		cmocka_unit_test(test_lsn_text),
		cmocka_unit_test(test_timestamp_text),
		cmocka_unit_test(test_hex_text),
		cmocka_unit_test(test_hashmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
