/*
 * etcd v3 JSON gateway: request bodies and response parsers (see
 * etcd_json.h). Bodies are built with snprintf from base64 and decimal
 * numbers only, so nothing needs JSON escaping; answers are parsed with
 * json-c under a depth and length limit and read defensively: a field of
 * the wrong type makes the whole answer EJ_BAD, never a guess.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "etcd_json.h"

#define EJ_DEPTH	16	/* nesting of any etcd answer is below 8 */

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
ej_b64_encode(const void *in, size_t len, char *out, size_t outsz)
{
	const unsigned char *p = in;
	size_t i, o = 0;
	uint32_t v;

	if (outsz == 0 || len > (SIZE_MAX - 3) / 4 * 3 ||
	    (len + 2) / 3 * 4 + 1 > outsz || (len + 2) / 3 * 4 > INT_MAX)
		return -1;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = b64chars[v >> 6 & 63];
		out[o++] = b64chars[v & 63];
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);
		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = i + 1 < len ? b64chars[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return (int)o;
}

static int
b64val(char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64chars, c)) == NULL)
		return -1;
	return (int)(p - b64chars);
}

int
ej_b64_decode(const char *in, size_t len, void *out, size_t outsz)
{
	unsigned char *o = out;
	size_t i, n = 0, pad = 0;
	int a, b, c, d;

	if (len % 4 != 0)
		return -1;
	if (len > 0 && in[len - 1] == '=')
		pad = len > 1 && in[len - 2] == '=' ? 2 : 1;
	if (len / 4 * 3 - pad > outsz || len / 4 * 3 > INT_MAX)
		return -1;
	for (i = 0; i < len; i += 4) {
		bool last = i + 4 == len;

		a = b64val(in[i]);
		b = b64val(in[i + 1]);
		c = last && pad == 2 && in[i + 2] == '=' ? 0 : b64val(in[i + 2]);
		d = last && pad >= 1 && in[i + 3] == '=' ? 0 : b64val(in[i + 3]);
		if (a < 0 || b < 0 || c < 0 || d < 0)
			return -1;
		/* canonical: the bits that padding drops must be zero */
		if (last && pad == 2 && (b & 15))
			return -1;
		if (last && pad == 1 && (c & 3))
			return -1;
		o[n++] = (unsigned char)(a << 2 | b >> 4);
		if (!(last && pad == 2))
			o[n++] = (unsigned char)((b & 15) << 4 | c >> 2);
		if (!(last && pad >= 1))
			o[n++] = (unsigned char)((c & 3) << 6 | d);
	}
	return (int)n;
}

/* --- requests --- */

static int
done(int n, size_t sz)
{
	return n < 0 || (size_t)n >= sz ? -1 : n;
}

static int
b64_str(const char *s, size_t max, char *out, size_t outsz)
{
	size_t len = strlen(s);

	if (len == 0 || len > max)
		return -1;
	return ej_b64_encode(s, len, out, outsz);
}

#define B64_KEY		(EJ_KEY_MAX / 3 * 4 + 8)
#define B64_VALUE	(EJ_VALUE_MAX / 3 * 4 + 8)

int
ej_req_grant(char *buf, size_t sz, int64_t ttl_s)
{
	if (ttl_s <= 0)
		return -1;
	return done(snprintf(buf, sz, "{\"TTL\":\"%" PRId64 "\"}", ttl_s), sz);
}

int
ej_req_lease(char *buf, size_t sz, int64_t id)
{
	if (id <= 0)
		return -1;
	return done(snprintf(buf, sz, "{\"ID\":\"%" PRId64 "\"}", id), sz);
}

int
ej_req_timetolive(char *buf, size_t sz, int64_t id)
{
	if (id <= 0)
		return -1;
	return done(snprintf(buf, sz, "{\"ID\":\"%" PRId64 "\",\"keys\":true}",
	    id), sz);
}

int
ej_req_acquire(char *buf, size_t sz, const char *key, const char *value,
    int64_t lease)
{
	char k[B64_KEY], v[B64_VALUE];

	if (lease <= 0 || b64_str(key, EJ_KEY_MAX, k, sizeof(k)) < 0 ||
	    b64_str(value, EJ_VALUE_MAX, v, sizeof(v)) < 0)
		return -1;
	return done(snprintf(buf, sz,
	    "{\"compare\":[{\"target\":\"CREATE\",\"result\":\"EQUAL\","
	    "\"key\":\"%s\",\"create_revision\":\"0\"}],"
	    "\"success\":[{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\","
	    "\"lease\":\"%" PRId64 "\"}}],"
	    "\"failure\":[{\"request_range\":{\"key\":\"%s\"}}]}",
	    k, k, v, lease, k), sz);
}

