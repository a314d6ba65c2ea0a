/*
 * Gratuitous ARP (IPv4) and unsolicited neighbour advertisements (IPv6),
 * so that neighbours update their caches when a VIP moves here.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/if_ether.h>
#include <netinet/in.h>
#include <netpacket/packet.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "announce.h"
#include "log.h"

static const struct in6_addr all_nodes = { .s6_addr = {
	0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } };

static int arp_fd = -1;		/* AF_PACKET, send only */
static int na_fd = -1;		/* raw ICMPv6, send only */
static struct announce_stats stats;

/*
 * A failure is logged once per (interface, cause, errno) until a send on
 * that interface succeeds again: announcements repeat, logs should not.
 */
enum cause { C_IFINDEX, C_HWADDR, C_HWTYPE, C_NOSOCK, C_SEND };
static const char *cause_text[] = {
	[C_IFINDEX] = "no such interface",
	[C_HWADDR] = "cannot read the hardware address",
	[C_HWTYPE] = "not an Ethernet interface",
	[C_NOSOCK] = "no socket for this address family",
	[C_SEND] = "send failed",
};

#define WARNED_MAX	16
static struct warned {
	char	ifname[IF_NAMESIZE];
	int	cause;
	int	err;
} warned[WARNED_MAX];
static int nwarned, warned_next;

static int
fail(const struct cfg_vip *v, enum cause cause, int err)
{
	struct warned *w;

	for (int i = 0; i < nwarned; i++) {
		w = &warned[i];
		if (w->cause == (int)cause && w->err == err &&
		    strcmp(w->ifname, v->ifname) == 0)
			return -1;
	}
	w = &warned[warned_next];
	warned_next = (warned_next + 1) % WARNED_MAX;
	if (nwarned < WARNED_MAX)
		nwarned++;
	snprintf(w->ifname, sizeof(w->ifname), "%s", v->ifname);
	w->cause = cause;
	w->err = err;

	errno = err;
	if (err)
		log_warn("announce %s on %s: %s", v->text, v->ifname,
		    cause_text[cause]);
	else
		log_warnx("announce %s on %s: %s", v->text, v->ifname,
		    cause_text[cause]);
	return -1;
}

static void
succeeded(const struct cfg_vip *v)
{
	for (int i = 0; i < nwarned; i++)
		if (strcmp(warned[i].ifname, v->ifname) == 0)
			warned[i].ifname[0] = '\0';
}

/* Interface index and Ethernet address; the interface may have changed since last time. */
static int
if_lookup(const struct cfg_vip *v, int *ifindex, unsigned char mac[ETH_ALEN])
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", v->ifname);
	if (ioctl(arp_fd, SIOCGIFINDEX, &ifr) == -1)
		return fail(v, C_IFINDEX, errno);
	*ifindex = ifr.ifr_ifindex;
	if (ioctl(arp_fd, SIOCGIFHWADDR, &ifr) == -1)
		return fail(v, C_HWADDR, errno);
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
		return fail(v, C_HWTYPE, 0);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	return 0;
}

/* ARP request with sender IP = target IP = VIP, broadcast. */
static int
send_garp(const struct cfg_vip *v, int ifindex, const unsigned char *mac)
{
	struct ether_arp ea;
	struct sockaddr_ll sll;

	memset(&ea, 0, sizeof(ea));
	ea.arp_hrd = htons(ARPHRD_ETHER);
	ea.arp_pro = htons(ETHERTYPE_IP);
	ea.arp_hln = ETH_ALEN;
	ea.arp_pln = 4;
	ea.arp_op = htons(ARPOP_REQUEST);
	memcpy(ea.arp_sha, mac, ETH_ALEN);
	memcpy(ea.arp_spa, v->addr, 4);
	memcpy(ea.arp_tpa, v->addr, 4);		/* arp_tha stays zero */

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ARP);
	sll.sll_ifindex = ifindex;
	sll.sll_halen = ETH_ALEN;
	memset(sll.sll_addr, 0xff, ETH_ALEN);

	if (sendto(arp_fd, &ea, sizeof(ea), 0, (struct sockaddr *)&sll,
	    sizeof(sll)) != (ssize_t)sizeof(ea))
		return fail(v, C_SEND, errno);
	return 0;
}

