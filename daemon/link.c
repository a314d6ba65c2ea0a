/*
 * Heartbeat links: one UDP socket per configured path, bound to the local
 * address and device. Receiving classifies every datagram; only authentic,
 * fresh messages from the configured peer reach main.c.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <stdio.h>

#include "failoverd.h"
#include "log.h"
#include "loop.h"
#include "proto.h"

#define RX_BURST	256	/* datagrams per wakeup; the rest waits a round */
#define RX_BATCH	64	/* datagrams per recvmmsg() */
#define RX_BUF		(PROTO_LEN + 1)	/* a longer datagram is only measured */
#define DROP_LOG_MS	10000	/* at most one summary of dropped input per period */
#define RCVBUF_BYTES	(8 << 20) /* rides out scheduling gaps under a flood */

static uint64_t drops_logged_at;
static uint64_t drops_since_log;

/* What the newest heartbeat on each link proved: see current(). */
static struct {
	uint64_t	epoch;
	uint64_t	tx_us;		/* its tx_time_us (the peer's clock) */
	uint64_t	heard;		/* ms, our clock: the peer was alive then */
} fresh[CFG_MAX_LINKS];

static bool
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

/*
 * A heartbeat proves the peer alive only as far as the peer's own clock
 * moved since the newest one heard on this link (plus an eighth, for
 * jitter and clock rates). Heartbeats withheld by someone on the path and
 * delivered late are authentic and inside the replay window, but they
 * cannot stretch the peer's life, nor speak for a peer that has died.
 */
static bool
current(int i, const struct msg *m, uint64_t now)
{
	uint64_t credit;

	if (fresh[i].epoch != m->epoch) {
		/* a new life of the peer, with a new clock */
		fresh[i].epoch = m->epoch;
		fresh[i].tx_us = m->tx_time_us;
		fresh[i].heard = now;
		return true;
	}
	if (m->tx_time_us <= fresh[i].tx_us)
		return false;	/* sent before one we already heard */
	credit = (m->tx_time_us - fresh[i].tx_us) / 1000;
	credit += credit / 8 + 1;
	fresh[i].tx_us = m->tx_time_us;
	if (fresh[i].heard + credit < now)
		fresh[i].heard += credit;
	else
		fresh[i].heard = now;
	return now - fresh[i].heard < d.cfg.dead_ms;
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

static void
link_recv_one(int i, const uint8_t *buf, size_t len,
    const struct sockaddr_storage *from)
{
	struct msg m;
	enum proto_result r;

	if (!same_addr(from, &d.cfg.links[i].peer)) {
		d.cnt.wrong_source++;
		dropped(i, "not from the configured peer");
		return;
	}
	r = proto_decode(buf, len, (uint16_t)d.cfg.cluster_id, d.auth, &m);
	switch (r) {
	case PROTO_OK:
		break;
	case PROTO_BAD_MAC:
		d.cnt.auth_failures++;
		dropped(i, proto_result_str(r));
		return;
	case PROTO_BAD_VERSION:
		d.cnt.bad_version++;
		dropped(i, proto_result_str(r));
		return;
	case PROTO_FOREIGN:
		d.cnt.foreign++;
		dropped(i, proto_result_str(r));
		return;
	default:
		d.cnt.malformed++;
		dropped(i, proto_result_str(r));
		return;
	}
	if (strcmp(m.name, d.cfg.node_name) == 0) {
		d.cnt.malformed++;
		dropped(i, "the peer uses our node name");
		return;
	}
	if (!replay_check(&d.replay, m.epoch, m.seq)) {
		d.cnt.replays++;
		dropped(i, "replayed or too old");
		return;
	}
	if (m.epoch > d.peer_epoch)
		d.peer_epoch = m.epoch;
	/* made before we started: proves nothing about the peer now */
	if (m.echo_epoch != d.epoch) {
		d.cnt.unconfirmed++;
		return;
	}
	if (!current(i, &m, now_ms())) {
		d.cnt.replays++;
		dropped(i, "late: sent before what it claims to prove");
		return;
	}
	d.cnt.received++;
	daemon_peer_message(i, &m);
}

static void
link_readable(int fd, uint32_t events, void *arg)
{
	static uint8_t bufs[RX_BATCH][RX_BUF];
	static struct sockaddr_storage from[RX_BATCH];
	struct mmsghdr msgs[RX_BATCH];
	struct iovec iov[RX_BATCH];
	int i = (int)(intptr_t)arg, n;

	/* one system call per batch: a flood costs little per datagram */
	for (int round = 0; round < RX_BURST / RX_BATCH; round++) {
		memset(msgs, 0, sizeof(msgs));
		for (int k = 0; k < RX_BATCH; k++) {
			iov[k].iov_base = bufs[k];
			iov[k].iov_len = sizeof(bufs[k]);
			msgs[k].msg_hdr.msg_name = &from[k];
			msgs[k].msg_hdr.msg_namelen = sizeof(from[k]);
			msgs[k].msg_hdr.msg_iov = &iov[k];
			msgs[k].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, msgs, RX_BATCH, MSG_TRUNC, NULL);
		if (n == -1) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("link %d: recvmmsg", i);
			return;
		}
		/*
		 * MSG_TRUNC gives the real length; a longer datagram is cut
		 * to RX_BUF, which is still oversized for the parser.
		 */
		for (int k = 0; k < n; k++)
			link_recv_one(i, bufs[k], msgs[k].msg_len > RX_BUF ?
			    RX_BUF : msgs[k].msg_len, &from[k]);
		if (n < RX_BATCH)
			return;
	}
}

