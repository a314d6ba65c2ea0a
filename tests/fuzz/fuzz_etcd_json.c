/*
 * libFuzzer target: the etcd gateway answer parsers (daemon/etcd_json.c)
 * over arbitrary bytes, and base64 decoding. Besides the sanitizers, what
 * a parser accepts must keep its promises: NUL-terminated printable
 * values within bounds, positive lease IDs, kept keys without a NUL;
 * a decoded base64 text encodes back to itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_json.h"

static void
check_kv(const struct ej_kv *kv)
{
	size_t n = strnlen(kv->value, sizeof(kv->value));

	if (n == sizeof(kv->value) || (!kv->present && (n || kv->lease)))
		abort();
	for (size_t i = 0; i < n; i++)
		if (kv->value[i] < 0x20 || kv->value[i] == 0x7f)
			abort();
}

static void
check_err(int rc, const struct ej_error *e)
{
	if (strnlen(e->message, sizeof(e->message)) == sizeof(e->message) ||
	    (rc != EJ_ERR && (e->code || e->message[0])) ||
	    e->code < 0 || e->code >= 1000)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *b = (const char *)data;
	struct ej_error e;
	struct ej_lease l;
	struct ej_txn t;
	struct ej_kv kv;
	static struct ej_ttl tt;
	int64_t rev;
	int rc;
	unsigned char raw[1024];
	char again[1400];

	rc = ej_parse_lease(b, size, &l, &e);
	check_err(rc, &e);
	if ((rc == EJ_OK) != (l.id > 0))
		abort();
	rc = ej_parse_header(b, size, &rev, &e);
	check_err(rc, &e);
	rc = ej_parse_txn(b, size, &t, &e);
	check_err(rc, &e);
	check_kv(&t.kv);
	rc = ej_parse_range(b, size, &kv, &e);
	check_err(rc, &e);
	check_kv(&kv);
	rc = ej_parse_timetolive(b, size, &tt, &e);
	check_err(rc, &e);
	if (tt.nkeys < 0 || tt.nkeys > EJ_TTL_KEYS_MAX)
		abort();
	for (int i = 0; i < tt.nkeys; i++)
		if (strnlen(tt.keys[i], EJ_KEY_MAX + 1) > EJ_KEY_MAX)
			abort();
	if (size <= sizeof(again) - 1) {
		int n = ej_b64_decode(b, size, raw, sizeof(raw));

		if (n >= 0 && (ej_b64_encode(raw, (size_t)n, again,
		    sizeof(again)) != (int)size || memcmp(again, b, size) != 0))
			abort();
	}
	return 0;
}
