/*
 * libFuzzer target for the wire parser and the replay window.
 *
 * The input is decoded as it is; then, if it is long enough, its first 96
 * bytes are signed with the test key and decoded again, so that the fuzzer
 * gets past the MAC to the field checks. Finally the input is read as a
 * series of (epoch, seq) pairs for replay_check(), whose promises are
 * checked against a small model.
 *
 * Built with -DFUZZ_PROTO_GEN_CORPUS instead, this file is the generator of
 * tests/fuzz/corpus/fuzz_proto/ (same key, same cluster id):
 *   cc -std=c11 -D_GNU_SOURCE -DFUZZ_PROTO_GEN_CORPUS -Idaemon \
 *       tests/fuzz/fuzz_proto.c daemon/proto.c daemon/auth.c daemon/log.c daemon/secpath.c \
 *       -lcrypto -o /tmp/gen && /tmp/gen tests/fuzz/corpus/fuzz_proto
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "fsm.h"
#include "proto.h"

#define FUZZ_CLUSTER	1
#define MAX_PAIRS	256

static struct auth *
test_auth(void)
{
	static struct auth *a;
	uint8_t key[32];

	if (a == NULL) {
		for (size_t i = 0; i < sizeof(key); i++)
			key[i] = (uint8_t)(0xf0 ^ i);
		if ((a = auth_new(key, sizeof(key))) == NULL)
			abort();
	}
	return a;
}

#ifndef FUZZ_PROTO_GEN_CORPUS

/* A decoded message must be canonical: encoding it again gives the input. */
static void
decode_one(const uint8_t *buf, size_t len)
{
	struct msg m;
	uint8_t again[PROTO_MAX_LEN];

	if (proto_decode(buf, len, FUZZ_CLUSTER, test_auth(), &m) != PROTO_OK)
		return;
	if (len != (m.version == 1 ? PROTO_LEN : PROTO_V2_LEN(m.ngroups)) ||
	    m.name[0] == '\0' || memchr(m.name, '\0', PROTO_NAME_LEN) == NULL ||
	    m.ngroups < 1 || m.ngroups > PROTO_MAX_GROUPS ||
	    m.cluster_id != FUZZ_CLUSTER)
		abort();
	for (int i = 0; i < m.ngroups; i++)
		if (m.groups[i].state >= FSM_NSTATES ||
		    memchr(m.groups[i].name, '\0', PROTO_NAME_LEN) == NULL)
			abort();
	if (proto_encode(&m, test_auth(), again, sizeof(again)) != len ||
	    memcmp(again, buf, len) != 0)
		abort();
}

/*
 * Pairs are encoded compactly so that the fuzzer finds near misses: a tag
 * byte with the high bit set is followed by a full 8 + 8 byte pair, else
 * the epoch is tag & 3 and seq the next byte plus 256 * (tag >> 2).
 */
static size_t
next_pair(const uint8_t *p, size_t len, uint64_t *epoch, uint64_t *seq)
{
	uint64_t e = 0, s = 0;

	if (len >= 17 && (p[0] & 0x80)) {
		for (int i = 0; i < 8; i++) {
			e = e << 8 | p[1 + i];
			s = s << 8 | p[9 + i];
		}
		*epoch = e;
		*seq = s;
		return 17;
	}
	if (len < 2)
		return 0;
	*epoch = p[0] & 3;
	*seq = (uint64_t)(p[0] >> 2) * 256 + p[1];
	return 2;
}

/*
 * Model: every accepted pair is new, never of an older epoch than one
 * accepted before, and never seq 0; a pair accepted once is refused after.
 */
