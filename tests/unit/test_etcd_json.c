/*
 * Unit tests of the etcd JSON gateway codec (daemon/etcd_json.c): base64,
 * request bodies, and answers as etcd 3.4's gateway really sends them
 * (recorded from a member; IDs and revisions as JSON strings, defaults
 * left out, the keepalive stream's "result" wrapper, error objects).
 */
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "etcd_json.h"
#include "unit.h"

#define HDR "\"header\":{\"cluster_id\":\"8444286310006928845\",\"member_id\":" \
	"\"4895667826061307347\",\"revision\":\"2\",\"raft_term\":\"2\"}"
#define LEASE_ID	7913847323311817222LL

static void
test_b64(void)
{
	static const struct { const char *plain, *b64; } v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" }, { "/fod/1/web", "L2ZvZC8xL3dlYg==" },
		{ "alpha", "YWxwaGE=" },
	};
	char out[64];
	unsigned char raw[64];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CHECK_EQ(ej_b64_encode(v[i].plain, strlen(v[i].plain), out,
		    sizeof(out)), strlen(v[i].b64));
		CHECK_STR(out, v[i].b64);
		CHECK_EQ(ej_b64_decode(v[i].b64, strlen(v[i].b64), raw,
		    sizeof(raw)), strlen(v[i].plain));
		CHECK(memcmp(raw, v[i].plain, strlen(v[i].plain)) == 0);
	}
	/* all 256 byte values round-trip */
	unsigned char all[256], back[256];
	char enc[400];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	CHECK_EQ(ej_b64_encode(all, 256, enc, sizeof(enc)), 344);
	CHECK_EQ(ej_b64_decode(enc, 344, back, sizeof(back)), 256);
	CHECK(memcmp(all, back, 256) == 0);
	/* too small, not canonical, not base64 */
	CHECK_EQ(ej_b64_encode("foo", 3, out, 4), -1);
	CHECK_EQ(ej_b64_encode("foo", 3, out, 5), 4);
	CHECK_EQ(ej_b64_decode("Zm9v", 4, raw, 2), -1);
	CHECK_EQ(ej_b64_decode("Zm9", 3, raw, sizeof(raw)), -1);
	CHECK_EQ(ej_b64_decode("Zh==", 4, raw, sizeof(raw)), -1);
	CHECK_EQ(ej_b64_decode("Zm9=", 4, raw, sizeof(raw)), -1);
	CHECK_EQ(ej_b64_decode("Z===", 4, raw, sizeof(raw)), -1);
	CHECK_EQ(ej_b64_decode("====", 4, raw, sizeof(raw)), -1);
	CHECK_EQ(ej_b64_decode("Zm=v", 4, raw, sizeof(raw)), -1);
	CHECK_EQ(ej_b64_decode("Zm9v\n", 5, raw, sizeof(raw)), -1);
	CHECK_EQ(ej_b64_decode("Zm-_", 4, raw, sizeof(raw)), -1);
	CHECK_EQ(ej_b64_decode("Zg==Zg==", 8, raw, sizeof(raw)), -1);
	CHECK_EQ(ej_b64_decode("Zm\0v", 4, raw, sizeof(raw)), -1);
}

/* A request body is JSON, and a field of it has the wanted text. */
static const char *
field(json_object *o, const char *path)
{
	char buf[128], *save = NULL, *w;
	json_object *v = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (w = strtok_r(buf, ".", &save); w && v; w = strtok_r(NULL, ".", &save)) {
		if (w[0] >= '0' && w[0] <= '9')
			v = json_object_array_get_idx(v, (size_t)atoi(w));
		else if (!json_object_object_get_ex(v, w, &v))
			v = NULL;
	}
	return v ? json_object_get_string(v) : NULL;
}

