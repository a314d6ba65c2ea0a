/*
 * Wire format. One UDP datagram = one message of exactly PROTO_LEN bytes,
 * big-endian, HMAC-SHA256 trailer over everything before it.
 *
 *   0 magic "FOVD"   4 version  5 type  6 cluster_id(16)
 *   8 epoch(64)     16 seq(64)  24 echo_epoch(64)
 *  32 tx_time_us(64)  40 echo_time_us(64)  48 echo_delay_us(32)
 *  52 state  53 priority  54 flags  55 link_id
 *  56 name[32] (NUL padded, NUL terminated)   88 reserved(64, zero)
 *  96 hmac[32]                                  128 end
 */
#ifndef FOD_PROTO_H
#define FOD_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"

#define PROTO_MAGIC	0x464f5644u	/* "FOVD" */
#define PROTO_VERSION	1
#define PROTO_LEN	128
#define PROTO_MAC_OFF	96
#define PROTO_NAME_LEN	32

#define PROTO_T_HEARTBEAT 1

#define PROTO_F_PREEMPT		0x01	/* sender has preempt enabled */
#define PROTO_F_MAINTENANCE	0x02	/* sender is in maintenance */
#define PROTO_F_HANDOVER	0x04	/* sender (active) asks the receiver to take over */
#define PROTO_F_HOLDS		0x08	/* sender holds the VIPs */
#define PROTO_F_YIELDED		0x10	/* sender released the VIPs: both were active */
#define PROTO_F_DEGRADED	0x20	/* failing checks lower the sender's priority */

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
	uint8_t		state;		/* enum fsm_state */
	uint8_t		priority;	/* effective priority */
	uint8_t		flags;
	uint8_t		link_id;
	char		name[PROTO_NAME_LEN];
};

enum proto_result {
	PROTO_OK = 0,
	PROTO_TRUNCATED,	/* shorter than PROTO_LEN */
	PROTO_OVERSIZED,	/* longer than PROTO_LEN */
	PROTO_BAD_MAGIC,
	PROTO_BAD_VERSION,
	PROTO_FOREIGN,		/* another cluster id */
	PROTO_BAD_MAC,		/* authentication failed */
	PROTO_BAD_FIELD,	/* authenticated but nonsensical (type, state, name) */
	PROTO_NRESULTS
};

/* Encode and seal (HMAC) m into buf; returns PROTO_LEN, or 0 if buflen is too small. */
size_t		 proto_encode(const struct msg *m, struct auth *a, uint8_t *buf, size_t buflen);
/*
 * Pure parser: classify buf[0..len) and, on PROTO_OK, fill *out.
 * Checks in order: length, magic, version, cluster id, MAC, fields.
 * Freshness (replay) is not checked here; see replay_check().
 */
enum proto_result proto_decode(const uint8_t *buf, size_t len, uint16_t cluster_id,
		    struct auth *a, struct msg *out);
const char	*proto_result_str(enum proto_result);

#endif