int
ej_req_takeover(char *buf, size_t sz, const char *key, const char *from,
    const char *value, int64_t lease)
{
	char k[B64_KEY], f[B64_VALUE], v[B64_VALUE];

	if (lease <= 0 || b64_str(key, EJ_KEY_MAX, k, sizeof(k)) < 0 ||
	    b64_str(from, EJ_VALUE_MAX, f, sizeof(f)) < 0 ||
	    b64_str(value, EJ_VALUE_MAX, v, sizeof(v)) < 0)
		return -1;
	return done(snprintf(buf, sz,
	    "{\"compare\":[{\"target\":\"VALUE\",\"result\":\"EQUAL\","
	    "\"key\":\"%s\",\"value\":\"%s\"}],"
	    "\"success\":[{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\","
	    "\"lease\":\"%" PRId64 "\"}}],"
	    "\"failure\":[{\"request_range\":{\"key\":\"%s\"}}]}",
	    k, f, k, v, lease, k), sz);
}

int
ej_req_release(char *buf, size_t sz, const char *key, int64_t lease)
{
	char k[B64_KEY];

	if (lease <= 0 || b64_str(key, EJ_KEY_MAX, k, sizeof(k)) < 0)
		return -1;
	return done(snprintf(buf, sz,
	    "{\"compare\":[{\"target\":\"LEASE\",\"result\":\"EQUAL\","
	    "\"key\":\"%s\",\"lease\":\"%" PRId64 "\"}],"
	    "\"success\":[{\"request_delete_range\":{\"key\":\"%s\"}}],"
	    "\"failure\":[{\"request_range\":{\"key\":\"%s\"}}]}",
	    k, lease, k, k), sz);
}

int
ej_req_range(char *buf, size_t sz, const char *key)
{
	char k[B64_KEY];

	if (b64_str(key, EJ_KEY_MAX, k, sizeof(k)) < 0)
		return -1;
	return done(snprintf(buf, sz, "{\"key\":\"%s\"}", k), sz);
}

/* --- answers --- */

/* int64 from a JSON string of decimal digits or a JSON integer. */
static int
get_i64(json_object *o, const char *name, int64_t *out)
{
	json_object *v;
	const char *s;
	char *end;
	long long x;

	*out = 0;
	if (!json_object_object_get_ex(o, name, &v) || v == NULL)
		return 0;		/* absent or null: the default, 0 */
	switch (json_object_get_type(v)) {
	case json_type_int:
		errno = 0;
		*out = json_object_get_int64(v);
		return errno == 0 ? 0 : -1;
	case json_type_string:
		s = json_object_get_string(v);
		if (json_object_get_string_len(v) == 0 ||
		    json_object_get_string_len(v) > 20 ||
		    !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
			return -1;
		errno = 0;
		x = strtoll(s, &end, 10);
		if (errno || *end != '\0' || end == s)
			return -1;
		*out = x;
		return 0;
	default:
		return -1;
	}
}

static int
get_bool(json_object *o, const char *name, bool *out)
{
	json_object *v;

	*out = false;
	if (!json_object_object_get_ex(o, name, &v) || v == NULL)
		return 0;
	if (json_object_get_type(v) != json_type_boolean)
		return -1;
	*out = json_object_get_boolean(v);
	return 0;
}

/* Member of type t, NULL if absent or null; *bad if of another type. */
static json_object *
get_typed(json_object *o, const char *name, enum json_type t, bool *bad)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || v == NULL)
		return NULL;
	if (json_object_get_type(v) != t) {
		*bad = true;
		return NULL;
	}
	return v;
}