static void
test_requests(void)
{
	char b[EJ_REQ_MAX], big[400];
	json_object *o;

	CHECK(ej_req_grant(b, sizeof(b), 2) > 0);
	CHECK_STR(b, "{\"TTL\":\"2\"}");
	CHECK_EQ(ej_req_grant(b, sizeof(b), 0), -1);
	CHECK(ej_req_lease(b, sizeof(b), LEASE_ID) > 0);
	CHECK_STR(b, "{\"ID\":\"7913847323311817222\"}");
	CHECK_EQ(ej_req_lease(b, sizeof(b), 0), -1);
	CHECK_EQ(ej_req_lease(b, 10, LEASE_ID), -1);	/* does not fit */
	CHECK(ej_req_timetolive(b, sizeof(b), 1) > 0);
	CHECK_STR(b, "{\"ID\":\"1\",\"keys\":true}");

	CHECK(ej_req_acquire(b, sizeof(b), "/fod/1/web", "alpha", LEASE_ID) > 0);
	CHECK((o = json_tokener_parse(b)) != NULL);
	CHECK_STR(field(o, "compare.0.target"), "CREATE");
	CHECK_STR(field(o, "compare.0.key"), "L2ZvZC8xL3dlYg==");
	CHECK_STR(field(o, "compare.0.create_revision"), "0");
	CHECK_STR(field(o, "success.0.request_put.value"), "YWxwaGE=");
	CHECK_STR(field(o, "success.0.request_put.lease"), "7913847323311817222");
	CHECK_STR(field(o, "failure.0.request_range.key"), "L2ZvZC8xL3dlYg==");
	json_object_put(o);

	CHECK(ej_req_takeover(b, sizeof(b), "/fod/1/web", "beta", "alpha", 7) > 0);
	CHECK((o = json_tokener_parse(b)) != NULL);
	CHECK_STR(field(o, "compare.0.target"), "VALUE");
	CHECK_STR(field(o, "compare.0.value"), "YmV0YQ==");
	CHECK_STR(field(o, "success.0.request_put.value"), "YWxwaGE=");
	CHECK_STR(field(o, "success.0.request_put.lease"), "7");
	json_object_put(o);

	CHECK(ej_req_release(b, sizeof(b), "/fod/1/web", LEASE_ID) > 0);
	CHECK((o = json_tokener_parse(b)) != NULL);
	CHECK_STR(field(o, "compare.0.target"), "LEASE");
	CHECK_STR(field(o, "compare.0.lease"), "7913847323311817222");
	CHECK_STR(field(o, "success.0.request_delete_range.key"), "L2ZvZC8xL3dlYg==");
	json_object_put(o);

	CHECK(ej_req_range(b, sizeof(b), "/fod/1/web") > 0);
	CHECK_STR(b, "{\"key\":\"L2ZvZC8xL3dlYg==\"}");

	/* bad arguments */
	CHECK_EQ(ej_req_acquire(b, sizeof(b), "", "alpha", 1), -1);
	CHECK_EQ(ej_req_acquire(b, sizeof(b), "/k", "", 1), -1);
	CHECK_EQ(ej_req_acquire(b, sizeof(b), "/k", "alpha", 0), -1);
	CHECK_EQ(ej_req_release(b, sizeof(b), "/k", -1), -1);
	memset(big, 'k', sizeof(big));
	big[EJ_KEY_MAX + 1] = '\0';
	CHECK_EQ(ej_req_range(b, sizeof(b), big), -1);
	big[EJ_KEY_MAX] = '\0';
	CHECK(ej_req_range(b, sizeof(b), big) > 0);
	big[EJ_VALUE_MAX + 1] = '\0';
	CHECK_EQ(ej_req_acquire(b, sizeof(b), "/k", big, 1), -1);
	CHECK_EQ(ej_req_acquire(b, 100, "/fod/1/web", "alpha", 1), -1);
}

#define P(fn, s, out, err) fn(s, strlen(s), out, err)

