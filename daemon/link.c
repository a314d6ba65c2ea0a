/*
 * Heartbeat links: one UDP socket per configured path, bound to the local
 * address and device. Receiving classifies every datagram; only authentic,
 * fresh messages from the configured peer reach role.c. A socket follows its
 * interface: the kernel binds it to an ifindex, so an interface deleted and
 * created again (VLAN or bond rebuilt, driver reload) needs a new socket,
 * and a missing interface leaves its link down until it appears.
 *
 * Each link also has a socket connected to its peer, on the same address and
 * port: the kernel keeps its route and finds it by the peer's address and
 * port (early demux), where the bound socket costs a route lookup for every
 * datagram sent and received (bench: cost; the active node's CPU at 10 ms
 * 0.94 times). Anything not from the peer's address and port still reaches
 * the bound socket, which counts it.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <net/if.h>

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <stdio.h>

#include "failoverd.h"
#include "freshness.h"
#include "hotpath.h"
#include "log.h"
#include "loop.h"
#include "names.h"
#include "peers.h"
#include "proto.h"
#include "vip.h"

#define RX_BURST	256	/* datagrams per wakeup; the rest waits a round */
#define RX_BATCH	64	/* datagrams per recvmmsg() */
#define RX_BUF		(PROTO_MAX_LEN + 1) /* a longer datagram is only measured */
#define DROP_LOG_MS	10000	/* at most one summary of dropped input per period */
#define RCVBUF_BYTES	(8 << 20) /* rides out scheduling gaps under a flood */
#define REOPEN_MS	1000	/* retry of a link whose interface is missing */
#define UNSTICK_MS	50	/* first retry of the peer's address resolution */
#define UNSTICK_TRIES	5	/* 0, 50, 150, 350, 750 ms after carrier came back */

static uint64_t drops_logged_at;
static uint64_t drops_since_log;
static HOTDATA struct fresh fresh[CFG_MAX_LINKS];
static struct loop_timer reopen_timer;
static struct {
	struct loop_timer timer;
	int		tries;
} unstick[CFG_MAX_LINKS];

static int link_open(int i);
static void link_heard(int i, const struct msg *m, uint64_t t);
static void link_forget_echoes(int i);
static HOTDATA link_msg_cb on_message;	/* who hears the peer (role.c, via main.c) */

/* Replay windows by sender: a node's (epoch, seq) run over all its links. */
static struct sender {
	char		name[PROTO_NAME_LEN];
	struct replay	replay;
	uint64_t	epoch;
} senders[PEERS_MAX] HOTDATA;
static HOTDATA int nsenders;
static bool senders_full_logged;

HOTPATH static struct sender *
sender_of(const char *name)
{
	for (int i = 0; i < nsenders; i++)
		if (name_eq(senders[i].name, name))
			return &senders[i];
	if (nsenders == PEERS_MAX)
		return NULL;
	memcpy(senders[nsenders].name, name, PROTO_NAME_LEN);
	replay_reset(&senders[nsenders].replay);
	return &senders[nsenders++];
}

void
link_on_message(link_msg_cb cb)
{
	on_message = cb;
}

HOTPATH static bool
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
	return false;
}

/* The links whose peers' datagrams may reach link i's sockets: those
   sharing its bound socket. */
HOTPATH static int
socket_root(int i)
{
	return d.links[i].owner == -1 ? i : d.links[i].owner;
}

/* Bad input is counted always, logged rarely: a flood must not flood the log. */
static void
dropped(int i, const char *why)
{
	uint64_t now = now_ms();

	drops_since_log++;
	if (drops_logged_at == 0 || now - drops_logged_at >= DROP_LOG_MS) {
		log_warnx("link %d (%s): dropped %llu bad datagram(s) in the last "
		    "period; latest: %s", i, d.cfg.links[i].ifname,
		    (unsigned long long)drops_since_log, why);
		drops_logged_at = now;
		drops_since_log = 0;
	}
}

