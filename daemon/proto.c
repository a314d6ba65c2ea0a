/*
 * Wire format of proto.h, written and read byte by byte (big-endian) so
 * that neither struct padding nor host byte order can leak onto the wire.
 */
#include <string.h>

#include "fsm.h"
#include "proto.h"

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
#define OFF_STATE	52
#define OFF_PRIORITY	53
#define OFF_FLAGS	54
#define OFF_LINK	55
#define OFF_NAME	56
#define OFF_RESERVED	88
#define RESERVED_LEN	8

_Static_assert(OFF_NAME + PROTO_NAME_LEN == OFF_RESERVED, "name field");
_Static_assert(OFF_RESERVED + RESERVED_LEN == PROTO_MAC_OFF, "reserved field");
_Static_assert(PROTO_MAC_OFF + AUTH_MAC_LEN == PROTO_LEN, "mac trailer");

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/*
 * The version byte is always ours: a caller cannot send a format it does
 * not speak. The name is cut to 31 bytes so that it stays NUL terminated.
 */
size_t
proto_encode(const struct msg *m, struct auth *a, uint8_t *buf, size_t buflen)
{
	if (buflen < PROTO_LEN)
		return 0;
	memset(buf, 0, PROTO_LEN);
	put32(buf + OFF_MAGIC, PROTO_MAGIC);
	buf[OFF_VERSION] = PROTO_VERSION;
	buf[OFF_TYPE] = m->type;
	put16(buf + OFF_CLUSTER, m->cluster_id);
	put64(buf + OFF_EPOCH, m->epoch);
	put64(buf + OFF_SEQ, m->seq);
	put64(buf + OFF_ECHO_EPOCH, m->echo_epoch);
	put64(buf + OFF_TX_TIME, m->tx_time_us);
	put64(buf + OFF_ECHO_TIME, m->echo_time_us);
	put32(buf + OFF_ECHO_DELAY, m->echo_delay_us);
	buf[OFF_STATE] = m->state;
	buf[OFF_PRIORITY] = m->priority;
	buf[OFF_FLAGS] = m->flags;
	buf[OFF_LINK] = m->link_id;
	memcpy(buf + OFF_NAME, m->name, strnlen(m->name, PROTO_NAME_LEN - 1));
	auth_sign(a, buf, PROTO_MAC_OFF, buf + PROTO_MAC_OFF);
	return PROTO_LEN;
}

/*
 * A name is 1..31 bytes, NUL terminated and NUL padded, without control
 * characters (it ends up in logs and hook environments).
 */
static int
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

static int
fields_valid(const uint8_t *buf)
{
	if (buf[OFF_TYPE] != PROTO_T_HEARTBEAT)
		return 0;
	if (buf[OFF_STATE] >= FSM_NSTATES)
		return 0;
	if (!name_valid(buf + OFF_NAME))
		return 0;
	for (size_t i = 0; i < RESERVED_LEN; i++)
		if (buf[OFF_RESERVED + i] != 0)
			return 0;
	return 1;
}

/*
 * Cheap checks first: traffic of another cluster or version is classified
 * without computing a MAC. Nothing reaches *out unless everything holds.
 */
enum proto_result
proto_decode(const uint8_t *buf, size_t len, uint16_t cluster_id,
    struct auth *a, struct msg *out)
{
	memset(out, 0, sizeof(*out));
	if (len < PROTO_LEN)
		return PROTO_TRUNCATED;
	if (len > PROTO_LEN)
		return PROTO_OVERSIZED;
	if (get32(buf + OFF_MAGIC) != PROTO_MAGIC)
		return PROTO_BAD_MAGIC;
	if (buf[OFF_VERSION] != PROTO_VERSION)
		return PROTO_BAD_VERSION;
	if (get16(buf + OFF_CLUSTER) != cluster_id)
		return PROTO_FOREIGN;
	if (!auth_verify(a, buf, PROTO_MAC_OFF, buf + PROTO_MAC_OFF))
		return PROTO_BAD_MAC;
	if (!fields_valid(buf))
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
	out->state = buf[OFF_STATE];
	out->priority = buf[OFF_PRIORITY];
	out->flags = buf[OFF_FLAGS];
	out->link_id = buf[OFF_LINK];
	memcpy(out->name, buf + OFF_NAME, PROTO_NAME_LEN);
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