static void
printable(char *dst, size_t dstsz, const char *src, size_t len)
{
	size_t i;

	if (dstsz == 0)
		return;
	if (len >= dstsz)
		len = dstsz - 1;
	for (i = 0; i < len; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[len] = '\0';
}

static json_object *
parse(const char *body, size_t len)
{
	struct json_tokener *tok;
	json_object *o;

	if (body == NULL || len == 0 || len > EJ_BODY_MAX)
		return NULL;
	if ((tok = json_tokener_new_ex(EJ_DEPTH)) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len)) {
		/* trailing bytes: allow only whitespace (streams end in \n) */
		size_t end = json_tokener_get_parse_end(tok);

		while (end < len && (body[end] == ' ' || body[end] == '\n' ||
		    body[end] == '\r' || body[end] == '\t'))
			end++;
		if (json_tokener_get_error(tok) != json_tokener_success ||
		    end != len) {
			json_object_put(o);
			o = NULL;
		}
	}
	json_tokener_free(tok);
	if (o != NULL && json_object_get_type(o) != json_type_object) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

/*
 * The error object, if the answer is one: EJ_ERR with err filled, EJ_BAD
 * if it is malformed, EJ_OK if it is no error.
 */
static int
error_of(json_object *o, struct ej_error *err)
{
	json_object *e, *m = NULL, *c = NULL;
	const char *text = NULL;
	size_t tlen = 0;
	int64_t code;

	if (json_object_object_get_ex(o, "error", &e) && e != NULL) {
		if (json_object_get_type(e) == json_type_object) {
			/* stream form: {"error": {"grpc_code": N, "message": ...}} */
			json_object_object_get_ex(e, "message", &m);
			if (get_i64(e, "grpc_code", &code) == -1)
				return EJ_BAD;
			if (code == 0 && get_i64(e, "code", &code) == -1)
				return EJ_BAD;
		} else if (json_object_get_type(e) == json_type_string) {
			m = e;
			if (get_i64(o, "code", &code) == -1)
				return EJ_BAD;
		} else
			return EJ_BAD;
	} else if (json_object_object_get_ex(o, "code", &c) && c != NULL &&
	    !json_object_object_get_ex(o, "header", NULL)) {
		/* newer gateways: {"code": N, "message": ...} */
		json_object_object_get_ex(o, "message", &m);
		if (get_i64(o, "code", &code) == -1)
			return EJ_BAD;
	} else
		return EJ_OK;
	if (m != NULL && json_object_get_type(m) == json_type_string) {
		text = json_object_get_string(m);
		tlen = (size_t)json_object_get_string_len(m);
	}
	err->code = code > 0 && code < 1000 ? (int)code : 0;
	printable(err->message, sizeof(err->message), text ? text : "error",
	    text ? tlen : 5);
	return EJ_ERR;
}

/* Parse body; *root to put; EJ_OK with *obj the answer (inside "result"). */
static int
begin(const char *body, size_t len, json_object **root, json_object **obj,
    struct ej_error *err)
{
	json_object *r;
	int rc;

	memset(err, 0, sizeof(*err));
	*obj = NULL;
	if ((*root = parse(body, len)) == NULL)
		return EJ_BAD;
	if ((rc = error_of(*root, err)) != EJ_OK)
		return rc;
	*obj = *root;
	if (json_object_object_get_ex(*root, "result", &r) && r != NULL) {
		if (json_object_get_type(r) != json_type_object)
			return EJ_BAD;
		if ((rc = error_of(r, err)) != EJ_OK)
			return rc;
		*obj = r;
	}
	return EJ_OK;
}

static int
finish(json_object *root, int rc)
{
	json_object_put(root);
	return rc;
}

static int
header_revision(json_object *o, int64_t *rev)
{
	json_object *h;
	bool bad = false;

	*rev = 0;
	h = get_typed(o, "header", json_type_object, &bad);
	if (bad)
		return -1;
	return h ? get_i64(h, "revision", rev) : 0;
}

int
ej_parse_lease(const char *body, size_t len, struct ej_lease *out,
    struct ej_error *err)
{
	json_object *root, *o;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = begin(body, len, &root, &o, err)) != EJ_OK)
		return finish(root, rc);
	if (get_i64(o, "ID", &out->id) == -1 ||
	    get_i64(o, "TTL", &out->ttl) == -1 || out->id <= 0) {
		memset(out, 0, sizeof(*out));
		return finish(root, EJ_BAD);
	}
	return finish(root, EJ_OK);
}

int
ej_parse_header(const char *body, size_t len, int64_t *revision,
    struct ej_error *err)
{
	json_object *root, *o;
	int rc;

	*revision = 0;
	if ((rc = begin(body, len, &root, &o, err)) != EJ_OK)
		return finish(root, rc);
	if (header_revision(o, revision) == -1)
		return finish(root, EJ_BAD);
	return finish(root, EJ_OK);
}

/* A kv object: {"key": b64, "value": b64, "lease": i64, ...}. */
static int
read_kv(json_object *kv, struct ej_kv *out)
{
	char raw[EJ_VALUE_MAX * 4];
	json_object *v;
	bool bad = false;
	int n;

	if (json_object_get_type(kv) != json_type_object)
		return -1;
	memset(out, 0, sizeof(*out));
	out->present = true;
	if (get_i64(kv, "lease", &out->lease) == -1 ||
	    get_i64(kv, "create_revision", &out->create_revision) == -1 ||
	    get_i64(kv, "mod_revision", &out->mod_revision) == -1 ||
	    get_i64(kv, "version", &out->version) == -1)
		return -1;
	if (get_typed(kv, "key", json_type_string, &bad) == NULL || bad)
		return -1;		/* a kv always names its key */
	v = get_typed(kv, "value", json_type_string, &bad);
	if (bad)
		return -1;
	if (v != NULL) {
		n = ej_b64_decode(json_object_get_string(v),
		    (size_t)json_object_get_string_len(v), raw, sizeof(raw));
		if (n < 0)
			return -1;
		out->value_len = (size_t)n;
		printable(out->value, sizeof(out->value), raw, (size_t)n);
	}
	return 0;
}

