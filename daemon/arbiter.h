/*
 * The arbiter: ICMP/ICMPv6 echo to outside targets. It reports only changes
 * of its verdict; the daemon decides what the verdict means (faults.c: an
 * unreachable arbiter is a fault; any reply lets the FSM claim the VIPs).
 *
 * Each round (every arbiter_interval_ms, the first at once) sends one
 * ICMP/ICMPv6 echo request to every target: over a raw socket, or a
 * SOCK_DGRAM ping socket without CAP_NET_RAW. A reply counts for the round
 * it answers when its id, sequence number, payload token and source address
 * match. fail_after rounds in a row without a reply from any target:
 * reachable = false; the first matching reply after that: reachable = true.
 * The arbiter starts reachable.
 *
 * Callers: faults.c (init, finalise, the verdict and reply callbacks),
 * role.c (arbiter_probe() for ACT_ARBITER), control.c (arbiter_get() for
 * status). Callbacks run from the loop (the round timer, the socket
 * handler), never from arbiter_init(); they may call arbiter_finalise().
 * Nothing blocks: the sockets are non-blocking and served by the daemon's
 * one epoll loop; a send that fails is logged (once per errno) and simply
 * gets no reply.
 */
#ifndef FOD_ARBITER_H
#define FOD_ARBITER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

typedef void (*arbiter_cb)(void *arg, bool reachable);

struct arbiter_info {
	bool		enabled;
	bool		reachable;
	unsigned	misses;		/* consecutive rounds with no reply from any target */
	uint64_t	last_reply_ms;	/* 0 = never */
};

/*
 * Pings every target each interval; unreachable after fail_after silent
 * rounds. Without targets (narbiter == 0) it does nothing and returns 0;
 * arbiter_get() then says enabled = false. Calling it again first does
 * arbiter_finalise(), and an unreachable arbiter stays so until a target
 * answers. -1: a socket could not be opened (logged).
 */
int	arbiter_init(const struct config *, arbiter_cb, void *arg);
void	arbiter_finalise(void);
void	arbiter_get(struct arbiter_info *);
/* Called on every matching reply, after the verdict callback if any;
 * arbiter_init() and arbiter_finalise() clear it. */
void	arbiter_on_reply(void (*)(void *), void *arg);
/* Ping every target again now, within the current round. */
void	arbiter_probe(void);

#endif
