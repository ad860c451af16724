/*-------------------------------------------------------------------------
 *
 * authz.c
 *	  Control socket authorization rules (see authz.h).
 *
 *-------------------------------------------------------------------------
 */
#include "authz.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h> /* only for NNG_OPT_TLS_PEER_CN */

static int wr_authz_fail(char *errbuf, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
wr_authz_fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Consumer names: the relay's rule for durable names (config.c). */
static bool
wr_authz_consumer_ok(const char *s, size_t n)
{
	if (n == 0 || n > WR_AUTHZ_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			  (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' ||
			  s[i] == '.'))
			return false;
	return true;
}

/* CNs: printable, without the separators of the syntax. */
static bool
wr_authz_cn_ok(const char *s, size_t n)
{
	if (n == 0 || n > WR_AUTHZ_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == ',' || s[i] == '=')
			return false;
	return true;
}

static bool
wr_authz_prefix(const char *s, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);

	return n >= p && memcmp(s, prefix, p) == 0;
}

/* One "IDENTITY=RIGHT", s[0..n) trimmed. */
static int
wr_authz_parse_rule(wr_authz_rule *r, const char *s, size_t n, char *errbuf,
					size_t errlen)
{
	const char *eq = memchr(s, '=', n);
	const char *who;
	const char *right;
	size_t		wn;
	size_t		rn;

	memset(r, 0, sizeof(*r));
	if (eq == NULL)
		return wr_authz_fail(errbuf, errlen,
							 "invalid control_allow rule \"%.*s\": write "
							 "IDENTITY=RIGHT, e.g. cn:monitor=read",
							 (int) (n > 80 ? 80 : n), s);
	who = s;
	wn = (size_t) (eq - s);
	right = eq + 1;
	rn = n - wn - 1;
	while (wn > 0 && who[wn - 1] == ' ')
		wn--;
	while (rn > 0 && *right == ' ')
		right++, rn--;

	if (wn == 4 && memcmp(who, "cn:*", 4) == 0)
		r->who = WR_AUTHZ_WHO_ANY_CN;
	else if (wr_authz_prefix(who, wn, "cn:") &&
			 wr_authz_cn_ok(who + 3, wn - 3))
	{
#ifndef NNG_OPT_TLS_PEER_CN
		return wr_authz_fail(errbuf, errlen,
							 "control_allow rule \"%.*s\" names a certificate "
							 "CN, but this relay is built with an nng older "
							 "than 1.6, which cannot tell a tls client's CN: "
							 "use cn:* (any certificate that chains to "
							 "tls_ca), or uid: rules over ipc",
							 (int) (n > 80 ? 80 : n), s);
#endif
		r->who = WR_AUTHZ_WHO_CN;
		memcpy(r->cn, who + 3, wn - 3);
	}
	else if (wn == 5 && memcmp(who, "uid:*", 5) == 0)
		r->who = WR_AUTHZ_WHO_ANY_UID;
	else if (wr_authz_prefix(who, wn, "uid:") && wn > 4 && wn < 4 + 11 &&
			 strspn(who + 4, "0123456789") >= wn - 4)
	{
		r->who = WR_AUTHZ_WHO_UID;
		r->uid = strtoull(who + 4, NULL, 10);
	}
	else if (wn == 3 && memcmp(who, "any", 3) == 0)
		r->who = WR_AUTHZ_WHO_ANY;
	else
		return wr_authz_fail(errbuf, errlen,
							 "invalid identity \"%.*s\" in control_allow: "
							 "use cn:NAME, cn:*, uid:N, uid:* or any",
							 (int) (wn > 80 ? 80 : wn), who);

	if (rn == 4 && memcmp(right, "read", 4) == 0)
		r->right = WR_AUTHZ_RIGHT_READ;
	else if (rn == 3 && memcmp(right, "all", 3) == 0)
		r->right = WR_AUTHZ_RIGHT_ALL;
	else if (wr_authz_prefix(right, rn, "consumer:") &&
			 wr_authz_consumer_ok(right + 9, rn - 9))
	{
		r->right = WR_AUTHZ_RIGHT_CONSUMER;
		memcpy(r->consumer, right + 9, rn - 9);
	}
	else
		return wr_authz_fail(errbuf, errlen,
							 "invalid right \"%.*s\" in control_allow: use "
							 "read, consumer:NAME or all",
							 (int) (rn > 80 ? 80 : rn), right);
	return 0;
}