/* false: dropped as bad (a flood sends many) */
HOTPATH static bool
link_recv_one(int i, const uint8_t *buf, size_t len,
    const struct sockaddr_storage *from)
{
	struct msg m;
	struct sender *s;
	enum proto_result r;
	enum fresh_verdict fr;
	uint64_t t;

	r = proto_decode(buf, len, (uint16_t)d.cfg.cluster_id, d.auth, &m);
	switch (r) {
	case PROTO_OK:
		break;
	case PROTO_BAD_MAC:
		d.cnt.auth_failures++;
		dropped(i, proto_result_str(r));
		return false;
	case PROTO_BAD_VERSION:
		d.cnt.bad_version++;
		dropped(i, proto_result_str(r));
		return false;
	case PROTO_FOREIGN:
		d.cnt.foreign++;
		dropped(i, proto_result_str(r));
		return false;
	default:
		d.cnt.malformed++;
		dropped(i, proto_result_str(r));
		return false;
	}
	if (name_eq(m.name, d.cfg.node_name)) {
		d.cnt.malformed++;
		dropped(i, "the peer uses our node name");
		return false;
	}
	if ((s = sender_of(m.name)) == NULL) {
		d.cnt.wrong_source++;
		if (!senders_full_logged)
			log_warnx("link %d: a node named %s is one too many (at "
			    "most %d peers): ignored", i, m.name, PEERS_MAX);
		senders_full_logged = true;
		return false;
	}
	if (!replay_check(&s->replay, m.epoch, m.seq)) {
		d.cnt.replays++;
		dropped(i, "replayed or too old");
		return false;
	}
	if (m.epoch > s->epoch) {
		/* a new life of the peer: echoes of its old one would look late */
		for (int k = 0; k < d.cfg.nlinks; k++)
			if (name_eq(d.links[k].peer_name, m.name))
				d.links[k].peer_tx_us = 0;
		s->epoch = m.epoch;
	}
	if (!name_eq(d.links[i].peer_name, m.name)) {
		if (d.links[i].peer_name[0])
			log_warnx("link %d (%s): now node %s, was %s", i,
			    d.cfg.links[i].ifname, m.name, d.links[i].peer_name);
		memcpy(d.links[i].peer_name, m.name, PROTO_NAME_LEN);
		d.links[i].peer_tx_us = 0;
		d.links[i].heard = false;
	}
	d.links[i].peer_epoch = s->epoch;
	/* made before we started: proves nothing about the peer now */
	if (m.echo_epoch != d.epoch) {
		d.cnt.unconfirmed++;
		return true;
	}
	t = now_us();	/* the one clock read of a message: its time */
	fr = fresh_check(&fresh[i], m.epoch, m.tx_time_us, m.echo_time_us,
	    t, (uint64_t)d.cfg.dead_ms * 1000);
	switch (fr) {
	case FRESH_LATE:
		d.cnt.late++;
		dropped(i, "late: made too long ago to prove the peer alive");
		return false;
	case FRESH_STOOD_STILL:
	case FRESH_OK:
		break;
	}
	d.cnt.received++;
	d.links[i].received++;
	link_heard(i, &m, t);
	/* a standby's heartbeat tick is rare: another link's silence shows here */
	link_check(t / 1000);
	if (on_message)
		on_message(i, &m, fr == FRESH_STOOD_STILL, t / 1000);
	return true;
}

/*
 * What an accepted message tells about link i: the peer is heard, the round
 * trip, what to echo, and two-way evidence: the newest of our heartbeats it
 * echoed since the link was last silent. Echoes of what we sent before
 * (released late by ARP after a cut, say) do not count, nor echoes from our
 * future.
 */
