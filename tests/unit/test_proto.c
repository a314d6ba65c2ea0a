/* Wire format: exact layout, round trip, and every way a datagram is refused. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "fsm.h"
#include "proto.h"
#include "unit.h"

#define CLUSTER	1

static struct auth *a;

static void
test_key(uint8_t key[32], uint8_t base)
{
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(base + i);
}

/* Every field distinct and multi-byte, so that byte order and offsets show. */
static void
sample(struct msg *m)
{
	memset(m, 0, sizeof(*m));
	m->version = 1;
	m->type = PROTO_T_HEARTBEAT;
	m->cluster_id = CLUSTER;
	m->epoch = UINT64_C(0x0102030405060708);
	m->seq = UINT64_C(0x1112131415161718);
	m->echo_epoch = UINT64_C(0x2122232425262728);
	m->tx_time_us = UINT64_C(0x3132333435363738);
	m->echo_time_us = UINT64_C(0x4142434445464748);
	m->echo_delay_us = 0x51525354;
	m->ngroups = 1;
	strcpy(m->groups[0].name, PROTO_V1_GROUP);
	m->groups[0].state = FSM_STANDBY;
	m->groups[0].priority = 150;
	m->groups[0].flags = PROTO_F_PREEMPT | PROTO_F_HOLDS;
	m->link_id = 3;
	strcpy(m->name, "alpha");
}

static void
encode(const struct msg *m, uint8_t buf[PROTO_LEN])
{
	CHECK_EQ(proto_encode(m, a, buf, PROTO_LEN), PROTO_LEN);
}

static void
resign(uint8_t buf[PROTO_LEN])
{
	auth_sign(a, buf, PROTO_MAC_OFF, buf + PROTO_MAC_OFF);
}

static int
is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

/* Decodes and checks that a refused message leaves nothing in out (zero
   up to the group records, no groups: proto.h). */
static enum proto_result
decode(const uint8_t *buf, size_t len, uint16_t cluster)
{
	struct msg out;
	enum proto_result r;

	memset(&out, 0xa5, sizeof(out));
	r = proto_decode(buf, len, cluster, a, &out);
	if (r != PROTO_OK)
		CHECK(is_zero(&out, offsetof(struct msg, groups)));
	return r;
}

static void
test_layout(void)
{
	struct msg m;
	uint8_t buf[PROTO_LEN], mac_buf[PROTO_LEN], mac[AUTH_MAC_LEN];
	static const uint8_t head[56] = {
		'F', 'O', 'V', 'D', 1, PROTO_T_HEARTBEAT, 0x00, 0x01,
		1, 2, 3, 4, 5, 6, 7, 8,
		0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
		0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
		0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38,
		0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
		0x51, 0x52, 0x53, 0x54,
		FSM_STANDBY, 150, PROTO_F_PREEMPT | PROTO_F_HOLDS, 3,
	};

	sample(&m);
	memset(buf, 0xee, sizeof(buf));
	encode(&m, buf);
	CHECK(memcmp(buf, head, sizeof(head)) == 0);
	CHECK(memcmp(buf + 56, "alpha", 5) == 0);
	CHECK(is_zero(buf + 61, 96 - 61));	/* name padding and reserved */
	/* version 1 has no period: it stays 0.1's bytes */
	m.period_ms = 100;
	encode(&m, mac_buf);
	CHECK(memcmp(buf, mac_buf, PROTO_LEN) == 0);
	m.period_ms = 0;
	auth_sign(a, buf, PROTO_MAC_OFF, mac);
	CHECK(memcmp(buf + PROTO_MAC_OFF, mac, AUTH_MAC_LEN) == 0);

	/* too small a buffer: nothing written */
	memset(buf, 0xee, sizeof(buf));
	CHECK_EQ(proto_encode(&m, a, buf, PROTO_LEN - 1), 0);
	CHECK_EQ(buf[0], 0xee);

	/* a version we do not speak is not sent */
	m.version = 7;
	CHECK_EQ(proto_encode(&m, a, buf, sizeof(buf)), 0);
	/* version 1 carries exactly one group */
	m.version = 1;
	m.ngroups = 2;
	CHECK_EQ(proto_encode(&m, a, buf, sizeof(buf)), 0);
}

