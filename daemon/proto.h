/*
 * Wire format. One UDP datagram = one message, big-endian, HMAC-SHA256
 * trailer over everything before it.
 *
 * Version 1 (0.1; one VIP set), exactly PROTO_LEN bytes:
 *   0 magic "FOVD"   4 version  5 type  6 cluster_id(16)
 *   8 epoch(64)     16 seq(64)  24 echo_epoch(64)
 *  32 tx_time_us(64)  40 echo_time_us(64)  48 echo_delay_us(32)
 *  52 state  53 priority  54 flags  55 link_id
 *  56 name[32] (NUL padded, NUL terminated)   88 reserved(64, zero)
 *  96 hmac[32]                                  128 end
 *
 * Version 2 (VIP groups): the same first 52 bytes, then
 *  52 period_ms(16: how often the sender sends now; 0 = not said)
 *  54 ngroups (1..32)  55 link_id
 *  56 name[32]   88 reserved(64, zero)
 *  96 ngroups x { name[32], state, priority, flags, xflags }
 *  96 + 36 * ngroups: hmac[32]
 * A node whose only group is the implicit "default" speaks version 1, so a
 * 0.1 peer understands it (rolling upgrade), with PROTO_F_V2 set (0.1
 * ignores flags it does not know); once the peer says it speaks version 2
 * too, both speak 2. Both versions are understood.
 */
#ifndef FOD_PROTO_H
#define FOD_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "fsm.h"

#define PROTO_MAGIC	0x464f5644u	/* "FOVD" */
#define PROTO_VERSION	2	/* the newest we speak; we also speak 1 */
#define PROTO_LEN	128	/* version 1 */
#define PROTO_MAC_OFF	96	/* version 1 */
#define PROTO_NAME_LEN	32
#define PROTO_MAX_GROUPS 32
#define PROTO_GROUP_LEN	36
#define PROTO_V2_LEN(n)	((size_t)(96 + PROTO_GROUP_LEN * (n) + 32))
#define PROTO_MAX_LEN	PROTO_V2_LEN(PROTO_MAX_GROUPS)
#define PROTO_V1_GROUP	"default"	/* the one group of a version 1 message */

#define PROTO_T_HEARTBEAT 1

#define PROTO_F_PREEMPT		0x01	/* sender has preempt enabled */
#define PROTO_F_MAINTENANCE	0x02	/* sender is in maintenance */
#define PROTO_F_HANDOVER	0x04	/* sender (active) asks the receiver to take over */
#define PROTO_F_HOLDS		0x08	/* sender holds the VIPs */
#define PROTO_F_YIELDED		0x10	/* sender released the VIPs: both were active */
#define PROTO_F_DEGRADED	0x20	/* failing checks lower the sender's priority */
#define PROTO_F_V2		0x40	/* version 1 only: the sender speaks version 2 too */

/* A version 2 group record's last byte: more nodes (design 11) */
#define PROTO_X_KEY	0x01	/* sender holds the group's key in etcd */
#define PROTO_X_KEYLESS	0x02	/* sender holds the VIPs without it (etcd
				   unreachable, on_quorum_loss keep-while-peers) */
#define PROTO_X_TARGET	0x04	/* its handover or stop is meant for the
				   receiver (set per link) */
#define PROTO_X_PLACED	0x08	/* sender holds by a switchover: nobody
				   preempts it */

/* One VIP group as the sender sees it; flags are PROTO_F_*, xflags PROTO_X_*. */
struct msg_group {
	char		name[PROTO_NAME_LEN];
	uint8_t		state;		/* enum fsm_state */
	uint8_t		priority;	/* effective priority */
	uint8_t		flags;
	uint8_t		xflags;
};

struct msg {
	uint8_t		version;
	uint8_t		type;
	uint16_t	cluster_id;
	uint64_t	epoch;
	uint64_t	seq;
	uint64_t	echo_epoch;	/* receiver's epoch as the sender last heard it; 0 = none */
	uint64_t	tx_time_us;	/* sender's monotonic clock */
	uint64_t	echo_time_us;	/* last tx_time_us the sender got from us on this link */
	uint32_t	echo_delay_us;	/* how long the sender held that echo */
	uint16_t	period_ms;	/* version 2: the sender's send period; 0 = not said */
	uint8_t		link_id;
	char		name[PROTO_NAME_LEN];
	int		ngroups;	/* version 1: one, named PROTO_V1_GROUP */
	struct msg_group groups[PROTO_MAX_GROUPS];
};

enum proto_result {
	PROTO_OK = 0,
	PROTO_TRUNCATED,	/* shorter than its version's length */
	PROTO_OVERSIZED,	/* longer than its version's length */
	PROTO_BAD_MAGIC,
	PROTO_BAD_VERSION,
	PROTO_FOREIGN,		/* another cluster id */
	PROTO_BAD_MAC,		/* authentication failed */
	PROTO_BAD_FIELD,	/* authenticated but nonsensical (type, state, name) */
	PROTO_NRESULTS
};

/*
 * Encode and seal (HMAC) m into buf in version m->version (1: exactly one
 * group, whose name is not sent); returns the length, or 0 if buflen is too
 * small or m does not fit its version.
 */
size_t		 proto_encode(const struct msg *m, struct auth *a, uint8_t *buf, size_t buflen);
/*
 * Pure parser: classify buf[0..len) and, on PROTO_OK, fill *out up to
 * groups[ngroups - 1] (the records after it are unspecified). Refused,
 * out says nothing: zero up to groups, ngroups 0.
 * Checks in order: length, magic, version, cluster id, MAC, fields.
 * Freshness (replay) is not checked here; see replay_check().
 */
enum proto_result proto_decode(const uint8_t *buf, size_t len, uint16_t cluster_id,
		    struct auth *a, struct msg *out);
const char	*proto_result_str(enum proto_result);

/*
 * How long a message keeps its sender alive: dead_ms, or a few of its send
 * periods when it sends sparsely: standby (or in fault) in every group,
 * holding nothing. Whatever else it becomes, it says at once; an active
 * sender sends every interval_ms, so a takeover still waits dead_ms.
 */
static inline unsigned
proto_hold_ms(const struct msg *m, unsigned dead_ms, unsigned interval_ms)
{
	unsigned sparse = 3u * m->period_ms + interval_ms;

	for (int k = 0; k < m->ngroups; k++)
		if ((m->groups[k].state != FSM_STANDBY &&
		    m->groups[k].state != FSM_FAULT) ||
		    (m->groups[k].flags & PROTO_F_HOLDS))
			return dead_ms;
	return sparse > dead_ms ? sparse : dead_ms;
}

#endif