static void
test_lease(void)
{
	struct ej_lease l;
	struct ej_error e;

	CHECK_EQ(P(ej_parse_lease, "{" HDR ",\"ID\":\"7913847323311817222\","
	    "\"TTL\":\"5\"}", &l, &e), EJ_OK);
	CHECK_EQ(l.id, LEASE_ID);
	CHECK_EQ(l.ttl, 5);
	/* keepalive: the stream's "result", a trailing newline */
	CHECK_EQ(P(ej_parse_lease, "{\"result\":{" HDR ",\"ID\":"
	    "\"7913847323311817222\",\"TTL\":\"5\"}}\n", &l, &e), EJ_OK);
	CHECK_EQ(l.ttl, 5);
	/* keepalive of an expired lease: TTL left out, i.e. 0 */
	CHECK_EQ(P(ej_parse_lease, "{\"result\":{" HDR ",\"ID\":"
	    "\"7913847323311817222\"}}", &l, &e), EJ_OK);
	CHECK_EQ(l.id, LEASE_ID);
	CHECK_EQ(l.ttl, 0);
	/* numbers accepted as well as strings */
	CHECK_EQ(P(ej_parse_lease, "{\"ID\":42,\"TTL\":3}", &l, &e), EJ_OK);
	CHECK_EQ(l.id, 42);
	CHECK_EQ(l.ttl, 3);
	/* errors: unary and stream forms */
	CHECK_EQ(P(ej_parse_lease, "{\"error\":\"etcdserver: requested lease"
	    " not found\",\"message\":\"etcdserver: requested lease not found\","
	    "\"code\":5}", &l, &e), EJ_ERR);
	CHECK_EQ(e.code, EJ_CODE_NOT_FOUND);
	CHECK_STR(e.message, "etcdserver: requested lease not found");
	CHECK_EQ(P(ej_parse_lease, "{\"error\":{\"grpc_code\":14,\"http_code\":"
	    "503,\"message\":\"etcdserver: no leader\",\"http_status\":"
	    "\"Service Unavailable\"}}", &l, &e), EJ_ERR);
	CHECK_EQ(e.code, 14);
	CHECK_STR(e.message, "etcdserver: no leader");
	CHECK_EQ(P(ej_parse_lease, "{\"code\":3,\"message\":\"bad\\u0001x\"}",
	    &l, &e), EJ_ERR);
	CHECK_EQ(e.code, 3);
	CHECK_STR(e.message, "bad?x");
	CHECK_EQ(P(ej_parse_lease, "{\"result\":{\"error\":\"x\",\"code\":4}}",
	    &l, &e), EJ_ERR);
	CHECK_EQ(e.code, 4);
	/* malformed */
	static const char *const bad[] = { "", "null", "[]", "\"x\"", "{",
	    "{\"ID\":\"1\"} x", "{\"ID\":\"abc\",\"TTL\":\"1\"}",
	    "{\"ID\":\"1e3\"}", "{\"ID\":\"99999999999999999999\"}",
	    "{\"ID\":\" 1\"}", "{\"ID\":\"\"}", "{\"ID\":true}", "{\"ID\":1.5}",
	    "{\"TTL\":\"5\"}", "{\"ID\":\"0\"}", "{\"ID\":\"-3\"}",
	    "{\"ID\":\"1\",\"TTL\":[]}", "{\"result\":[]}",
	    "{\"error\":5}", "{\"error\":\"x\",\"code\":\"y\"}",
	    "{\"ID\":\"1\",\"TTL\":\"1\"}{}",
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (P(ej_parse_lease, bad[i], &l, &e) != EJ_BAD) {
			unit_failed++;
			fprintf(stderr, "not EJ_BAD: %s\n", bad[i]);
		} else
			unit_passed++;
		CHECK_EQ(l.id, 0);
	}
	CHECK_EQ(ej_parse_lease(NULL, 0, &l, &e), EJ_BAD);
	CHECK_EQ(ej_parse_lease("{\"ID\":\"1\"}", 4, &l, &e), EJ_BAD);
}

static void
test_txn(void)
{
	struct ej_txn t;
	struct ej_error e;
	struct ej_kv kv;
	int64_t rev;

	CHECK_EQ(P(ej_parse_txn, "{" HDR ",\"succeeded\":true,\"responses\":"
	    "[{\"response_put\":{\"header\":{\"revision\":\"2\"}}}]}", &t, &e),
	    EJ_OK);
	CHECK(t.succeeded);
	CHECK(!t.kv.present);
	CHECK_EQ(t.revision, 2);
	/* the compare failed: succeeded left out, the range says who */
	CHECK_EQ(P(ej_parse_txn, "{" HDR ",\"responses\":[{\"response_range\":"
	    "{\"header\":{\"revision\":\"2\"},\"kvs\":[{\"key\":\"L2ZvZC8xL3dlYg==\","
	    "\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\","
	    "\"value\":\"YWxwaGE=\",\"lease\":\"7913847323311817222\"}],"
	    "\"count\":\"1\"}}]}", &t, &e), EJ_OK);
	CHECK(!t.succeeded);
	CHECK(t.kv.present);
	CHECK_STR(t.kv.value, "alpha");
	CHECK_EQ(t.kv.value_len, 5);
	CHECK_EQ(t.kv.lease, LEASE_ID);
	CHECK_EQ(t.kv.create_revision, 2);
	CHECK_EQ(t.kv.version, 1);
	/* a key without a lease, with an unprintable value */
	CHECK_EQ(P(ej_parse_txn, "{\"responses\":[{\"response_range\":{\"kvs\":"
	    "[{\"key\":\"eA==\",\"value\":\"YQBi\"}]}}]}", &t, &e), EJ_OK);
	CHECK(t.kv.present);
	CHECK_EQ(t.kv.lease, 0);
	CHECK_STR(t.kv.value, "a?b");
	CHECK_EQ(t.kv.value_len, 3);
	/* a key that vanished: range without kvs */
	CHECK_EQ(P(ej_parse_txn, "{" HDR ",\"responses\":[{\"response_range\":"
	    "{\"header\":{\"revision\":\"3\"}}}]}", &t, &e), EJ_OK);
	CHECK(!t.kv.present);
	/* release */
	CHECK_EQ(P(ej_parse_txn, "{" HDR ",\"succeeded\":true,\"responses\":"
	    "[{\"response_delete_range\":{\"header\":{\"revision\":\"3\"},"
	    "\"deleted\":\"1\"}}]}", &t, &e), EJ_OK);
	CHECK(t.succeeded);
	CHECK_EQ(t.deleted, 1);
	CHECK_EQ(P(ej_parse_txn, "{\"error\":\"etcdserver: request timed out\","
	    "\"code\":14}", &t, &e), EJ_ERR);
	CHECK_EQ(e.code, 14);
	static const char *const bad[] = { "{\"succeeded\":\"true\"}",
	    "{\"responses\":{}}", "{\"responses\":[1]}",
	    "{\"responses\":[{\"response_range\":[]}]}",
	    "{\"responses\":[{\"response_range\":{\"kvs\":{}}}]}",
	    "{\"responses\":[{\"response_range\":{\"kvs\":[1]}}]}",
	    "{\"responses\":[{\"response_range\":{\"kvs\":[{\"value\":\"YQ==\"}]}}]}",
	    "{\"responses\":[{\"response_range\":{\"kvs\":[{\"key\":\"eA==\","
	    "\"value\":\"YQ=\"}]}}]}",
	    "{\"responses\":[{\"response_range\":{\"kvs\":[{\"key\":\"eA==\","
	    "\"lease\":\"x\"}]}}]}",
	    "{\"responses\":[{\"response_delete_range\":{\"deleted\":[]}}]}",
	    "{\"responses\":[{\"response_put\":3}]}", "{\"header\":[]}",
	    "{\"header\":{\"revision\":\"r\"}}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (P(ej_parse_txn, bad[i], &t, &e) != EJ_BAD) {
			unit_failed++;
			fprintf(stderr, "not EJ_BAD: %s\n", bad[i]);
		} else
			unit_passed++;
	}
	/* a value longer than kept: truncated, its length told */
	char body[1024], v64[400], val[200];
	memset(val, 'n', 100);
	ej_b64_encode(val, 100, v64, sizeof(v64));
	snprintf(body, sizeof(body), "{\"kvs\":[{\"key\":\"eA==\",\"value\":\"%s\"}]}",
	    v64);
	CHECK_EQ(P(ej_parse_range, body, &kv, &e), EJ_OK);
	CHECK_EQ(kv.value_len, 100);
	CHECK_EQ(strlen(kv.value), EJ_VALUE_MAX);
	/* range, revoke */
	CHECK_EQ(P(ej_parse_range, "{" HDR "}", &kv, &e), EJ_OK);
	CHECK(!kv.present);
	CHECK_EQ(P(ej_parse_header, "{" HDR "}", &rev, &e), EJ_OK);
	CHECK_EQ(rev, 2);
	CHECK_EQ(P(ej_parse_header, "{\"error\":\"etcdserver: requested lease"
	    " not found\",\"code\":5}", &rev, &e), EJ_ERR);
	CHECK_EQ(e.code, 5);
}