static void
test_roundtrip(void)
{
	struct msg m, out, e;
	uint8_t buf[PROTO_LEN], again[PROTO_LEN];

	sample(&m);
	encode(&m, buf);
	memset(&out, 0xa5, sizeof(out));
	CHECK_EQ(proto_decode(buf, sizeof(buf), CLUSTER, a, &out), PROTO_OK);
	CHECK_EQ(out.version, 1);
	CHECK_EQ(out.ngroups, 1);
	CHECK_STR(out.groups[0].name, PROTO_V1_GROUP);
	CHECK_EQ(out.type, PROTO_T_HEARTBEAT);
	CHECK_EQ(out.cluster_id, CLUSTER);
	CHECK(out.epoch == m.epoch);
	CHECK(out.seq == m.seq);
	CHECK(out.echo_epoch == m.echo_epoch);
	CHECK(out.tx_time_us == m.tx_time_us);
	CHECK(out.echo_time_us == m.echo_time_us);
	CHECK_EQ(out.echo_delay_us, m.echo_delay_us);
	CHECK_EQ(out.groups[0].state, FSM_STANDBY);
	CHECK_EQ(out.groups[0].priority, 150);
	CHECK_EQ(out.groups[0].flags, PROTO_F_PREEMPT | PROTO_F_HOLDS);
	/* the one record whole, over what out held before */
	CHECK_EQ(out.groups[0].xflags, 0);
	CHECK(is_zero(out.groups[0].name + sizeof(PROTO_V1_GROUP),
	    PROTO_NAME_LEN - sizeof(PROTO_V1_GROUP)));
	CHECK_EQ(out.link_id, 3);
	CHECK_STR(out.name, "alpha");
	CHECK(is_zero(out.name + 5, PROTO_NAME_LEN - 5));
	/* canonical: decoding and encoding again gives the same bytes */
	encode(&out, again);
	CHECK(memcmp(buf, again, PROTO_LEN) == 0);

	/* extremes of every field */
	memset(&e, 0, sizeof(e));
	e.version = 1;
	e.ngroups = 1;
	e.type = PROTO_T_HEARTBEAT;
	e.cluster_id = 0xffff;
	e.epoch = e.seq = e.echo_epoch = UINT64_MAX;
	e.tx_time_us = e.echo_time_us = UINT64_MAX;
	e.echo_delay_us = UINT32_MAX;
	e.groups[0].state = FSM_NSTATES - 1;
	e.groups[0].priority = 255;
	e.groups[0].flags = 0xff;		/* unknown flags are not an error */
	e.link_id = 255;
	memset(e.name, 'z', PROTO_NAME_LEN - 1);
	encode(&e, buf);
	CHECK_EQ(proto_decode(buf, sizeof(buf), 0xffff, a, &out), PROTO_OK);
	CHECK_EQ(out.cluster_id, 0xffff);
	CHECK(out.epoch == UINT64_MAX && out.seq == UINT64_MAX);
	CHECK(out.echo_epoch == UINT64_MAX);
	CHECK(out.tx_time_us == UINT64_MAX && out.echo_time_us == UINT64_MAX);
	CHECK(out.echo_delay_us == UINT32_MAX);
	CHECK_EQ(out.groups[0].state, FSM_NSTATES - 1);
	CHECK_EQ(out.groups[0].priority, 255);
	CHECK_EQ(out.groups[0].flags, 0xff);
	CHECK_EQ(out.link_id, 255);
	CHECK_EQ(strlen(out.name), PROTO_NAME_LEN - 1);

	/* a 32-byte name without NUL is cut to 31 on the way out */
	memset(e.name, 'q', PROTO_NAME_LEN);
	encode(&e, buf);
	CHECK_EQ(buf[56 + 31], 0);
	CHECK_EQ(proto_decode(buf, sizeof(buf), 0xffff, a, &out), PROTO_OK);
	CHECK_EQ(strlen(out.name), PROTO_NAME_LEN - 1);

	/* every state is accepted */
	for (int s = 0; s < FSM_NSTATES; s++) {
		sample(&m);
		m.groups[0].state = (uint8_t)s;
		encode(&m, buf);
		CHECK_EQ(proto_decode(buf, sizeof(buf), CLUSTER, a, &out), PROTO_OK);
		CHECK_EQ(out.groups[0].state, s);
	}
}

static void
test_length(void)
{
	struct msg m;
	uint8_t big[1500];

	sample(&m);
	memset(big, 0, sizeof(big));
	encode(&m, big);
	for (size_t len = 0; len < PROTO_LEN; len++)
		CHECK_EQ(decode(big, len, CLUSTER), PROTO_TRUNCATED);
	CHECK_EQ(decode(big, PROTO_LEN, CLUSTER), PROTO_OK);
	CHECK_EQ(decode(big, PROTO_LEN + 1, CLUSTER), PROTO_OVERSIZED);
	CHECK_EQ(decode(big, sizeof(big), CLUSTER), PROTO_OVERSIZED);
}

