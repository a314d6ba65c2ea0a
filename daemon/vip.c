/*
 * VIP addresses through libnl-route-3, and the netlink watch.
 *
 * Two sockets: the request socket waits only for the kernel's answer to
 * one request at a time (bounded by a receive timeout); the watch socket is
 * non-blocking, subscribed to address and link notifications, and drained
 * from the event loop.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <net/if.h>
#include <linux/if.h>		/* IFF_LOWER_UP; after net/if.h */
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <errno.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>

#include "log.h"
#include "vip.h"

#define WATCH_RCVBUF	(1024 * 1024)
#define WATCH_BATCH	256	/* datagrams per vip_watch_read; the rest next round */
#define REQ_TIMEOUT_S	2	/* the kernel answers at once; this only bounds a bug */
#define DUMP_TRIES	3

static struct nl_sock		*req_sk;
static struct nl_sock		*watch_sk;
static struct vip_events	 events;

/*
 * VIPs added through vip_add and not removed through vip_del. After a watch
 * overrun the notifications are lost: the ones that are gone are reported as
 * deleted so that the caller can put them back.
 */
struct held {
	struct cfg_vip	v;
	int		ifindex;
};
static struct held	held[CFG_MAX_VIPS];
static int		nheld;

static int
addr_len(int family)
{
	switch (family) {
	case AF_INET:
		return 4;
	case AF_INET6:
		return 16;
	}
	return 0;
}

static bool
flags_carrier(unsigned flags)
{
	return (flags & IFF_UP) && (flags & IFF_LOWER_UP);
}

static bool
same_vip(const struct cfg_vip *a, const struct cfg_vip *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	    memcmp(a->addr, b->addr, addr_len(a->family)) == 0 &&
	    strcmp(a->ifname, b->ifname) == 0;
}

static void
held_set(const struct cfg_vip *v, int ifindex)
{
	int i;

	for (i = 0; i < nheld; i++)
		if (same_vip(&held[i].v, v))
			break;
	if (i == nheld) {
		if (nheld == CFG_MAX_VIPS)
			return;
		nheld++;
	}
	held[i].v = *v;
	held[i].ifindex = ifindex;
}

static void
held_clear(const struct cfg_vip *v)
{
	for (int i = 0; i < nheld; i++) {
		if (same_vip(&held[i].v, v)) {
			held[i] = held[--nheld];
			return;
		}
	}
}

/* A full dump, retried when the kernel reports it was interrupted by a change. */
static struct nl_cache *
dump(bool links)
{
	struct nl_cache *c = NULL;
	int err = 0;

	for (int i = 0; i < DUMP_TRIES; i++) {
		if (links)
			err = rtnl_link_alloc_cache(req_sk, AF_UNSPEC, &c);
		else
			err = rtnl_addr_alloc_cache(req_sk, &c);
		if (err != -NLE_DUMP_INTR)
			break;
	}
	if (err < 0) {
		log_warnx("netlink %s dump: %s", links ? "link" : "address",
		    nl_geterror(err));
		return NULL;
	}
	return c;
}

static bool
cache_has(struct nl_cache *addrs, const struct cfg_vip *v, int ifindex)
{
	struct nl_object *o;
	struct rtnl_addr *a;
	struct nl_addr *local;
	int len = addr_len(v->family);

	for (o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
		a = (struct rtnl_addr *)o;
		if (rtnl_addr_get_ifindex(a) != ifindex ||
		    rtnl_addr_get_family(a) != v->family ||
		    rtnl_addr_get_prefixlen(a) != v->prefixlen)
			continue;
		if ((local = rtnl_addr_get_local(a)) == NULL ||
		    (int)nl_addr_get_len(local) != len)
			continue;
		if (memcmp(nl_addr_get_binary_addr(local), v->addr, len) == 0)
			return true;
	}
	return false;
}

/* The identity of a VIP as the kernel knows it: interface, address, prefix. */
static struct rtnl_addr *
vip_object(const struct cfg_vip *v, int ifindex)
{
	struct rtnl_addr *a;
	struct nl_addr *local;

	if ((a = rtnl_addr_alloc()) == NULL)
		return NULL;
	if ((local = nl_addr_build(v->family, v->addr,
	    addr_len(v->family))) == NULL) {
		rtnl_addr_put(a);
		return NULL;
	}
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_family(a, v->family);
	rtnl_addr_set_local(a, local);
	rtnl_addr_set_prefixlen(a, v->prefixlen);
	nl_addr_put(local);
	return a;
}