HOTPATH static void
link_heard(int i, const struct msg *m, uint64_t t)
{
	struct link_state *ls = &d.links[i];
	uint64_t now = t / 1000;

	if (!ls->was_up)
		log_info("link %d (%s): peer %s heard", i, d.cfg.links[i].ifname,
		    m->name);
	if (!link_up(i, now))
		link_forget_echoes(i);
	if (m->echo_time_us >= ls->up_since_us && m->echo_time_us <= t &&
	    m->echo_time_us > ls->acked_us)
		ls->acked_us = m->echo_time_us;
	ls->was_up = true;
	ls->heard = true;
	ls->heard_at = now;
	ls->hold_ms = proto_hold_ms(m, d.cfg.dead_ms, d.cfg.interval_ms);
	if (m->echo_time_us && t >= m->echo_time_us + m->echo_delay_us) {
		ls->rtt_us = t - m->echo_time_us - m->echo_delay_us;
		ls->rtt_valid = true;
	}
	ls->peer_tx_us = m->tx_time_us;
	ls->peer_rx_us = t;
}

/* A datagram's source, length and bytes side by side: a heartbeat touches one slot. */
struct rx_slot {
	struct sockaddr_storage from;
	unsigned	len;		/* as sent: more than RX_BUF was cut */
	struct iovec	iov;		/* for recvmmsg */
	uint8_t		buf[RX_BUF];
};

/*
 * Up to want datagrams into slot[]: one by recvfrom, the cheaper call
 * (TSC), which needs no msghdr; a batch by recvmmsg through msgs.
 */
HOTPATH static int
link_receive(int fd, struct rx_slot *slot, struct mmsghdr *msgs, int want)
{
	socklen_t fromlen = sizeof(slot[0].from);
	ssize_t r;
	int n;

	if (want == 1) {
		r = recvfrom(fd, slot[0].buf, sizeof(slot[0].buf), MSG_TRUNC,
		    (struct sockaddr *)&slot[0].from, &fromlen);
		if (r == -1)
			return -1;
		slot[0].len = (unsigned)r;
		return 1;
	}
	if ((n = recvmmsg(fd, msgs, (unsigned)want, MSG_TRUNC, NULL)) == -1)
		return -1;
	for (int k = 0; k < n; k++) {
		slot[k].len = msgs[k].msg_len;
		msgs[k].msg_hdr.msg_namelen = sizeof(slot[k].from);
	}
	return n;
}

