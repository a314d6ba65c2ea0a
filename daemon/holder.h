/*
 * The one owner of a VIP group's addresses on this node: add (with the
 * kernel lease), refresh, the IPv6 readiness gate, repair of an address
 * someone else removed, announcements, release. The role logic, reload and
 * start-up all go through it. Called from the event loop only; nothing here
 * blocks beyond one netlink request.
 */
#ifndef FOD_HOLDER_H
#define FOD_HOLDER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"

struct holder_events {
	/* every VIP usable after holder_up(): clients may be told */
	void	(*ready)(void *arg);
	/* true while the owner may not touch its VIPs (a freeze is being sorted out) */
	bool	(*hold_off)(void *arg);
	/* the kernel lifetime (s) to give them now; NULL: vip_lease_s (quorum
	   caps it); HOLDER_KEEP: do not renew now (1 s for a new address) */
	unsigned (*lifetime)(void *arg);
	void	 *arg;
};

#define HOLDER_KEEP	UINT_MAX

struct holder {
	const struct config	*cfg;
	int			 first, n;	/* cfg->vips[first .. first + n) */
	struct holder_events	 ev;
	bool			 wanted;	/* added and kept until released */
	bool			 usable;	/* every VIP usable (what PROTO_F_HOLDS says) */
	bool			 waiting[CFG_MAX_VIPS];	/* added, not yet usable (IPv6) */
	bool			 announce_ready[CFG_MAX_VIPS]; /* announce once usable */
	unsigned		 announce_left;
	uint64_t		 repairs;
	struct loop_timer	 ready_timer, refresh_timer, announce_timer,
				 reannounce_timer;
};

void	holder_init(struct holder *, const struct config *, int first, int n,
	    const struct holder_events *);
/* Add every VIP (or renew it); ev.ready once all are usable. */
void	holder_up(struct holder *);
/* Renew the VIPs' kernel lifetime now (quorum: after each lease renewal). */
void	holder_refresh(struct holder *);
/* Remove every VIP and stop refreshing and announcing. */
void	holder_release(struct holder *);
/* Gratuitous ARP / unsolicited NA now, then announce.count - 1 repeats. */
void	holder_announce(struct holder *);
bool	holder_usable(const struct holder *);
/* Netlink news; both return true if the address is one of this holder's. */
bool	holder_addr_deleted(struct holder *, int family, const unsigned char *addr,
	    int prefixlen, int ifindex);
bool	holder_addr_ready(struct holder *, int family, const unsigned char *addr,
	    int prefixlen, int ifindex);
/*
 * Reload: the same holder over nc's VIPs [first, first + n). VIPs gone
 * are removed now; while wanted, new ones come up through the same gate
 * and are announced once usable. Call before nc replaces the running config
 * (old is read here), then holder_rebind() after.
 */
void	holder_reload(struct holder *, const struct config *nc, int first, int n);
void	holder_rebind(struct holder *, const struct config *running, int first, int n);
void	holder_finalise(struct holder *);

#endif