static void
test_timetolive(void)
{
	struct ej_ttl t;
	struct ej_error e;
	char body[8192];
	size_t off;

	CHECK_EQ(P(ej_parse_timetolive, "{" HDR ",\"ID\":\"7913847323311817222\","
	    "\"TTL\":\"4\",\"grantedTTL\":\"5\",\"keys\":[\"L2ZvZC8xL3dlYg==\","
	    "\"eABi\"]}", &t, &e), EJ_OK);
	CHECK_EQ(t.id, LEASE_ID);
	CHECK_EQ(t.ttl, 4);
	CHECK_EQ(t.granted_ttl, 5);
	CHECK_EQ(t.nkeys, 1);		/* "x\0b" is no key of ours */
	CHECK_STR(t.keys[0], "/fod/1/web");
	CHECK_EQ(P(ej_parse_timetolive, "{\"ID\":\"1\",\"TTL\":\"-1\"}", &t, &e),
	    EJ_OK);
	CHECK_EQ(t.ttl, -1);
	CHECK_EQ(t.nkeys, 0);
	/* more keys than kept */
	off = (size_t)snprintf(body, sizeof(body), "{\"ID\":\"1\",\"keys\":[");
	for (int i = 0; i < EJ_TTL_KEYS_MAX + 5; i++)
		off += (size_t)snprintf(body + off, sizeof(body) - off, "%s\"eA==\"",
		    i ? "," : "");
	snprintf(body + off, sizeof(body) - off, "]}");
	CHECK_EQ(P(ej_parse_timetolive, body, &t, &e), EJ_OK);
	CHECK_EQ(t.nkeys, EJ_TTL_KEYS_MAX);
	CHECK(t.truncated);
	CHECK_EQ(P(ej_parse_timetolive, "{\"ID\":\"1\",\"keys\":[1]}", &t, &e),
	    EJ_BAD);
	CHECK_EQ(P(ej_parse_timetolive, "{\"ID\":\"1\",\"keys\":[\"e\"]}", &t, &e),
	    EJ_BAD);
}

int
main(void)
{
	test_b64();
	test_requests();
	test_lease();
	test_txn();
	test_timetolive();
	return unit_summary("test_etcd_json");
}