static void
test_header(void)
{
	struct msg m;
	uint8_t buf[PROTO_LEN], bad[PROTO_LEN];

	sample(&m);
	encode(&m, buf);

	memcpy(bad, buf, sizeof(bad));
	memcpy(bad, "FOVE", 4);
	CHECK_EQ(decode(bad, sizeof(bad), CLUSTER), PROTO_BAD_MAGIC);
	resign(bad);	/* a valid MAC does not rescue a bad magic */
	CHECK_EQ(decode(bad, sizeof(bad), CLUSTER), PROTO_BAD_MAGIC);

	memcpy(bad, buf, sizeof(bad));
	bad[4] = 3;
	CHECK_EQ(decode(bad, sizeof(bad), CLUSTER), PROTO_BAD_VERSION);
	resign(bad);
	CHECK_EQ(decode(bad, sizeof(bad), CLUSTER), PROTO_BAD_VERSION);
	bad[4] = 0;
	CHECK_EQ(decode(bad, sizeof(bad), CLUSTER), PROTO_BAD_VERSION);

	/* another cluster: classified before the MAC is even looked at */
	CHECK_EQ(decode(buf, sizeof(buf), 2), PROTO_FOREIGN);
	memcpy(bad, buf, sizeof(bad));
	bad[6] = 0x01;		/* cluster 257 */
	resign(bad);
	CHECK_EQ(decode(bad, sizeof(bad), CLUSTER), PROTO_FOREIGN);
	CHECK_EQ(decode(bad, sizeof(bad), 257), PROTO_OK);
}

/* One flipped bit anywhere: the header checks or the MAC catch it. */
static void
test_bitflips(void)
{
	struct msg m;
	uint8_t buf[PROTO_LEN], bad[PROTO_LEN];
	enum proto_result want;
	int wrong = 0;

	sample(&m);
	encode(&m, buf);
	for (int bit = 0; bit < PROTO_LEN * 8; bit++) {
		memcpy(bad, buf, sizeof(bad));
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (bit / 8 < 4)
			want = PROTO_BAD_MAGIC;
		else if (bit / 8 == 4)
			want = PROTO_BAD_VERSION;
		else if (bit / 8 == 6 || bit / 8 == 7)
			want = PROTO_FOREIGN;
		else
			want = PROTO_BAD_MAC;
		if (decode(bad, sizeof(bad), CLUSTER) != want) {
			fprintf(stderr, "bit %d: not %s\n", bit,
			    proto_result_str(want));
			wrong++;
		}
	}
	CHECK_EQ(wrong, 0);
}

static void
test_wrong_key(void)
{
	struct msg m, out;
	uint8_t buf[PROTO_LEN], key[32];
	struct auth *other;

	test_key(key, 0x80);
	other = auth_new(key, sizeof(key));
	CHECK(other != NULL);
	if (other == NULL)
		return;
	sample(&m);
	CHECK_EQ(proto_encode(&m, other, buf, sizeof(buf)), PROTO_LEN);
	CHECK_EQ(decode(buf, sizeof(buf), CLUSTER), PROTO_BAD_MAC);
	CHECK_EQ(proto_decode(buf, sizeof(buf), CLUSTER, other, &out), PROTO_OK);
	auth_free(other);
}

/* Authentic but nonsensical: encode, patch, sign again. */
static enum proto_result
patched(size_t off, uint8_t v)
{
	struct msg m;
	uint8_t buf[PROTO_LEN];

	sample(&m);
	encode(&m, buf);
	buf[off] = v;
	resign(buf);
	return decode(buf, sizeof(buf), CLUSTER);
}

