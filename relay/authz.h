/*-------------------------------------------------------------------------
 *
 * authz.h
 *	  Who may do what on the control socket: the control_allow rules, their
 *	  parser and the one decision function control.c asks before answering
 *	  a request (docs/RELAY.md, "Security").
 *
 * A rule is IDENTITY=RIGHT; a setting holds one or more, separated by
 * commas, and the setting may be repeated.  Identities: cn:NAME (the
 * subject CN of a client certificate verified against tls_ca), cn:* (any
 * such certificate), uid:N (an ipc client running as uid N), uid:* (any
 * ipc client) and any (every client).  Rights: read (status, schema and
 * replays without a consumer), consumer:NAME (read, and hello, ack and
 * replay as durable consumer NAME) and all (everything, backfills too).
 *
 * Without rules the transport decides: ipc (mode 0600: the relay's uid
 * only), loopback tcp and tcp on a trusted network get all; tls+tcp
 * clients get nothing, so that a certificate alone never lets a client
 * acknowledge.  With rules, a client gets what the rules matching it
 * grant, and nothing when none matches.
 *
 * cn:NAME needs nng 1.6 or later (NNG_OPT_TLS_PEER_CN): built with an
 * older nng, wr_authz_add refuses it and says so.
 *
 * wr_authz_add returns 0, or -1 after writing a one-line message naming
 * the bad rule into errbuf.  wr_authz_check returns true when allowed,
 * else false with a message naming the identity (and the consumer) in
 * why.  No global state; a wr_authz is used by one thread.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WR_AUTHZ_H
#define WR_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WR_AUTHZ_MAX_RULES 64
#define WR_AUTHZ_NAME_MAX  63 /* CNs and consumer names */

/* How a control client reached the relay. */
typedef enum wr_authz_transport
{
	WR_AUTHZ_IPC, /* ipc:// (and inproc://) */
	WR_AUTHZ_TCP, /* plain tcp: loopback or trusted network */
	WR_AUTHZ_TLS  /* tls+tcp:// */
} wr_authz_transport;

/* What is known of one client (its nng pipe). */
typedef struct wr_authz_identity
{
	wr_authz_transport transport;
	bool			   has_uid; /* ipc: the peer's uid is known */
	uint64_t		   uid;
	bool			   verified;	/* tls: its certificate chains to tls_ca */
	char cn[WR_AUTHZ_NAME_MAX + 1]; /* tls: subject CN, "" unknown */
} wr_authz_identity;

/* What a request needs. */
typedef enum wr_authz_action
{
	WR_AUTHZ_READ,	   /* status, schema, replay without consumer */
	WR_AUTHZ_CONSUMER, /* hello, ack, replay as a consumer */
	WR_AUTHZ_ALL	   /* backfill */
} wr_authz_action;

typedef enum wr_authz_who
{
	WR_AUTHZ_WHO_CN,
	WR_AUTHZ_WHO_ANY_CN,
	WR_AUTHZ_WHO_UID,
	WR_AUTHZ_WHO_ANY_UID,
	WR_AUTHZ_WHO_ANY
} wr_authz_who;

typedef enum wr_authz_right
{
	WR_AUTHZ_RIGHT_READ,
	WR_AUTHZ_RIGHT_CONSUMER,
	WR_AUTHZ_RIGHT_ALL
} wr_authz_right;

typedef struct wr_authz_rule
{
	wr_authz_who   who;
	char		   cn[WR_AUTHZ_NAME_MAX + 1]; /* WR_AUTHZ_WHO_CN */
	uint64_t	   uid;						  /* WR_AUTHZ_WHO_UID */
	wr_authz_right right;
	char		   consumer[WR_AUTHZ_NAME_MAX + 1]; /* RIGHT_CONSUMER */
} wr_authz_rule;

typedef struct wr_authz
{
	wr_authz_rule rules[WR_AUTHZ_MAX_RULES];
	int			  n;
} wr_authz;

/* Parse "cn:a=read, uid:1000=consumer:x" and add its rules. */
extern int wr_authz_add(wr_authz *a, const char *value, char *errbuf,
						size_t errlen);

extern bool wr_authz_check(const wr_authz *a, const wr_authz_identity *id,
						   wr_authz_action action, const char *consumer,
						   size_t consumer_len, char *why, size_t whylen);

/* "cn:crm-worker", "uid:1000", "a tls client without a certificate", ... */
extern void wr_authz_describe(const wr_authz_identity *id, char *buf,
							  size_t len);

#endif /* WR_AUTHZ_H */