/* 0 with *link set (NULL: no such link), -1 on error. */
static int
link_get(const char *ifname, struct rtnl_link **link)
{
	int err;

	*link = NULL;
	if ((err = rtnl_link_get_kernel(req_sk, 0, ifname, link)) < 0) {
		if (err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND)
			return 0;
		log_warnx("%s: link lookup: %s", ifname, nl_geterror(err));
		return -1;
	}
	return 0;
}

/*
 * Interfaces come and go: resolve the name at every use, by ioctl (every
 * lease refresh asks; a netlink request and its parse cost more). 0 with
 * *ifindex set (0: no such interface), -1 on error.
 */
static int
link_index(const char *ifname, int *ifindex)
{
	*ifindex = (int)if_nametoindex(ifname);
	if (*ifindex == 0 && errno != ENODEV) {
		log_warnx("%s: link lookup: %s", ifname, strerror(errno));
		return -1;
	}
	return 0;
}

int
vip_ifindex(const char *ifname)
{
	int ifindex;

	link_index(ifname, &ifindex);
	return ifindex;
}

int
vip_link_carrier(const char *ifname)
{
	struct rtnl_link *link;
	int carrier;

	if (link_get(ifname, &link) == -1 || link == NULL)
		return -1;
	carrier = flags_carrier(rtnl_link_get_flags(link));
	rtnl_link_put(link);
	return carrier;
}

int
vip_add(const struct cfg_vip *v, unsigned lease_s)
{
	struct rtnl_addr *a;
	uint32_t lft = lease_s ? lease_s : 0xffffffffU;	/* infinity */
	int ifindex, err;

	if (link_index(v->ifname, &ifindex) == -1)
		return -1;
	if (ifindex == 0) {
		log_warnx("%s: cannot add: no interface %s", v->text,
		    v->ifname);
		return -1;
	}
	if ((a = vip_object(v, ifindex)) == NULL) {
		log_warnx("%s: cannot add: out of memory", v->text);
		return -1;
	}
	if (v->family == AF_INET && v->label[0] != '\0')
		rtnl_addr_set_label(a, v->label);
	if (v->family == AF_INET6)
		rtnl_addr_set_flags(a, IFA_F_NODAD);	/* usable at once */
	rtnl_addr_set_valid_lifetime(a, lft);
	rtnl_addr_set_preferred_lifetime(a, lft);
	/* REPLACE: a present address gets its lifetime refreshed, no EEXIST */
	err = rtnl_addr_add(req_sk, a, NLM_F_REPLACE);
	rtnl_addr_put(a);
	if (err < 0) {
		log_warnx("%s: add on %s: %s", v->text, v->ifname,
		    nl_geterror(err));
		return -1;
	}
	held_set(v, ifindex);
	return 0;
}

int
vip_del(const struct cfg_vip *v)
{
	struct rtnl_addr *a;
	int ifindex, err;

	held_clear(v);
	if (link_index(v->ifname, &ifindex) == -1)
		return -1;
	if (ifindex == 0)
		return 0;	/* no interface: no address either */
	if ((a = vip_object(v, ifindex)) == NULL) {
		log_warnx("%s: cannot delete: out of memory", v->text);
		return -1;
	}
	err = rtnl_addr_delete(req_sk, a, 0);
	rtnl_addr_put(a);
	switch (err) {
	case 0:
	case -NLE_NOADDR:		/* EADDRNOTAVAIL */
	case -NLE_OBJ_NOTFOUND:		/* ENOENT, ESRCH */
	case -NLE_NODEV:		/* the interface went away meanwhile */
		return 0;
	}
	log_warnx("%s: delete from %s: %s", v->text, v->ifname,
	    nl_geterror(err));
	return -1;
}

int
vip_present(const struct cfg_vip *v)
{
	struct nl_cache *addrs;
	int ifindex, present;

	if (link_index(v->ifname, &ifindex) == -1)
		return -1;
	if (ifindex == 0)
		return 0;
	if ((addrs = dump(false)) == NULL)
		return -1;
	present = cache_has(addrs, v, ifindex);
	nl_cache_free(addrs);
	return present;
}

/*
 * After an overrun any notification may have been lost: report every link
 * as it is now, report the links of our VIPs that are gone, and report as
 * deleted every VIP that we hold and that is no longer there.
 */