HOTPATH static void
link_readable(int fd, uint32_t events, void *arg)
{
	static struct rx_slot slot[RX_BATCH];
	static struct mmsghdr msgs[RX_BATCH];
	int i = (int)(intptr_t)arg, n, k, l;

	/* set up once (asked of the slot: a heartbeat leaves msgs alone); a
	   batch rewrites only what the kernel filled in */
	if (slot[0].iov.iov_base == NULL) {
		for (k = 0; k < RX_BATCH; k++) {
			slot[k].iov.iov_base = slot[k].buf;
			slot[k].iov.iov_len = sizeof(slot[k].buf);
			msgs[k].msg_hdr.msg_name = &slot[k].from;
			msgs[k].msg_hdr.msg_namelen = sizeof(slot[k].from);
			msgs[k].msg_hdr.msg_iov = &slot[k].iov;
			msgs[k].msg_hdr.msg_iovlen = 1;
		}
	}
	/*
	 * A heartbeat comes alone: one datagram, one system call (epoll says
	 * at once if more wait). A bad one hints at a flood: then up to
	 * RX_BURST more in batches, one system call each.
	 */
	for (int round = 0, want = 1; round <= RX_BURST / RX_BATCH; round++) {
		bool bad = false;

		if ((n = link_receive(fd, slot, msgs, want)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			/* a connected socket's error is an ICMP error (true or
			   forged), told once, ahead of what waits: read on */
			if (fd == d.links[i].cfd)
				continue;
			log_warn("link %d: receive", i);
			return;
		}
		/*
		 * MSG_TRUNC gives the real length; a longer datagram is cut
		 * to RX_BUF, which is still oversized for the parser.
		 */
		for (k = 0; k < n; k++) {
			/* links to several peers may share this socket (a
			   connected one heard them too before it connected) */
			for (l = 0; l < d.cfg.nlinks; l++)
				if (socket_root(l) == socket_root(i) &&
				    same_addr(&slot[k].from, &d.cfg.links[l].peer))
					break;
			if (l == d.cfg.nlinks) {
				d.cnt.wrong_source++;
				dropped(i, "not from a configured peer");
				bad = true;
			} else
				bad |= !link_recv_one(l, slot[k].buf,
				    slot[k].len > RX_BUF ? RX_BUF : slot[k].len,
				    &slot[k].from);
		}
		if (n < want || (want == 1 && !bad))
			return;
		want = RX_BATCH;
	}
}

/*
 * Our sends may have failed (carrier lost, no route): echoes of what we sent
 * before prove nothing about the path now. Two-way evidence starts again.
 */
static void
link_forget_echoes(int i)
{
	d.links[i].up_since_us = now_us();
	d.links[i].acked_us = 0;
}

static void arm_reopen(void);

static void
link_disconnect(int i)
{
	struct link_state *ls = &d.links[i];

	if (ls->cfd != -1) {
		loop_del_fd(ls->cfd);
		close(ls->cfd);
	}
	ls->cfd = -1;
}

static void
link_close(int i)
{
	struct link_state *ls = &d.links[i];

	link_disconnect(i);
	if (ls->fd != -1 && ls->owner == -1) {
		loop_del_fd(ls->fd);
		close(ls->fd);
		/* the links that shared the socket wait for the next one */
		for (int k = 0; k < d.cfg.nlinks; k++)
			if (d.links[k].owner == i) {
				link_disconnect(k);
				d.links[k].fd = -1;
				d.links[k].owner = -1;
				d.links[k].ifindex = 0;
				d.links[k].heard = false;
				arm_reopen();
			}
	}
	ls->fd = -1;
	ls->owner = -1;
	ls->ifindex = 0;
	/* what the old socket heard proves nothing about the new one */
	ls->heard = false;
}

static void
reopen_tick(void *arg)
{
	bool missing = false;

	for (int i = 0; i < d.cfg.nlinks; i++)
		if (d.links[i].fd == -1 &&
		    (d.links[i].fd = link_open(i)) == -1)
			missing = true;
	if (missing)
		loop_timer_set(&reopen_timer, now_ms() + REOPEN_MS, reopen_tick,
		    NULL);
}

static void
arm_reopen(void)
{
	if (reopen_timer.when == 0)
		loop_timer_set(&reopen_timer, now_ms() + REOPEN_MS, reopen_tick,
		    NULL);
}

/* A link that cannot be opened now is retried; the others work meanwhile. */
static void
link_down_until_reopened(int i)
{
	link_close(i);
	arm_reopen();
}

/* An earlier link with the same interface and local address: its socket. */
static int
link_socket_owner(int i)
{
	const struct cfg_link *l = &d.cfg.links[i];

	for (int j = 0; j < i; j++) {
		const struct cfg_link *o = &d.cfg.links[j];

		if (d.links[j].owner == -1 && o->family == l->family &&
		    strcmp(o->ifname, l->ifname) == 0 && o->salen == l->salen &&
		    memcmp(&o->local, &l->local, l->salen) == 0)
			return j;
	}
	return -1;
}

/* Retried every second: said once until it works. */
static void
open_failed(int i, const char *what)
{
	if (!d.links[i].open_failed)
		log_warn("link %d (%s): %s (retrying every %d ms)", i,
		    d.cfg.links[i].ifname, what, REOPEN_MS);
	d.links[i].open_failed = true;
}

/* A heartbeat socket for link i, not bound yet; -1 with what failed. */
static int
link_socket(int i, const char **failed)
{
	const struct cfg_link *l = &d.cfg.links[i];
	int fd, on = 1, tos = 0xc0;	/* CS6, network control */
	int prio = 6, rcvbuf = RCVBUF_BYTES;

	fd = socket(l->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		*failed = "socket";
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio));
	/* beyond net.core.rmem_max when we may (root), else what is allowed */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
	    sizeof(rcvbuf)) == -1)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (l->family == AF_INET) {
		setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
		/* bind even if the address is not up yet (boot order) */
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &on, sizeof(on));
	} else {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &on, sizeof(on));
	}
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, l->ifname,
	    (socklen_t)strlen(l->ifname)) == -1) {
		*failed = "bind to the device";
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Link i's connected socket beside fd, its bound one. The two share the port
 * only while this one binds (SO_REUSEADDR on both, then off on fd): another
 * process still cannot bind it. Without it, sends go through fd, and a send
 * that works (a route exists) tries again, at most every REOPEN_MS.
 */
static void
link_connect(int i, int fd)
{
	const struct cfg_link *l = &d.cfg.links[i];
	struct link_state *ls = &d.links[i];
	const char *failed = NULL;
	int cfd, on = 1, off = 0, r, err;

	ls->connect_at = now_ms() + REOPEN_MS;
	if ((cfd = link_socket(i, &failed)) == -1) {
		err = errno;
		goto fail;
	}
	/* left on: the next link's socket on this port binds beside it */
	setsockopt(cfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	r = bind(cfd, (const struct sockaddr *)&l->local, l->salen);
	err = errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &off, sizeof(off));
	if (r == -1)
		failed = "bind";
	else if (connect(cfd, (const struct sockaddr *)&l->peer,
	    l->salen) == -1) {
		failed = "connect";
		err = errno;
	} else if (loop_add_fd(cfd, EPOLLIN, link_readable,
	    (void *)(intptr_t)i) == -1) {
		failed = "event loop";
		err = errno;
	} else {
		ls->cfd = cfd;
		return;
	}
	close(cfd);
fail:
	log_debug("link %d: no socket connected to the peer (%s: %s): "
	    "sending unconnected", i, failed, strerror(err));
}

static int
link_open(int i)
{
	const struct cfg_link *l = &d.cfg.links[i];
	struct link_state *ls = &d.links[i];
	const char *failed = NULL;
	unsigned ifindex;
	int fd, j;

	/* links to other peers from the same address: one socket */
	if ((j = link_socket_owner(i)) != -1) {
		if (d.links[j].fd == -1)
			return -1;
		ls->owner = j;
		ls->ifindex = d.links[j].ifindex;
		ls->heard = false;
		link_connect(i, d.links[j].fd);
		return d.links[j].fd;
	}
	if ((ifindex = if_nametoindex(l->ifname)) == 0) {
		if (!ls->missing_logged)
			log_warnx("link %d: interface %s is missing: link down "
			    "until it appears", i, l->ifname);
		ls->missing_logged = true;
		return -1;
	}
	if ((fd = link_socket(i, &failed)) == -1) {
		open_failed(i, failed);
		return -1;
	}
	if (bind(fd, (const struct sockaddr *)&l->local, l->salen) == -1) {
		open_failed(i, "bind to the local address");
		close(fd);
		return -1;
	}
	if (loop_add_fd(fd, EPOLLIN, link_readable, (void *)(intptr_t)i) == -1) {
		open_failed(i, "event loop");
		close(fd);
		return -1;
	}
	if (ls->missing_logged || ls->reopened)
		log_info("link %d: interface %s (index %u) is back: heartbeat "
		    "socket open", i, l->ifname, ifindex);
	ls->missing_logged = ls->reopened = ls->open_failed = false;
	ls->ifindex = (int)ifindex;
	ls->heard = false;
	link_connect(i, fd);
	return fd;
}

/* Every link gets a socket or waits for its interface; -1 on other errors. */
int
link_open_all(void)
{
	int rc = 0;

	for (int i = 0; i < d.cfg.nlinks; i++)
		d.links[i].fd = d.links[i].cfd = d.links[i].owner = -1;
	for (int i = 0; i < d.cfg.nlinks; i++) {
		if ((d.links[i].fd = link_open(i)) != -1)
			continue;
		if (!d.links[i].missing_logged)
			rc = -1;
		link_down_until_reopened(i);
	}
	return rc;
}

void
link_close_all(void)
{
	loop_timer_cancel(&reopen_timer);
	for (int i = 0; i < CFG_MAX_LINKS; i++)
		loop_timer_cancel(&unstick[i].timer);
	for (int i = 0; i < d.cfg.nlinks; i++)
		link_close(i);
}

/*
 * Carrier is back: the ARP (or ND) request that our first heartbeat sent
 * may have been lost while the switch port was not forwarding yet, and the
 * kernel asks again only a second later: both nodes would think the other
 * silent. Until the peer is heard, drop an unresolved entry a few times.
 */
static void
unstick_tick(void *arg)
{
	int i = (int)(intptr_t)arg;
	const struct cfg_link *l = &d.cfg.links[i];
	const void *peer = l->family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)&l->peer)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)&l->peer)->sin6_addr;

	/* until the peer echoes us: hearing it proves nothing about our ARP */
	if (d.links[i].fd == -1 || d.links[i].acked_us ||
	    unstick[i].tries >= UNSTICK_TRIES)
		return;
	vip_neigh_unstick(d.links[i].ifindex, l->family, peer);
	loop_timer_set(&unstick[i].timer, now_ms() + (UNSTICK_MS <<
	    unstick[i].tries++), unstick_tick, arg);
}