static void
replay_pairs(const uint8_t *data, size_t size)
{
	struct replay r;
	uint64_t acc_e[MAX_PAIRS], acc_s[MAX_PAIRS], e, s, max_e = 0;
	size_t nacc = 0, used;

	replay_reset(&r);
	while (nacc < MAX_PAIRS && (used = next_pair(data, size, &e, &s)) > 0) {
		data += used;
		size -= used;
		if (!replay_check(&r, e, s))
			continue;
		if (s == 0 || (nacc > 0 && e < max_e))
			abort();
		for (size_t i = 0; i < nacc; i++)
			if (acc_e[i] == e && acc_s[i] == s)
				abort();
		if (replay_check(&r, e, s))
			abort();
		acc_e[nacc] = e;
		acc_s[nacc] = s;
		nacc++;
		max_e = e;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[PROTO_MAX_LEN];

	decode_one(data, size);
	if (size >= PROTO_LEN) {
		/* signed at the length its version byte asks for (v1, or v2 by ngroups) */
		size_t n = size > PROTO_MAX_LEN ? PROTO_MAX_LEN : size;
		size_t want = data[4] == 2 && data[54] >= 1 &&
		    data[54] <= PROTO_MAX_GROUPS ? PROTO_V2_LEN(data[54]) : PROTO_LEN;

		if (want <= n) {
			memcpy(buf, data, want);
			auth_sign(test_auth(), buf, want - AUTH_MAC_LEN,
			    buf + want - AUTH_MAC_LEN);
			decode_one(buf, want);
		}
	}
	replay_pairs(data, size);
	return 0;
}

#else	/* FUZZ_PROTO_GEN_CORPUS */

static void
put(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(buf, 1, len, f) != len ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

int
main(int argc, char *argv[])
{
	static const struct {
		const char *file, *name;
		uint8_t state, flags, priority;
	} seeds[] = {
		{ "standby", "alpha", FSM_STANDBY, PROTO_F_PREEMPT, 150 },
		{ "active", "beta", FSM_ACTIVE, PROTO_F_HOLDS, 100 },
		{ "handover", "node-with-a-31-byte-long-name-x", FSM_STOPPING,
		    PROTO_F_HOLDS | PROTO_F_HANDOVER, 254 },
		{ "maintenance", "b", FSM_MAINTENANCE,
		    PROTO_F_MAINTENANCE | PROTO_F_HOLDS, 1 },
	};
	static const size_t cuts[] = { 0, 4, 8, 56, 96, 127 };
	struct msg m;
	uint8_t buf[PROTO_LEN + 1], v2[PROTO_MAX_LEN];
	char name[64];

	if (argc != 2) {
		fprintf(stderr, "usage: %s corpus-dir\n", argv[0]);
		return 1;
	}
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		memset(&m, 0, sizeof(m));
		m.version = 1;
		m.type = PROTO_T_HEARTBEAT;
		m.cluster_id = FUZZ_CLUSTER;
		m.epoch = 1764200000 + i;
		m.seq = 1 + 1000 * i;
		m.echo_epoch = i ? 1764100000 : 0;
		m.tx_time_us = 123456789 * (i + 1);
		m.echo_time_us = i ? 987654321 : 0;
		m.echo_delay_us = i ? 1500 : 0;
		m.ngroups = 1;
		strcpy(m.groups[0].name, PROTO_V1_GROUP);
		m.groups[0].state = seeds[i].state;
		m.groups[0].priority = seeds[i].priority;
		m.groups[0].flags = seeds[i].flags;
		m.link_id = (uint8_t)i;
		snprintf(m.name, sizeof(m.name), "%s", seeds[i].name);
		proto_encode(&m, test_auth(), buf, sizeof(buf));
		snprintf(name, sizeof(name), "ok-%s", seeds[i].file);
		put(argv[1], name, buf, PROTO_LEN);
	}
	/* the last one, cut short and with one byte too many */
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		snprintf(name, sizeof(name), "truncated-%zu", cuts[i]);
		put(argv[1], name, buf, cuts[i]);
	}
	buf[PROTO_LEN] = 0;
	put(argv[1], "oversized-129", buf, PROTO_LEN + 1);
	/* another cluster, and a bad MAC */
	buf[7] = 2;
	put(argv[1], "foreign", buf, PROTO_LEN);
	buf[7] = FUZZ_CLUSTER;
	buf[PROTO_MAC_OFF] ^= 1;
	put(argv[1], "bad-mac", buf, PROTO_LEN);
	/* version 2: three groups */
	m.version = 2;
	m.period_ms = 100;
	m.ngroups = 3;
	for (int i = 0; i < 3; i++) {
		snprintf(m.groups[i].name, PROTO_NAME_LEN, "group-%d", i);
		m.groups[i].state = (uint8_t)(FSM_STANDBY + i);
		m.groups[i].priority = (uint8_t)(50 * (i + 1));
		m.groups[i].flags = i ? PROTO_F_HOLDS : PROTO_F_PREEMPT;
	}
	put(argv[1], "ok-v2-groups", v2, proto_encode(&m, test_auth(), v2,
	    sizeof(v2)));
	return 0;
}

#endif	/* FUZZ_PROTO_GEN_CORPUS */