static void
watch_rescan(void)
{
	struct held snap[CFG_MAX_VIPS];
	struct nl_cache *links, *addrs;
	struct nl_object *o;
	struct rtnl_link *l;
	int n, ifindex;

	/* callbacks may call vip_add/vip_del, which change held[] */
	n = nheld;
	memcpy(snap, held, sizeof(snap[0]) * n);

	if ((links = dump(true)) == NULL)
		return;
	for (o = nl_cache_get_first(links); o; o = nl_cache_get_next(o)) {
		l = (struct rtnl_link *)o;
		if (events.link_changed && rtnl_link_get_name(l))
			events.link_changed(events.arg, rtnl_link_get_name(l),
			    rtnl_link_get_ifindex(l),
			    flags_carrier(rtnl_link_get_flags(l)));
	}
	if ((addrs = dump(false)) == NULL) {
		nl_cache_free(links);
		return;
	}
	for (int i = 0; i < n; i++) {
		ifindex = rtnl_link_name2i(links, snap[i].v.ifname);
		if (ifindex == 0 && events.link_changed)
			events.link_changed(events.arg, snap[i].v.ifname,
			    snap[i].ifindex, false);
		if (!cache_has(addrs, &snap[i].v, ifindex) &&
		    events.addr_deleted)
			events.addr_deleted(events.arg, snap[i].v.family,
			    snap[i].v.addr, snap[i].v.prefixlen,
			    ifindex ? ifindex : snap[i].ifindex);
	}
	nl_cache_free(addrs);
	nl_cache_free(links);
}

static void
watch_addr(struct nlmsghdr *nlh)
{
	struct nlattr *tb[IFA_MAX + 1], *a;
	struct ifaddrmsg *ifa;
	uint32_t flags;

	if (nlmsg_parse(nlh, sizeof(*ifa), tb, IFA_MAX, NULL) < 0)
		return;
	ifa = nlmsg_data(nlh);
	/* IFA_ADDRESS is the peer on point-to-point links; IFA_LOCAL is ours */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (a == NULL || addr_len(ifa->ifa_family) == 0 ||
	    nla_len(a) != addr_len(ifa->ifa_family))
		return;
	if (nlh->nlmsg_type == RTM_DELADDR) {
		if (events.addr_deleted)
			events.addr_deleted(events.arg, ifa->ifa_family,
			    nla_data(a), ifa->ifa_prefixlen, (int)ifa->ifa_index);
		return;
	}
	flags = tb[IFA_FLAGS] ? nla_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
	if (!(flags & IFA_F_TENTATIVE) && events.addr_ready)
		events.addr_ready(events.arg, ifa->ifa_family, nla_data(a),
		    ifa->ifa_prefixlen, (int)ifa->ifa_index);
}

static void
watch_link(struct nlmsghdr *nlh)
{
	struct nlattr *tb[IFLA_MAX + 1];
	struct ifinfomsg *ifi;
	char name[IF_NAMESIZE];
	bool carrier;

	if (nlmsg_parse(nlh, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return;
	ifi = nlmsg_data(nlh);
	/* AF_BRIDGE messages are about bridge ports, not about the link */
	if (ifi->ifi_family != AF_UNSPEC || tb[IFLA_IFNAME] == NULL)
		return;
	nla_strlcpy(name, tb[IFLA_IFNAME], sizeof(name));
	carrier = nlh->nlmsg_type == RTM_NEWLINK &&
	    flags_carrier(ifi->ifi_flags);
	if (events.link_changed)
		events.link_changed(events.arg, name, ifi->ifi_index, carrier);
}

static int
watch_msg(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	switch (nlh->nlmsg_type) {
	case RTM_NEWADDR:
	case RTM_DELADDR:
		watch_addr(nlh);
		break;
	case RTM_NEWLINK:
	case RTM_DELLINK:
		watch_link(nlh);
		break;
	}
	return NL_OK;
}

void
vip_watch_read(void)
{
	int err;

	for (int i = 0; i < WATCH_BATCH; i++) {
		err = nl_recvmsgs_default(watch_sk);
		if (err == 0)
			continue;
		if (err == -NLE_AGAIN)
			return;
		if (err == -NLE_NOMEM) {
			/* ENOBUFS: the kernel dropped notifications */
			log_warnx("netlink watch overrun: rescanning links "
			    "and addresses");
			watch_rescan();
			continue;
		}
		log_warnx("netlink watch: %s", nl_geterror(err));
		return;
	}
}

int
vip_watch_fd(void)
{
	return watch_sk ? nl_socket_get_fd(watch_sk) : -1;
}

static int
watch_open(void)
{
	int fd, sz = WATCH_RCVBUF, err;

	if ((watch_sk = nl_socket_alloc()) == NULL)
		return -NLE_NOMEM;
	nl_socket_disable_seq_check(watch_sk);
	nl_socket_modify_cb(watch_sk, NL_CB_VALID, NL_CB_CUSTOM, watch_msg,
	    NULL);
	if ((err = nl_connect(watch_sk, NETLINK_ROUTE)) < 0 ||
	    (err = nl_socket_set_nonblocking(watch_sk)) < 0 ||
	    (err = nl_socket_add_memberships(watch_sk, RTNLGRP_IPV4_IFADDR,
	    RTNLGRP_IPV6_IFADDR, RTNLGRP_LINK, 0)) < 0 ||
	    (err = nl_socket_set_buffer_size(watch_sk, WATCH_RCVBUF, 0)) < 0)
		return err;
	/* SO_RCVBUF is capped by net.core.rmem_max; root may go past it */
	fd = nl_socket_get_fd(watch_sk);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) == -1)
		log_debug("netlink watch: SO_RCVBUFFORCE: %s", strerror(errno));
	return 0;
}