/* A range response object: the first of its kvs, if any. */
static int
read_range(json_object *r, struct ej_kv *out)
{
	json_object *kvs;
	bool bad = false;

	memset(out, 0, sizeof(*out));
	kvs = get_typed(r, "kvs", json_type_array, &bad);
	if (bad)
		return -1;
	if (kvs == NULL || json_object_array_length(kvs) == 0)
		return 0;
	return read_kv(json_object_array_get_idx(kvs, 0), out);
}

int
ej_parse_txn(const char *body, size_t len, struct ej_txn *out,
    struct ej_error *err)
{
	json_object *root, *o, *resps, *one, *r;
	bool bad = false;
	size_t i, n;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = begin(body, len, &root, &o, err)) != EJ_OK)
		return finish(root, rc);
	if (get_bool(o, "succeeded", &out->succeeded) == -1 ||
	    header_revision(o, &out->revision) == -1)
		goto bad;
	resps = get_typed(o, "responses", json_type_array, &bad);
	if (bad)
		goto bad;
	n = resps ? json_object_array_length(resps) : 0;
	for (i = 0; i < n; i++) {
		one = json_object_array_get_idx(resps, i);
		if (one == NULL || json_object_get_type(one) != json_type_object)
			goto bad;
		if ((r = get_typed(one, "response_range", json_type_object,
		    &bad)) != NULL && read_range(r, &out->kv) == -1)
			goto bad;
		if ((r = get_typed(one, "response_delete_range",
		    json_type_object, &bad)) != NULL &&
		    get_i64(r, "deleted", &out->deleted) == -1)
			goto bad;
		get_typed(one, "response_put", json_type_object, &bad);
		if (bad)
			goto bad;
	}
	return finish(root, EJ_OK);
bad:
	memset(out, 0, sizeof(*out));
	return finish(root, EJ_BAD);
}

int
ej_parse_range(const char *body, size_t len, struct ej_kv *out,
    struct ej_error *err)
{
	json_object *root, *o;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = begin(body, len, &root, &o, err)) != EJ_OK)
		return finish(root, rc);
	if (read_range(o, out) == -1) {
		memset(out, 0, sizeof(*out));
		return finish(root, EJ_BAD);
	}
	return finish(root, EJ_OK);
}

int
ej_parse_timetolive(const char *body, size_t len, struct ej_ttl *out,
    struct ej_error *err)
{
	json_object *root, *o, *keys, *k;
	bool bad = false;
	size_t i, n;
	int rc, kl;

	memset(out, 0, sizeof(*out));
	if ((rc = begin(body, len, &root, &o, err)) != EJ_OK)
		return finish(root, rc);
	if (get_i64(o, "ID", &out->id) == -1 || get_i64(o, "TTL", &out->ttl) == -1 ||
	    get_i64(o, "grantedTTL", &out->granted_ttl) == -1)
		goto bad;
	keys = get_typed(o, "keys", json_type_array, &bad);
	if (bad)
		goto bad;
	n = keys ? json_object_array_length(keys) : 0;
	for (i = 0; i < n; i++) {
		k = json_object_array_get_idx(keys, i);
		if (k == NULL || json_object_get_type(k) != json_type_string)
			goto bad;
		if (out->nkeys == EJ_TTL_KEYS_MAX) {
			out->truncated = true;
			continue;
		}
		kl = ej_b64_decode(json_object_get_string(k),
		    (size_t)json_object_get_string_len(k),
		    out->keys[out->nkeys], EJ_KEY_MAX);
		if (kl < 0) {
			/* longer than any key of ours: not ours, but counted */
			if ((size_t)json_object_get_string_len(k) > B64_KEY) {
				out->truncated = true;
				continue;
			}
			goto bad;
		}
		out->keys[out->nkeys][kl] = '\0';
		/* a key with a NUL inside is not one of ours */
		if (strlen(out->keys[out->nkeys]) != (size_t)kl)
			continue;
		out->nkeys++;
	}
	return finish(root, EJ_OK);
bad:
	memset(out, 0, sizeof(*out));
	return finish(root, EJ_BAD);
}
