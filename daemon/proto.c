/*
 * Wire format of proto.h, written and read byte by byte (big-endian) so
 * that neither struct padding nor host byte order can leak onto the wire.
 */
#include <stddef.h>
#include <string.h>

#include "fsm.h"
#include "hotpath.h"
#include "names.h"
#include "proto.h"

_Static_assert(PROTO_NAME_LEN == NAMES_LEN && FSM_NAME_MAX + 1 == NAMES_LEN,
    "names.h compares and copies names of this size");

#define OFF_MAGIC	0
#define OFF_VERSION	4
#define OFF_TYPE	5
#define OFF_CLUSTER	6
#define OFF_EPOCH	8
#define OFF_SEQ		16
#define OFF_ECHO_EPOCH	24
#define OFF_TX_TIME	32
#define OFF_ECHO_TIME	40
#define OFF_ECHO_DELAY	48
#define OFF_STATE	52	/* v1 */
#define OFF_PRIORITY	53	/* v1 */
#define OFF_PERIOD	52	/* v2 */
#define OFF_FLAGS	54	/* v1; v2: ngroups */
#define OFF_NGROUPS	54
#define OFF_LINK	55
#define OFF_NAME	56
#define OFF_RESERVED	88
#define RESERVED_LEN	8
#define OFF_GROUPS	96	/* v2 */
#define G_STATE		32	/* within a group record */
#define G_PRIORITY	33
#define G_FLAGS		34
#define G_XFLAGS	35

_Static_assert(OFF_NAME + PROTO_NAME_LEN == OFF_RESERVED, "name field");
_Static_assert(OFF_RESERVED + RESERVED_LEN == PROTO_MAC_OFF, "reserved field");
_Static_assert(PROTO_MAC_OFF + AUTH_MAC_LEN == PROTO_LEN, "mac trailer");
_Static_assert(G_XFLAGS + 1 == PROTO_GROUP_LEN, "group record");
_Static_assert(PROTO_MAX_LEN <= 1280, "fits the IPv6 minimum MTU");

HOTPATH static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

HOTPATH static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

HOTPATH static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

HOTPATH static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

HOTPATH static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

HOTPATH static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* The fields both versions share: everything up to the name. */
HOTPATH static void
encode_head(const struct msg *m, uint8_t *buf, uint8_t version)
{
	put32(buf + OFF_MAGIC, PROTO_MAGIC);
	buf[OFF_VERSION] = version;
	buf[OFF_TYPE] = m->type;
	put16(buf + OFF_CLUSTER, m->cluster_id);
	put64(buf + OFF_EPOCH, m->epoch);
	put64(buf + OFF_SEQ, m->seq);
	put64(buf + OFF_ECHO_EPOCH, m->echo_epoch);
	put64(buf + OFF_TX_TIME, m->tx_time_us);
	put64(buf + OFF_ECHO_TIME, m->echo_time_us);
	put32(buf + OFF_ECHO_DELAY, m->echo_delay_us);
	buf[OFF_LINK] = m->link_id;
	name_put((char *)buf + OFF_NAME, m->name);
}

/*
 * The version is one we speak: a caller cannot send a format we do not.
 * Names are cut to 31 bytes so that they stay NUL terminated.
 */
HOTPATH size_t
proto_encode(const struct msg *m, struct auth *a, uint8_t *buf, size_t buflen)
{
	size_t len;

	if (m->ngroups < 1 || m->ngroups > PROTO_MAX_GROUPS)
		return 0;
	if (m->version == 1) {
		if (m->ngroups != 1 || buflen < PROTO_LEN)
			return 0;
		memset(buf, 0, PROTO_LEN);
		encode_head(m, buf, 1);
		buf[OFF_STATE] = m->groups[0].state;
		buf[OFF_PRIORITY] = m->groups[0].priority;
		buf[OFF_FLAGS] = m->groups[0].flags;
		auth_sign(a, buf, PROTO_MAC_OFF, buf + PROTO_MAC_OFF);
		return PROTO_LEN;
	}
	len = PROTO_V2_LEN(m->ngroups);
	if (m->version != 2 || buflen < len)
		return 0;
	memset(buf, 0, len);
	encode_head(m, buf, 2);
	put16(buf + OFF_PERIOD, m->period_ms);
	buf[OFF_NGROUPS] = (uint8_t)m->ngroups;
	for (int i = 0; i < m->ngroups; i++) {
		uint8_t *g = buf + OFF_GROUPS + PROTO_GROUP_LEN * i;

		name_put((char *)g, m->groups[i].name);
		g[G_STATE] = m->groups[i].state;
		g[G_PRIORITY] = m->groups[i].priority;
		g[G_FLAGS] = m->groups[i].flags;
		g[G_XFLAGS] = m->groups[i].xflags;
	}
	auth_sign(a, buf, len - AUTH_MAC_LEN, buf + len - AUTH_MAC_LEN);
	return len;
}

/*
 * A name is 1..31 bytes, NUL terminated and NUL padded, without control
 * characters (it ends up in logs and hook environments).
 */