static int
req_open(void)
{
	struct timeval tv = { .tv_sec = REQ_TIMEOUT_S };
	int err;

	if ((req_sk = nl_socket_alloc()) == NULL)
		return -NLE_NOMEM;
	if ((err = nl_connect(req_sk, NETLINK_ROUTE)) < 0)
		return err;
	if (setsockopt(nl_socket_get_fd(req_sk), SOL_SOCKET, SO_RCVTIMEO,
	    &tv, sizeof(tv)) == -1)
		return -nl_syserr2nlerr(errno);
	return 0;
}

int
vip_init(const struct vip_events *ev)
{
	int err;

	if (ev)
		events = *ev;
	nheld = 0;
	if ((err = req_open()) < 0 || (err = watch_open()) < 0) {
		log_warnx("netlink: %s", nl_geterror(err));
		vip_finalise();
		return -1;
	}
	return 0;
}

void
vip_finalise(void)
{
	if (watch_sk)
		nl_socket_free(watch_sk);
	if (req_sk)
		nl_socket_free(req_sk);
	watch_sk = req_sk = NULL;
	nheld = 0;
}

static int
neigh_state_cb(struct nl_msg *msg, void *arg)
{
	struct rtnl_neigh *n;

	if (rtnl_neigh_parse(nlmsg_hdr(msg), &n) == 0) {
		*(int *)arg = rtnl_neigh_get_state(n);
		rtnl_neigh_put(n);
	}
	return NL_OK;
}

/*
 * A neighbour entry left unresolved while the link had no carrier is
 * retried only after retrans_time (a second): the heartbeats wait that
 * long. Drop it, so that the next one resolves at once. Static entries and
 * entries that work are left alone. One entry is asked for, not the table.
 */
void
vip_neigh_unstick(int ifindex, int family, const void *addr)
{
	struct ndmsg ndm = { .ndm_family = (uint8_t)family, .ndm_ifindex = ifindex };
	struct nl_sock *sk;
	struct nl_msg *msg = NULL;
	struct nl_cb *cb;
	struct timeval tv = { .tv_sec = REQ_TIMEOUT_S };
	int state = 0, err, len = addr_len(family);

	/* its own socket: whatever the kernel still sends goes with it */
	if ((sk = nl_socket_alloc()) == NULL)
		return;
	if (nl_connect(sk, NETLINK_ROUTE) < 0 ||
	    setsockopt(nl_socket_get_fd(sk), SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)) == -1 ||
	    (msg = nlmsg_alloc_simple(RTM_GETNEIGH, 0)) == NULL ||
	    nlmsg_append(msg, &ndm, sizeof(ndm), NLMSG_ALIGNTO) < 0 ||
	    nla_put(msg, NDA_DST, len, addr) < 0 || nl_send_auto(sk, msg) < 0)
		goto out;
	if ((cb = nl_cb_clone(nl_socket_get_cb(sk))) == NULL)
		goto out;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, neigh_state_cb, &state);
	err = nl_recvmsgs(sk, cb);	/* no such entry: an error, nothing to do */
	nl_cb_put(cb);
	if (err < 0 || !(state & (NUD_INCOMPLETE | NUD_FAILED)))
		goto out;
	nlmsg_free(msg);
	if ((msg = nlmsg_alloc_simple(RTM_DELNEIGH, 0)) == NULL ||
	    nlmsg_append(msg, &ndm, sizeof(ndm), NLMSG_ALIGNTO) < 0 ||
	    nla_put(msg, NDA_DST, len, addr) < 0)
		goto out;
	err = nl_send_sync(sk, msg);	/* frees msg */
	msg = NULL;
	if (err < 0)
		log_warnx("netlink: cannot drop the unresolved neighbour entry: %s",
		    nl_geterror(err));
out:
	nlmsg_free(msg);
	nl_socket_free(sk);
}
