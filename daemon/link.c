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
#define DROP_LOG_MS	10000	/* at most one summary of dropped input per period */

static uint64_t drops_logged_at;
static uint64_t drops_since_log;

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
	d.cnt.received++;
	daemon_peer_message(i, &m);
}

static void
link_readable(int fd, uint32_t events, void *arg)
{
	int i = (int)(intptr_t)arg;
	uint8_t buf[2048];
	struct sockaddr_storage from;
	socklen_t fromlen;
	ssize_t n;

	for (int k = 0; k < RX_BURST; k++) {
		fromlen = sizeof(from);
		memset(&from, 0, sizeof(from));
		n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC,
		    (struct sockaddr *)&from, &fromlen);
		if (n == -1) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("link %d: recvfrom", i);
			return;
		}
		/* MSG_TRUNC returns the real length: oversized stays oversized */
		link_recv_one(i, buf, (size_t)n, &from);
	}
}

static int
link_open(int i)
{
	const struct cfg_link *l = &d.cfg.links[i];
	int fd, on = 1, tos = 0xc0;	/* CS6, network control */
	int prio = 6;

	fd = socket(l->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("link %d: socket", i);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio));
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
	for (int i = 0; i < d.cfg.nlinks; i++) {
		d.links[i].fd = link_open(i);
		if (d.links[i].fd == -1)
			return -1;
	}
	return 0;
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