/*
 * From the netlink watch: an interface of ours appeared, changed or went.
 * A socket bound to an index that is no longer the name's hears nothing and
 * fails every send: open a new one.
 */
void
link_iface_changed(const char *ifname, int ifindex, bool carrier)
{
	for (int i = 0; i < d.cfg.nlinks; i++) {
		struct link_state *ls = &d.links[i];
		unsigned now_index;

		if (strcmp(d.cfg.links[i].ifname, ifname) != 0)
			continue;
		now_index = if_nametoindex(ifname);
		if (ls->fd == -1 || (int)now_index != ls->ifindex) {
			if (ls->fd != -1 && now_index)
				log_warnx("link %d: interface %s was replaced "
				    "(index %d -> %u): reopening", i, ifname,
				    ls->ifindex, now_index);
			else if (ls->fd != -1)
				log_warnx("link %d: interface %s is gone: link "
				    "down until it is back", i, ifname);
			ls->reopened |= ls->fd != -1;
			link_close(i);
			if (now_index == 0 || (ls->fd = link_open(i)) == -1)
				link_down_until_reopened(i);
		}
		if (carrier != ls->carrier)
			link_forget_echoes(i);
		if (carrier && !ls->carrier) {
			unstick[i].tries = 0;
			unstick_tick((void *)(intptr_t)i);
		}
		ls->carrier = carrier;
	}
}

