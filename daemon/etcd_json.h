/*
 * etcd's v3 API through its JSON gateway (grpc-gateway): request bodies and
 * response parsers. Pure: no I/O, no clock, no global state; every function
 * works on (buffer, length) so that the parsers can be fuzzed
 * (tests/fuzz/fuzz_etcd_json.c) and unit-tested (tests/unit/test_etcd_json.c).
 *
 * What the gateway does that these functions hide:
 *   - keys and values are base64 (standard alphabet, padded) in JSON;
 *   - int64 fields (lease IDs, TTLs, revisions) arrive as JSON strings
 *     ("7587862065384431108"); numbers are accepted as well;
 *   - fields at their default (0, false, empty) are left out: an absent
 *     "TTL" is 0, an absent "succeeded" is false, an absent "kvs" is none;
 *   - the streaming endpoint /v3/lease/keepalive wraps its answer in
 *     {"result": {...}};
 *   - errors are {"error": "text", "code": N, "message": "text"} (unary
 *     calls; "code" is the gRPC code) or {"error": {"grpc_code": N,
 *     "message": "text", ...}} (streams).
 *
 * Endpoints: POST /v3/lease/grant, /v3/lease/keepalive, /v3/lease/revoke,
 * /v3/lease/timetolive, /v3/kv/txn, /v3/kv/range, /v3/kv/deleterange.
 */
#ifndef FOD_ETCD_JSON_H
#define FOD_ETCD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EJ_KEY_MAX	256		/* bytes of a key we build or read */
#define EJ_VALUE_MAX	64		/* bytes of a value kept (node names) */
#define EJ_TTL_KEYS_MAX	40		/* keys of a lease kept by timetolive */
#define EJ_BODY_MAX	(1024 * 1024)	/* longer answers are refused */
#define EJ_REQ_MAX	2048		/* enough for any request built here */

/* gRPC codes etcd uses that matter here. */
#define EJ_CODE_NOT_FOUND	5	/* "etcdserver: requested lease not found" */

enum ej_rc {
	EJ_BAD = -1,		/* not a well-formed answer: try another member */
	EJ_OK = 0,
	EJ_ERR = 1,		/* etcd answered with an error object (see ej_error) */
};

struct ej_error {
	int	code;			/* gRPC code, 0 if none given */
	char	message[160];		/* printable ASCII, truncated */
};

/* Base64 (RFC 4648, padded). encode: strlen of out, or -1 if outsz is too
 * small (needs 4 * ((len + 2) / 3) + 1). decode: bytes written, or -1 if the
 * text is not canonical base64 or does not fit. */
int	ej_b64_encode(const void *in, size_t len, char *out, size_t outsz);
int	ej_b64_decode(const char *in, size_t len, void *out, size_t outsz);

/*
 * Request bodies into buf; each returns the length written (NUL-terminated)
 * or -1 when it does not fit or an argument is invalid (key longer than
 * EJ_KEY_MAX, value longer than EJ_VALUE_MAX, ttl or lease <= 0).
 */
int	ej_req_grant(char *buf, size_t sz, int64_t ttl_s);
/* {"ID": id}: /v3/lease/keepalive and /v3/lease/revoke */
int	ej_req_lease(char *buf, size_t sz, int64_t id);
/* {"ID": id, "keys": true}: /v3/lease/timetolive */
int	ej_req_timetolive(char *buf, size_t sz, int64_t id);
/* /v3/kv/txn: if create_revision(key) == 0 then put key=value under lease,
 * else range key (to learn the holder). */
int	ej_req_acquire(char *buf, size_t sz, const char *key, const char *value,
	    int64_t lease);
/* /v3/kv/txn: if value(key) == from (a holder handing over) then put
 * key=value under lease, else range key. */
int	ej_req_takeover(char *buf, size_t sz, const char *key, const char *from,
	    const char *value, int64_t lease);
/* /v3/kv/txn: if lease(key) == lease then delete key, else range key. */
int	ej_req_release(char *buf, size_t sz, const char *key, int64_t lease);
/* /v3/kv/range of one key */
int	ej_req_range(char *buf, size_t sz, const char *key);

/* One key-value as etcd reports it. */
struct ej_kv {
	bool	present;		/* false: no such key */
	char	value[EJ_VALUE_MAX + 1];	/* NUL-terminated; bytes outside
						   printable ASCII become '?' */
	size_t	value_len;		/* as stored, before any truncation */
	int64_t	lease;			/* 0 = none */
	int64_t	create_revision, mod_revision, version;
};

struct ej_lease {
	int64_t	id;
	int64_t	ttl;			/* seconds; 0 (or < 0) = the lease is gone */
};

struct ej_txn {
	bool		succeeded;	/* the compare held */
	struct ej_kv	kv;		/* from a response_range, if any */
	int64_t		deleted;	/* from a response_delete_range */
	int64_t		revision;	/* header.revision */
};

struct ej_ttl {
	int64_t	id;
	int64_t	ttl;			/* remaining seconds; -1 = expired/unknown */
	int64_t	granted_ttl;
	int	nkeys;			/* keys attached (at most EJ_TTL_KEYS_MAX kept) */
	char	keys[EJ_TTL_KEYS_MAX][EJ_KEY_MAX + 1];
	bool	truncated;		/* more keys than kept */
};

/*
 * Parsers. Each returns EJ_OK with *out filled, EJ_ERR with *err filled
 * (etcd said no), or EJ_BAD (not JSON, not an object, a field of the wrong
 * type, a bad base64 or int64, too long, too deep). *out and *err are
 * zeroed first in every case.
 */
/* /v3/lease/grant and /v3/lease/keepalive (with or without "result") */
int	ej_parse_lease(const char *body, size_t len, struct ej_lease *out,
	    struct ej_error *err);
/* /v3/lease/revoke and anything else whose answer is just a header */
int	ej_parse_header(const char *body, size_t len, int64_t *revision,
	    struct ej_error *err);
int	ej_parse_txn(const char *body, size_t len, struct ej_txn *out,
	    struct ej_error *err);
/* /v3/kv/range: the first kv (the only one for a single-key range) */
int	ej_parse_range(const char *body, size_t len, struct ej_kv *out,
	    struct ej_error *err);
int	ej_parse_timetolive(const char *body, size_t len, struct ej_ttl *out,
	    struct ej_error *err);

#endif