static void
test_fields(void)
{
	struct msg m;
	uint8_t buf[PROTO_LEN];

	CHECK_EQ(patched(5, 0), PROTO_BAD_FIELD);		/* type */
	CHECK_EQ(patched(5, 2), PROTO_BAD_FIELD);
	CHECK_EQ(patched(5, 255), PROTO_BAD_FIELD);
	CHECK_EQ(patched(52, FSM_NSTATES), PROTO_BAD_FIELD);	/* state */
	CHECK_EQ(patched(52, 255), PROTO_BAD_FIELD);
	CHECK_EQ(patched(52, FSM_NSTATES - 1), PROTO_OK);
	CHECK_EQ(patched(56, 0), PROTO_BAD_FIELD);		/* empty name */
	CHECK_EQ(patched(58, '\n'), PROTO_BAD_FIELD);	/* control character */
	CHECK_EQ(patched(58, 0x7f), PROTO_BAD_FIELD);
	CHECK_EQ(patched(58, 0xc3), PROTO_OK);		/* UTF-8 bytes are fine */
	CHECK_EQ(patched(70, 'x'), PROTO_BAD_FIELD);	/* junk after the NUL */
	CHECK_EQ(patched(87, 'x'), PROTO_BAD_FIELD);
	for (size_t off = 88; off < PROTO_MAC_OFF; off++)	/* reserved */
		CHECK_EQ(patched(off, 1), PROTO_BAD_FIELD);

	/* name filling all 32 bytes: not NUL terminated */
	sample(&m);
	encode(&m, buf);
	memset(buf + 56, 'n', PROTO_NAME_LEN);
	resign(buf);
	CHECK_EQ(decode(buf, sizeof(buf), CLUSTER), PROTO_BAD_FIELD);
	buf[56 + 31] = 0;
	resign(buf);
	CHECK_EQ(decode(buf, sizeof(buf), CLUSTER), PROTO_OK);
}

/* Version 2: several groups, each a record of its own. */
static void
test_v2(void)
{
	struct msg m, out;
	uint8_t buf[PROTO_MAX_LEN + 1], again[PROTO_MAX_LEN];
	size_t len;

	sample(&m);
	m.version = 2;
	m.period_ms = 0x1234;
	m.ngroups = 3;
	for (int i = 0; i < 3; i++) {
		snprintf(m.groups[i].name, PROTO_NAME_LEN, "g%d", i);
		m.groups[i].state = (uint8_t)(FSM_STANDBY + i);
		m.groups[i].priority = (uint8_t)(100 + i);
		m.groups[i].flags = (uint8_t)(1 << i);
	}
	len = proto_encode(&m, a, buf, sizeof(buf));
	CHECK_EQ(len, PROTO_V2_LEN(3));
	CHECK_EQ(buf[4], 2);
	CHECK_EQ(buf[52], 0x12);		/* the send period, big-endian */
	CHECK_EQ(buf[53], 0x34);
	CHECK_EQ(buf[54], 3);
	CHECK(memcmp(buf + 96 + 36, "g1", 3) == 0);
	CHECK_EQ(buf[96 + 36 + 32], FSM_STANDBY + 1);
	CHECK_EQ(proto_decode(buf, len, CLUSTER, a, &out), PROTO_OK);
	CHECK_EQ(out.version, 2);
	CHECK_EQ(out.ngroups, 3);
	CHECK_EQ(out.period_ms, 0x1234);
	CHECK_STR(out.name, "alpha");
	CHECK(out.echo_time_us == m.echo_time_us);
	for (int i = 0; i < 3; i++) {
		CHECK_STR(out.groups[i].name, m.groups[i].name);
		CHECK_EQ(out.groups[i].state, m.groups[i].state);
		CHECK_EQ(out.groups[i].priority, m.groups[i].priority);
		CHECK_EQ(out.groups[i].flags, m.groups[i].flags);
	}
	CHECK_EQ(proto_encode(&out, a, again, sizeof(again)), len);
	CHECK(memcmp(buf, again, len) == 0);
	/* lengths: exactly what ngroups says */
	for (size_t l = 0; l < len; l++)
		CHECK_EQ(decode(buf, l, CLUSTER), PROTO_TRUNCATED);
	CHECK_EQ(decode(buf, len + 1, CLUSTER), PROTO_OVERSIZED);
	/* a bad group count, state, name or duplicate: invalid (re-signed) */
	memcpy(again, buf, len);
	again[54] = 0;
	CHECK_EQ(decode(again, len, CLUSTER), PROTO_BAD_FIELD);
	again[54] = PROTO_MAX_GROUPS + 1;
	CHECK_EQ(decode(again, len, CLUSTER), PROTO_BAD_FIELD);
	memcpy(again, buf, len);
	again[96 + 32] = FSM_NSTATES;
	auth_sign(a, again, len - 32, again + len - 32);
	CHECK_EQ(decode(again, len, CLUSTER), PROTO_BAD_FIELD);
	memcpy(again, buf, len);
	again[96 + 36 + 1] = '0';		/* "g1" -> "g0": twice */
	auth_sign(a, again, len - 32, again + len - 32);
	CHECK_EQ(decode(again, len, CLUSTER), PROTO_BAD_FIELD);
	memcpy(again, buf, len);
	again[96 + 35] = PROTO_X_KEY | PROTO_X_KEYLESS;	/* xflags */
	auth_sign(a, again, len - 32, again + len - 32);
	{
		struct msg got;

		CHECK_EQ(proto_decode(again, len, CLUSTER, a, &got), PROTO_OK);
		CHECK_EQ(got.groups[0].xflags, PROTO_X_KEY | PROTO_X_KEYLESS);
	}
	/* any period is valid; 0 says none */
	memcpy(again, buf, len);
	again[52] = again[53] = 0xff;
	auth_sign(a, again, len - 32, again + len - 32);
	CHECK_EQ(proto_decode(again, len, CLUSTER, a, &out), PROTO_OK);
	CHECK_EQ(out.period_ms, 0xffff);
	again[52] = again[53] = 0;
	auth_sign(a, again, len - 32, again + len - 32);
	CHECK_EQ(proto_decode(again, len, CLUSTER, a, &out), PROTO_OK);
	CHECK_EQ(out.period_ms, 0);
	/* the MAC covers the group records */
	memcpy(again, buf, len);
	again[96 + 33] ^= 1;
	CHECK_EQ(decode(again, len, CLUSTER), PROTO_BAD_MAC);
	/* the most groups fit the IPv6 minimum MTU */
	m.ngroups = PROTO_MAX_GROUPS;
	for (int i = 0; i < PROTO_MAX_GROUPS; i++)
		snprintf(m.groups[i].name, PROTO_NAME_LEN, "group-%d", i);
	CHECK_EQ(proto_encode(&m, a, buf, sizeof(buf)), PROTO_MAX_LEN);
	CHECK_EQ(proto_decode(buf, PROTO_MAX_LEN, CLUSTER, a, &out), PROTO_OK);
	m.ngroups = PROTO_MAX_GROUPS + 1;
	CHECK_EQ(proto_encode(&m, a, buf, sizeof(buf)), 0);
}