HOTPATH uint64_t
link_acked_at(const char *peer, uint64_t now)
{
	uint64_t acked = 0;

	for (int i = 0; i < d.cfg.nlinks; i++)
		if (link_up(i, now) && name_eq(d.links[i].peer_name, peer) &&
		    d.links[i].acked_us / 1000 > acked)
			acked = d.links[i].acked_us / 1000;
	return acked;
}

/* Say when a link falls silent; the others may still carry the peer. */
HOTPATH void
link_check(uint64_t now)
{
	int up = 0;

	for (int i = 0; i < d.cfg.nlinks; i++)
		up += link_up(i, now);
	for (int i = 0; i < d.cfg.nlinks; i++) {
		if (d.links[i].was_up && !link_up(i, now)) {
			d.links[i].was_up = false;
			if (up)
				log_warnx("link %d (%s): peer silent; %d other "
				    "link(s) still up, no failover", i,
				    d.cfg.links[i].ifname, up);
			else
				log_warnx("link %d (%s): peer silent",
				    i, d.cfg.links[i].ifname);
		}
	}
}

HOTPATH bool
link_all_named(void)
{
	/* accepted, not merely authentic: role.c has heard that node */
	for (int i = 0; i < d.cfg.nlinks; i++)
		if (!d.links[i].peer_name[0] || d.links[i].received == 0)
			return false;
	return true;
}

HOTPATH bool
link_any_open(void)
{
	for (int i = 0; i < d.cfg.nlinks; i++)
		if (d.links[i].fd != -1)
			return true;
	return false;
}