HOTPATH static int
name_valid(const uint8_t *p)
{
	size_t n = 0, i;

	while (n < PROTO_NAME_LEN && p[n] != '\0')
		n++;
	if (n == 0 || n == PROTO_NAME_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0;
	for (; i < PROTO_NAME_LEN; i++)
		if (p[i] != '\0')
			return 0;
	return 1;
}

HOTPATH static int
zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

HOTPATH static int
fields_valid(const uint8_t *buf, int ngroups)
{
	if (buf[OFF_TYPE] != PROTO_T_HEARTBEAT || !name_valid(buf + OFF_NAME) ||
	    !zero(buf + OFF_RESERVED, RESERVED_LEN))
		return 0;
	if (buf[OFF_VERSION] == 1)
		return buf[OFF_STATE] < FSM_NSTATES;
	for (int i = 0; i < ngroups; i++) {
		const uint8_t *g = buf + OFF_GROUPS + PROTO_GROUP_LEN * i;

		if (!name_valid(g) || g[G_STATE] >= FSM_NSTATES)
			return 0;
		for (int k = 0; k < i; k++)	/* one record per group */
			if (memcmp(g, buf + OFF_GROUPS + PROTO_GROUP_LEN * k,
			    PROTO_NAME_LEN) == 0)
				return 0;
	}
	return 1;
}

/* The length a datagram of buf's version must have; 0 if not known yet. */
HOTPATH static size_t
expected_len(const uint8_t *buf, size_t len)
{
	if (buf[OFF_VERSION] == 1)
		return PROTO_LEN;
	if (len <= OFF_NGROUPS || buf[OFF_NGROUPS] == 0 ||
	    buf[OFF_NGROUPS] > PROTO_MAX_GROUPS)
		return 0;
	return PROTO_V2_LEN(buf[OFF_NGROUPS]);
}

/*
 * Cheap checks first: traffic of another cluster or version is classified
 * without computing a MAC. Nothing reaches *out unless everything holds.
 */
HOTPATH enum proto_result
proto_decode(const uint8_t *buf, size_t len, uint16_t cluster_id,
    struct auth *a, struct msg *out)
{
	size_t want;
	int n = 1;

	/* the records past ngroups stay unwritten: 1 KB of stores a heartbeat */
	memset(out, 0, offsetof(struct msg, groups));
	if (len < OFF_CLUSTER + 2)
		return PROTO_TRUNCATED;
	if (get32(buf + OFF_MAGIC) != PROTO_MAGIC)
		return len < PROTO_LEN ? PROTO_TRUNCATED : PROTO_BAD_MAGIC;
	if (buf[OFF_VERSION] != 1 && buf[OFF_VERSION] != 2)
		return PROTO_BAD_VERSION;
	if ((want = expected_len(buf, len)) == 0)
		return len <= OFF_NGROUPS ? PROTO_TRUNCATED : PROTO_BAD_FIELD;
	if (len < want)
		return PROTO_TRUNCATED;
	if (len > want)
		return PROTO_OVERSIZED;
	if (get16(buf + OFF_CLUSTER) != cluster_id)
		return PROTO_FOREIGN;
	if (!auth_verify(a, buf, want - AUTH_MAC_LEN, buf + want - AUTH_MAC_LEN))
		return PROTO_BAD_MAC;
	if (buf[OFF_VERSION] == 2)
		n = buf[OFF_NGROUPS];
	if (!fields_valid(buf, n))
		return PROTO_BAD_FIELD;

	out->version = buf[OFF_VERSION];
	out->type = buf[OFF_TYPE];
	out->cluster_id = get16(buf + OFF_CLUSTER);
	out->epoch = get64(buf + OFF_EPOCH);
	out->seq = get64(buf + OFF_SEQ);
	out->echo_epoch = get64(buf + OFF_ECHO_EPOCH);
	out->tx_time_us = get64(buf + OFF_TX_TIME);
	out->echo_time_us = get64(buf + OFF_ECHO_TIME);
	out->echo_delay_us = get32(buf + OFF_ECHO_DELAY);
	out->link_id = buf[OFF_LINK];
	memcpy(out->name, buf + OFF_NAME, PROTO_NAME_LEN);
	out->ngroups = n;
	if (out->version == 1) {
		memset(&out->groups[0], 0, sizeof(out->groups[0]));
		memcpy(out->groups[0].name, PROTO_V1_GROUP, sizeof(PROTO_V1_GROUP));
		out->groups[0].state = buf[OFF_STATE];
		out->groups[0].priority = buf[OFF_PRIORITY];
		out->groups[0].flags = buf[OFF_FLAGS];
		return PROTO_OK;
	}
	out->period_ms = get16(buf + OFF_PERIOD);
	for (int i = 0; i < n; i++) {
		const uint8_t *g = buf + OFF_GROUPS + PROTO_GROUP_LEN * i;

		memcpy(out->groups[i].name, g, PROTO_NAME_LEN);
		out->groups[i].state = g[G_STATE];
		out->groups[i].priority = g[G_PRIORITY];
		out->groups[i].flags = g[G_FLAGS];
		out->groups[i].xflags = g[G_XFLAGS];
	}
	return PROTO_OK;
}

const char *
proto_result_str(enum proto_result r)
{
	static const char *const names[PROTO_NRESULTS] = {
		[PROTO_OK] = "ok",
		[PROTO_TRUNCATED] = "truncated",
		[PROTO_OVERSIZED] = "oversized",
		[PROTO_BAD_MAGIC] = "bad magic",
		[PROTO_BAD_VERSION] = "unsupported protocol version",
		[PROTO_FOREIGN] = "another cluster id",
		[PROTO_BAD_MAC] = "authentication failed",
		[PROTO_BAD_FIELD] = "invalid field",
	};

	return (unsigned)r < PROTO_NRESULTS ? names[r] : "unknown";
}
