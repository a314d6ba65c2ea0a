/*
 * Quorum from etcd (design 11): each group's key PREFIX/CLUSTER_ID/GROUP,
 * held under this node's lease, is what allows holding the group's VIPs.
 * quorum.c drives etcd.c for role.c: it gets and gives up keys, retries
 * until told otherwise, and says when the lease may no longer be relied
 * on (a margin before etcd could expire it). Nothing blocks; every call
 * returns at once and results come through struct quorum_events, from the
 * loop, never from inside a quorum_* call.
 */
#ifndef FOD_QUORUM_H
#define FOD_QUORUM_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct quorum_events {
	/* group g's key became ours (held) or stopped being ours */
	void	(*key)(int g, bool held, void *arg);
	/* the lease became reliable again, or is about to stop being so */
	void	(*lease)(bool ok, void *arg);
	/* each renewal: the VIPs' lifetimes may be extended now */
	void	(*renewed)(void *arg);
	void	 *arg;
};

/*
 * Load libcurl if the config asks for quorum: -1 with "FILE:LINE: ...\n"
 * naming the package if it is missing. A start and -t ask before
 * quorum_init(), whose etcd_init() needs it loaded (it says so, without
 * the line, if not).
 */
int	 quorum_load(const struct config *, char *err, size_t errlen);
/* Without a quorum section these do nothing and quorum_enabled() is false. */
int	 quorum_init(const struct config *, const struct quorum_events *,
	    char *err, size_t errlen);
void	 quorum_finalise(void);
bool	 quorum_enabled(void);
/* The lease is granted and will not expire within the safety margin. */
bool	 quorum_lease_ok(uint64_t now);
/* The lease outlives a 1 s VIP lifetime given now, the kernel's lateness included. */
bool	 quorum_lease_fresh(uint64_t now);
bool	 quorum_held(int g);
/*
 * Get group g's key: from the node named (make-before-break: it hands the
 * group to us, or we preempt it), else only if nobody holds it. Retried
 * until held or quorum_drop(); calling again changes from.
 */
void	 quorum_want(int g, const char *from);
/* Stop wanting g's key, and delete it if it is still ours. */
void	 quorum_drop(int g);
/* Ask etcd who holds g's key now (the answer comes as for the others). */
void	 quorum_refresh(int g);
/* Who holds g's key as last seen ("" unknown or nobody). */
const char *quorum_holder(int g);
/*
 * The VIPs' kernel lifetime, in s, that cannot outlast the lease with the
 * kernel's lateness (KERNEL_LATE_MS) added; HOLDER_KEEP when even 1 s
 * would (do not renew now: role.c renews 1 s at a time while it keeps the
 * VIPs without the lease). vip_lease_s (0: none) is the configured one.
 */
unsigned quorum_vip_lifetime_s(unsigned vip_lease_s, uint64_t now);
/* At exit: revoke the lease (deletes whatever keys are left); waits for
 * etcd's answer, at most one request timeout, running the loop. */
void	 quorum_stop(void);

#endif