HOTPATH bool
link_up(int i, uint64_t now)
{
	const struct link_state *ls = &d.links[i];

	return ls->heard && now - ls->heard_at <
	    (ls->hold_ms > d.cfg.dead_ms ? ls->hold_ms : d.cfg.dead_ms);
}

_Static_assert(sizeof(d.cfg.node_name) == PROTO_NAME_LEN, "copied whole");

/*
 * Through the connected socket if there is one. Its next send fails, and
 * sends nothing, with an ICMP error (true or forged) that an earlier
 * datagram met, told once: a failed send is made once more.
 */
HOTPATH static ssize_t
link_transmit(int i, const void *buf, size_t len, uint64_t now)
{
	const struct cfg_link *l = &d.cfg.links[i];
	struct link_state *ls = &d.links[i];
	ssize_t n;

	if (ls->cfd != -1) {
		if ((n = send(ls->cfd, buf, len, 0)) == -1)
			n = send(ls->cfd, buf, len, 0);
		return n;
	}
	n = sendto(ls->fd, buf, len, 0, (const struct sockaddr *)&l->peer,
	    l->salen);
	if (n != -1 && now >= ls->connect_at)
		link_connect(i, ls->fd);
	return n;
}

HOTPATH static void
link_send(int i, const struct msg *body, const char (*to)[PROTO_NAME_LEN])
{
	const struct cfg_link *l = &d.cfg.links[i];
	struct link_state *ls = &d.links[i];
	struct msg m;
	uint8_t buf[PROTO_MAX_LEN];
	uint64_t t = now_us();
	size_t len;

	/* what to say is the role's (its records, not all 32); the rest is
	   this link's */
	memcpy(&m, body, offsetof(struct msg, groups) +
	    sizeof(m.groups[0]) * (size_t)body->ngroups);
	m.type = PROTO_T_HEARTBEAT;
	m.cluster_id = (uint16_t)d.cfg.cluster_id;
	m.epoch = d.epoch;
	m.seq = ++d.seq;
	m.echo_epoch = ls->peer_epoch;
	/* a handover or stop is meant for one peer: tell it, not the others */
	for (int k = 0; to && m.version >= 2 && ls->peer_name[0] &&
	    k < m.ngroups; k++)
		if (to[k][0] && name_eq(to[k], ls->peer_name))
			m.groups[k].xflags |= PROTO_X_TARGET;
	m.tx_time_us = t;
	m.echo_time_us = m.echo_delay_us = 0;
	if (ls->peer_tx_us) {
		m.echo_time_us = ls->peer_tx_us;
		m.echo_delay_us = (uint32_t)(t - ls->peer_rx_us);
	}
	m.link_id = (uint8_t)i;
	memcpy(m.name, d.cfg.node_name, sizeof(m.name));
	if ((len = proto_encode(&m, d.auth, buf, sizeof(buf))) == 0)
		fatalx("proto_encode");
	if (link_transmit(i, buf, len, t / 1000) == -1) {
		link_forget_echoes(i);
		/* bound to an interface that is gone: wait for its successor */
		if (errno == ENODEV) {
			ls->reopened = true;
			link_down_until_reopened(i);
		}
		/* a cut link fails every send: say so once per period */
		d.cnt.send_errors++;
		ls->send_errors++;
		if (ls->send_err_logged == 0 ||
		    now_ms() - ls->send_err_logged >= DROP_LOG_MS) {
			log_warn("link %d (%s): send (%llu failed sends so far)", i,
			    l->ifname, (unsigned long long)d.cnt.send_errors);
			ls->send_err_logged = now_ms();
		}
		return;
	}
	d.cnt.sent++;
	ls->sent++;
}

HOTPATH void
link_send_all(const struct msg *body, const char (*to)[PROTO_NAME_LEN])
{
	for (int i = 0; i < d.cfg.nlinks; i++)
		if (d.links[i].fd != -1)
			link_send(i, body, to);
}