/* How long a message keeps its sender alive: a sparse standby, a few periods. */
static void
test_hold(void)
{
	struct msg m;

	memset(&m, 0, sizeof(m));
	m.ngroups = 2;
	m.groups[0].state = FSM_STANDBY;
	m.groups[1].state = FSM_FAULT;
	m.period_ms = 2000;
	CHECK_EQ(proto_hold_ms(&m, 300, 100), 6100);	/* 3 periods + interval */
	m.period_ms = 50;
	CHECK_EQ(proto_hold_ms(&m, 300, 100), 300);	/* never below dead_ms */
	m.period_ms = 0;				/* version 1: not said */
	CHECK_EQ(proto_hold_ms(&m, 300, 100), 300);
	/* active, or holding anything, in any group: dead_ms */
	m.period_ms = 2000;
	m.groups[1].state = FSM_ACTIVE;
	CHECK_EQ(proto_hold_ms(&m, 300, 100), 300);
	m.groups[1].state = FSM_INIT;
	CHECK_EQ(proto_hold_ms(&m, 300, 100), 300);
	m.groups[1].state = FSM_STANDBY;
	m.groups[0].flags = PROTO_F_HOLDS;
	CHECK_EQ(proto_hold_ms(&m, 300, 100), 300);
	m.period_ms = 0xffff;				/* bounded: ~197 s */
	m.groups[0].flags = 0;
	CHECK_EQ(proto_hold_ms(&m, 300, 100), 3u * 0xffff + 100);
}

static void
test_result_str(void)
{
	for (int i = 0; i < PROTO_NRESULTS; i++) {
		const char *s = proto_result_str((enum proto_result)i);

		CHECK(s != NULL && *s != '\0' && strcmp(s, "unknown") != 0);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(s, proto_result_str((enum proto_result)j)) != 0);
	}
	CHECK_STR(proto_result_str(PROTO_NRESULTS), "unknown");
	CHECK_STR(proto_result_str(PROTO_OK), "ok");
}

int
main(void)
{
	uint8_t key[32];

	test_key(key, 0);
	a = auth_new(key, sizeof(key));
	CHECK(a != NULL);
	if (a == NULL)
		return unit_summary("test_proto");
	test_layout();
	test_roundtrip();
	test_length();
	test_header();
	test_bitflips();
	test_wrong_key();
	test_fields();
	test_v2();
	test_hold();
	test_result_str();
	auth_free(a);
	return unit_summary("test_proto");
}
