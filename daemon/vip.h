/* VIP addresses through libnl-route-3, and the netlink watch (addresses, links). */
#ifndef FOD_VIP_H
#define FOD_VIP_H

#include <stdbool.h>

#include "config.h"

struct vip_events {
	/* an address was removed from an interface (RTM_DELADDR) */
	void	(*addr_deleted)(void *arg, int family, const unsigned char *addr,
		    int prefixlen, int ifindex);
	/*
	 * an address is usable (RTM_NEWADDR, not tentative). A new IPv6
	 * address is routed only once the kernel's addrconf work has run,
	 * after vip_add() returned: announce it only then.
	 */
	void	(*addr_ready)(void *arg, int family, const unsigned char *addr,
		    int prefixlen, int ifindex);
	/* link state changed: carrier = IFF_UP && IFF_LOWER_UP (RTM_NEWLINK/DELLINK) */
	void	(*link_changed)(void *arg, const char *ifname, int ifindex, bool carrier);
	void	 *arg;
};

/* Opens the request socket and the (non-blocking) watch socket. */
int	vip_init(const struct vip_events *);
void	vip_finalise(void);
/* Add, or refresh the lifetime of, one VIP; lease_s = 0 means permanent. IPv6 gets IFA_F_NODAD. */
int	vip_add(const struct cfg_vip *, unsigned lease_s);
/* Remove one VIP; an absent address is not an error. */
int	vip_del(const struct cfg_vip *);
/* 1 present, 0 absent, -1 error (asks the kernel). */
int	vip_present(const struct cfg_vip *);
/* Whether ifname currently has carrier (IFF_UP && IFF_LOWER_UP); -1 if no such link. */
int	vip_link_carrier(const char *ifname);
/* ifindex of ifname, 0 if none. */
int	vip_ifindex(const char *ifname);
/* Drop the neighbour entry of addr on ifindex if it is unresolved (not static). */
void	vip_neigh_unstick(int ifindex, int family, const void *addr);
/* fd to put in the event loop; call vip_watch_read() when readable. */
int	vip_watch_fd(void);
void	vip_watch_read(void);

#endif