/* Unsolicited NA (override, not solicited) for the VIP to all nodes. */
static int
send_una(const struct cfg_vip *v, int ifindex, const unsigned char *mac)
{
	struct {
		struct nd_neighbor_advert	na;
		struct nd_opt_hdr		opt;
		unsigned char			lladdr[ETH_ALEN];
	} pkt;
	struct sockaddr_in6 dst;

	_Static_assert(sizeof(pkt) == 32, "NA packet layout");
	if (na_fd == -1)
		return fail(v, C_NOSOCK, 0);

	memset(&pkt, 0, sizeof(pkt));
	pkt.na.nd_na_type = ND_NEIGHBOR_ADVERT;
	pkt.na.nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE;
	memcpy(&pkt.na.nd_na_target, v->addr, 16);
	pkt.opt.nd_opt_type = ND_OPT_TARGET_LINKADDR;
	pkt.opt.nd_opt_len = 1;			/* units of 8 bytes */
	memcpy(pkt.lladdr, mac, ETH_ALEN);
	/* the kernel fills in the ICMPv6 checksum on raw ICMPv6 sockets */

	memset(&dst, 0, sizeof(dst));
	dst.sin6_family = AF_INET6;
	dst.sin6_addr = all_nodes;
	dst.sin6_scope_id = ifindex;		/* picks the outgoing interface */

	if (sendto(na_fd, &pkt, sizeof(pkt), 0, (struct sockaddr *)&dst,
	    sizeof(dst)) != (ssize_t)sizeof(pkt))
		return fail(v, C_SEND, errno);
	return 0;
}

int
announce_vip(const struct cfg_vip *v)
{
	unsigned char mac[ETH_ALEN];
	int ifindex = 0, rv;

	if (arp_fd == -1)
		rv = fail(v, C_NOSOCK, 0);
	else if (if_lookup(v, &ifindex, mac) == -1)
		rv = -1;
	else if (v->family == AF_INET)
		rv = send_garp(v, ifindex, mac);
	else
		rv = send_una(v, ifindex, mac);
	if (rv == 0) {
		succeeded(v);
		if (v->family == AF_INET)
			stats.arp++;
		else
			stats.na++;
	} else
		stats.errors++;
	return rv;
}

void
announce_get_stats(struct announce_stats *out)
{
	*out = stats;
}

static int
na_open(void)
{
	struct icmp6_filter filt;
	int fd, hops = 255, loop = 0;

	fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    IPPROTO_ICMPV6);
	if (fd == -1)
		return -1;
	/* send only: never queue the host's ICMPv6 traffic */
	ICMP6_FILTER_SETBLOCKALL(&filt);
	/* RFC 4861: hop limit 255, or receivers drop the NA */
	if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt,
	    sizeof(filt)) == -1 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops,
	    sizeof(hops)) == -1 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops,
	    sizeof(hops)) == -1 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop,
	    sizeof(loop)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
announce_init(void)
{
	if (arp_fd != -1)
		return 0;
	/*
	 * Protocol 0: the socket only sends (sll_protocol says ARP), so it
	 * never receives a copy of every ARP packet on the host.
	 */
	arp_fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (arp_fd == -1) {
		log_warn("announce: packet socket");
		return -1;
	}
	/* a host without IPv6 can still announce its IPv4 VIPs */
	if ((na_fd = na_open()) == -1)
		log_warn("announce: ICMPv6 socket");
	return 0;
}

void
announce_finalise(void)
{
	if (arp_fd != -1)
		close(arp_fd);
	if (na_fd != -1)
		close(na_fd);
	arp_fd = na_fd = -1;
	nwarned = warned_next = 0;
}