int
wr_authz_add(wr_authz *a, const char *value, char *errbuf, size_t errlen)
{
	const char *p = value;
	bool		any = false;

	while (*p != '\0')
	{
		const char *start;
		size_t		n;

		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ',')
			p++;
		n = (size_t) (p - start);
		while (n > 0 && start[n - 1] == ' ')
			n--;
		if (a->n == WR_AUTHZ_MAX_RULES)
			return wr_authz_fail(errbuf, errlen,
								 "too many control_allow rules (at most %d)",
								 WR_AUTHZ_MAX_RULES);
		if (wr_authz_parse_rule(&a->rules[a->n], start, n, errbuf, errlen))
			return -1;
		a->n++;
		any = true;
	}
	if (!any)
		return wr_authz_fail(errbuf, errlen,
							 "empty control_allow: write IDENTITY=RIGHT "
							 "rules, e.g. cn:monitor=read");
	return 0;
}

static bool
wr_authz_matches(const wr_authz_rule *r, const wr_authz_identity *id)
{
	switch (r->who)
	{
		case WR_AUTHZ_WHO_CN:
			return id->transport == WR_AUTHZ_TLS && id->verified &&
				strcmp(id->cn, r->cn) == 0;
		case WR_AUTHZ_WHO_ANY_CN:
			return id->transport == WR_AUTHZ_TLS && id->verified;
		case WR_AUTHZ_WHO_UID:
			return id->transport == WR_AUTHZ_IPC && id->has_uid &&
				id->uid == r->uid;
		case WR_AUTHZ_WHO_ANY_UID:
			return id->transport == WR_AUTHZ_IPC;
		case WR_AUTHZ_WHO_ANY:
			return true;
	}
	return false;
}

static bool
wr_authz_grants(const wr_authz_rule *r, wr_authz_action action,
				const char *consumer, size_t consumer_len)
{
	switch (r->right)
	{
		case WR_AUTHZ_RIGHT_ALL:
			return true;
		case WR_AUTHZ_RIGHT_READ:
			return action == WR_AUTHZ_READ;
		case WR_AUTHZ_RIGHT_CONSUMER:
			return action == WR_AUTHZ_READ ||
				(action == WR_AUTHZ_CONSUMER &&
				 strlen(r->consumer) == consumer_len &&
				 memcmp(r->consumer, consumer, consumer_len) == 0);
	}
	return false;
}

void
wr_authz_describe(const wr_authz_identity *id, char *buf, size_t len)
{
	switch (id->transport)
	{
		case WR_AUTHZ_IPC:
			if (id->has_uid)
				snprintf(buf, len, "uid:%" PRIu64, id->uid);
			else
				snprintf(buf, len, "an ipc client of unknown uid");
			break;
		case WR_AUTHZ_TCP:
			snprintf(buf, len, "a tcp client");
			break;
		case WR_AUTHZ_TLS:
			if (!id->verified)
				snprintf(buf, len,
						 "a tls client without a verified "
						 "certificate");
			else if (id->cn[0] != '\0')
				snprintf(buf, len, "cn:%s", id->cn);
			else
				snprintf(buf, len,
						 "a tls client with a verified certificate "
						 "(cn:*)");
			break;
	}
}

bool
wr_authz_check(const wr_authz *a, const wr_authz_identity *id,
			   wr_authz_action action, const char *consumer,
			   size_t consumer_len, char *why, size_t whylen)
{
	char who[WR_AUTHZ_NAME_MAX + 64];
	bool matched = false;

	if (a->n == 0)
	{
		/* the transport's default (authz.h) */
		if (id->transport != WR_AUTHZ_TLS)
			return true;
	}
	for (int i = 0; i < a->n; i++)
	{
		if (!wr_authz_matches(&a->rules[i], id))
			continue;
		matched = true;
		if (wr_authz_grants(&a->rules[i], action, consumer, consumer_len))
			return true;
	}

	wr_authz_describe(id, who, sizeof(who));
	if (!matched)
		snprintf(why, whylen,
				 "%s may not use this relay's control socket: "
				 "no control_allow rule names it",
				 who);
	else if (action == WR_AUTHZ_CONSUMER)
		snprintf(why, whylen,
				 "%s may not act as durable consumer \"%.*s\" "
				 "(control_allow)",
				 who,
				 (int) (consumer_len > WR_AUTHZ_NAME_MAX ? WR_AUTHZ_NAME_MAX :
														   consumer_len),
				 consumer);
	else if (action == WR_AUTHZ_ALL)
		snprintf(why, whylen,
				 "%s may not request backfills: that needs "
				 "the right \"all\" (control_allow)",
				 who);
	else
		snprintf(why, whylen,
				 "%s may not read from this relay "
				 "(control_allow)",
				 who);
	return false;
}