static int
link_open(int i)
{
	const struct cfg_link *l = &d.cfg.links[i];
	int fd, on = 1, tos = 0xc0;	/* CS6, network control */
	int prio = 6, rcvbuf = RCVBUF_BYTES;

	fd = socket(l->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("link %d: socket", i);
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
		log_warn("link %d: bind to device %s", i, l->ifname);
		close(fd);
		return -1;
	}
	if (bind(fd, (const struct sockaddr *)&l->local, l->salen) == -1) {
		log_warn("link %d: bind to the local address on %s", i, l->ifname);
		close(fd);
		return -1;
	}
	if (loop_add_fd(fd, EPOLLIN, link_readable, (void *)(intptr_t)i) == -1) {
		log_warn("link %d: event loop", i);
		close(fd);
		return -1;
	}
	return fd;
}

int
link_open_all(void)
{
	int rc = 0;

	/* every link gets a socket or -1: a link that fails leaves the others */
	for (int i = 0; i < d.cfg.nlinks; i++)
		if ((d.links[i].fd = link_open(i)) == -1)
			rc = -1;
	return rc;
}

void
link_close_all(void)
{
	for (int i = 0; i < d.cfg.nlinks; i++) {
		if (d.links[i].fd != -1) {
			loop_del_fd(d.links[i].fd);
			close(d.links[i].fd);
			d.links[i].fd = -1;
		}
	}
}

bool
link_up(int i, uint64_t now)
{
	return d.links[i].heard && now - d.links[i].heard_at < d.cfg.dead_ms;
}

static void
link_send(int i)
{
	const struct cfg_link *l = &d.cfg.links[i];
	struct link_state *ls = &d.links[i];
	struct msg m = { 0 };
	uint8_t buf[PROTO_LEN];
	uint64_t t = now_us();

	m.version = PROTO_VERSION;
	m.type = PROTO_T_HEARTBEAT;
	m.cluster_id = (uint16_t)d.cfg.cluster_id;
	m.epoch = d.epoch;
	m.seq = ++d.seq;
	m.echo_epoch = d.peer_epoch;
	m.tx_time_us = t;
	if (ls->peer_tx_us) {
		m.echo_time_us = ls->peer_tx_us;
		m.echo_delay_us = (uint32_t)(t - ls->peer_rx_us);
	}
	m.state = (uint8_t)d.fsm.state;
	m.priority = (uint8_t)d.fsm.eff_priority;
	if (d.cfg.preempt)
		m.flags |= PROTO_F_PREEMPT;
	if (d.fsm.state == FSM_MAINTENANCE)
		m.flags |= PROTO_F_MAINTENANCE;
	if (d.fsm.handover)
		m.flags |= PROTO_F_HANDOVER;
	if (d.vips_up && fsm_holds_vips(&d.fsm))
		m.flags |= PROTO_F_HOLDS;
	if (d.fsm.eff_priority < d.cfg.priority)
		m.flags |= PROTO_F_DEGRADED;
	/* until the peer echoes one of these (see daemon_peer_message) */
	if (d.yielded_at)
		m.flags |= PROTO_F_YIELDED;
	m.link_id = (uint8_t)i;
	snprintf(m.name, sizeof(m.name), "%s", d.cfg.node_name);
	if (proto_encode(&m, d.auth, buf, sizeof(buf)) != PROTO_LEN)
		fatalx("proto_encode");
	if (sendto(ls->fd, buf, sizeof(buf), 0,
	    (const struct sockaddr *)&l->peer, l->salen) == -1) {
		/* a cut link fails every send: say so once per period */
		d.cnt.send_errors++;
		if (ls->send_err_logged == 0 ||
		    now_ms() - ls->send_err_logged >= DROP_LOG_MS) {
			log_warn("link %d (%s): send (%llu failed sends so far)", i,
			    l->ifname, (unsigned long long)d.cnt.send_errors);
			ls->send_err_logged = now_ms();
		}
		return;
	}
	d.cnt.sent++;
}

void
link_send_all(void)
{
	for (int i = 0; i < d.cfg.nlinks; i++)
		if (d.links[i].fd != -1)
			link_send(i);
}
