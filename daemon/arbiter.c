/*
 * The arbiter (design.md sections 3 and 4), as documented in arbiter.h.
 *
 * It sends one ICMP echo request to every target per round, over a raw
 * socket (or a SOCK_DGRAM ping socket without CAP_NET_RAW), and reads the
 * replies from the loop. A reply counts only with our id, the round's
 * sequence number, our random token and a target's source address.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/icmp6.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arbiter.h"
#include "log.h"
#include "loop.h"

#define ECHO_HDR	8		/* type, code, checksum, id, seq */
#define ECHO_TOKEN	8
#define ECHO_LEN	(ECHO_HDR + ECHO_TOKEN)
#define ICMP4_ECHO_REQUEST	8
#define ICMP4_ECHO_REPLY	0
#define ICMP4_FILTER_OPT	1	/* ICMP_FILTER of <linux/icmp.h> */
#define ARB_RECV_MAX	64		/* datagrams read per loop round and socket */

struct arb_target {
	int			 family;
	unsigned char		 addr[16];
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	int			 err;		/* errno of the last send; 0 = sent */
	const char		*text;
};

struct arb_sock {
	int			 fd;
	bool			 raw;		/* else a SOCK_DGRAM ping socket */
	uint16_t		 id;		/* dgram: the local port, set by the kernel */
};

static struct {
	struct arb_target	 t[CFG_MAX_ARBITER];
	int			 n;
	char			 text[CFG_MAX_ARBITER][64];
	char			 list[CFG_MAX_ARBITER * 66];
	struct arb_sock		 s4, s6;
	unsigned		 interval_ms;
	unsigned		 fail_after;
	uint16_t		 seq;
	bool			 sent;		/* a round is under way */
	bool			 replied;	/* in the current round */
	unsigned char		 token[ECHO_TOKEN];
	uint64_t		 next;
	struct loop_timer	 timer;
	arbiter_cb		 cb;
	void			*arg;
	void			(*reply_cb)(void *);
	void			*reply_arg;
	struct arbiter_info	 info;
} arb = { .s4 = { .fd = -1 }, .s6 = { .fd = -1 } };

static uint16_t
get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put16(unsigned char *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* RFC 1071; the kernel does it for ICMPv6 and for ping sockets. */
static uint16_t
inet_cksum(const unsigned char *p, size_t len)
{
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += get16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Finds an echo reply in a datagram from a ping socket (ICMP header first)
 * or a raw IPv4 socket (IPv4 header first, iphdr). 0 and *id, *seq, *data
 * (ECHO_TOKEN bytes) when it is one; -1 otherwise.
 */
static int
echo_reply_parse(const unsigned char *buf, size_t len, int family,
    bool iphdr, uint16_t *id, uint16_t *seq, const unsigned char **data)
{
	size_t hl;

	if (iphdr) {
		if (len < 20 || (buf[0] >> 4) != 4 || buf[9] != IPPROTO_ICMP)
			return -1;
		hl = (size_t)(buf[0] & 0x0f) * 4;
		if (hl < 20 || hl > len)
			return -1;
		buf += hl;
		len -= hl;
	}
	if (len < ECHO_LEN || buf[1] != 0)
		return -1;
	if (buf[0] != (family == AF_INET ? ICMP4_ECHO_REPLY : ICMP6_ECHO_REPLY))
		return -1;
	*id = get16(buf + 4);
	*seq = get16(buf + 6);
	*data = buf + ECHO_HDR;
	return 0;
}

static struct arb_target *
target_of(const struct sockaddr_storage *from)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)from;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)from;

	for (int i = 0; i < arb.n; i++) {
		struct arb_target *t = &arb.t[i];

		if (t->family != from->ss_family)
			continue;
		if (t->family == AF_INET &&
		    memcmp(&sin->sin_addr, t->addr, 4) == 0)
			return t;
		if (t->family == AF_INET6 &&
		    memcmp(&sin6->sin6_addr, t->addr, 16) == 0)
			return t;
	}
	return NULL;
}

/* false: the callback ran (it may have finalised the arbiter). */
static bool
arb_reply(const struct arb_target *t)
{
	bool ran = false;

	arb.info.last_reply_ms = now_ms();
	log_debug("arbiter: reply from %s (round %u)", t->text, arb.seq);
	if (!arb.replied && arb.info.misses > 0 && arb.info.reachable)
		log_info("arbiter: reply from %s again", t->text);
	arb.replied = true;
	arb.info.misses = 0;
	if (!arb.info.reachable) {
		arb.info.reachable = true;
		log_info("arbiter: reply from %s: reachable again", t->text);
		if (arb.cb) {
			arb.cb(arb.arg, true);
			ran = true;
		}
	}
	/* (arbiter_finalise() in the callback cleared it) */
	if (arb.reply_cb) {
		arb.reply_cb(arb.reply_arg);
		ran = true;
	}
	return !ran;
}

static void
arb_recv_cb(int fd, uint32_t events, void *arg)
{
	struct arb_sock *s = arg;
	int family = s == &arb.s4 ? AF_INET : AF_INET6;
	unsigned char buf[1500];
	const unsigned char *data;
	struct sockaddr_storage from;
	struct arb_target *t;
	socklen_t fromlen;
	uint16_t id, seq;
	ssize_t n;

	for (int i = 0; i < ARB_RECV_MAX && fd == s->fd; i++) {
		fromlen = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
		    &fromlen);
		if (n == -1) {
			if (errno != EAGAIN && errno != EINTR)
				log_debug("arbiter: recvfrom: %s",
				    strerror(errno));
			return;
		}
		if (echo_reply_parse(buf, (size_t)n, family,
		    s->raw && family == AF_INET, &id, &seq, &data) == -1)
			continue;
		/* on a raw socket, every ping of this host is seen */
		if (id != s->id || seq != arb.seq || !arb.sent ||
		    memcmp(data, arb.token, ECHO_TOKEN) != 0 ||
		    (t = target_of(&from)) == NULL)
			continue;
		if (!arb_reply(t))
			return;
	}
}

static void
arb_send(struct arb_target *t)
{
	struct arb_sock *s = t->family == AF_INET ? &arb.s4 : &arb.s6;
	unsigned char pkt[ECHO_LEN];

	memset(pkt, 0, sizeof(pkt));
	pkt[0] = t->family == AF_INET ? ICMP4_ECHO_REQUEST : ICMP6_ECHO_REQUEST;
	put16(pkt + 4, s->id);
	put16(pkt + 6, arb.seq);
	memcpy(pkt + ECHO_HDR, arb.token, ECHO_TOKEN);
	if (t->family == AF_INET && s->raw)
		put16(pkt + 2, inet_cksum(pkt, sizeof(pkt)));
	if (sendto(s->fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&t->sa,
	    t->salen) == (ssize_t)sizeof(pkt)) {
		if (t->err)
			log_info("arbiter: ping %s: sent again", t->text);
		t->err = 0;
		return;
	}
	if (errno != t->err)
		log_warn("arbiter: ping %s", t->text);
	t->err = errno;
}

static void
arb_round_cb(void *arg)
{
	uint64_t now = now_ms();
	bool lost = false;

	if (arb.sent && !arb.replied) {
		if (arb.info.misses < UINT_MAX)
			arb.info.misses++;
		if (arb.info.reachable && arb.info.misses >= arb.fail_after) {
			arb.info.reachable = false;
			lost = true;
		} else if (arb.info.reachable)
			log_warnx("arbiter: no reply from any target (%u/%u)",
			    arb.info.misses, arb.fail_after);
	}
	arb.seq++;
	arb.sent = true;
	arb.replied = false;
	for (int i = 0; i < arb.n; i++)
		arb_send(&arb.t[i]);
	arb.next += arb.interval_ms;
	if (arb.next <= now)
		arb.next = now + arb.interval_ms;
	loop_timer_set(&arb.timer, arb.next, arb_round_cb, NULL);
	if (lost) {
		log_warnx("arbiter: none of %s answered in %u rounds: "
		    "unreachable", arb.list, arb.info.misses);
		if (arb.cb)
			arb.cb(arb.arg, false);
	}
}

static void
arb_sock_close(struct arb_sock *s)
{
	if (s->fd == -1)
		return;
	loop_del_fd(s->fd);
	close(s->fd);
	s->fd = -1;
}

/* A raw socket needs CAP_NET_RAW; a ping socket net.ipv4.ping_group_range. */
static int
arb_sock_open(struct arb_sock *s, int family)
{
	int proto = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	int type = SOCK_NONBLOCK | SOCK_CLOEXEC;
	struct sockaddr_storage ss;
	socklen_t sslen;
	uint16_t rnd;

	s->raw = true;
	if ((s->fd = socket(family, SOCK_RAW | type, proto)) == -1) {
		if (errno != EPERM && errno != EACCES)
			return -1;
		s->raw = false;
		if ((s->fd = socket(family, SOCK_DGRAM | type, proto)) == -1)
			return -1;
	}
	if (s->raw && family == AF_INET) {
		/* only echo replies: bit n set drops ICMP type n */
		uint32_t filt = ~(1U << ICMP4_ECHO_REPLY);

		if (setsockopt(s->fd, SOL_RAW, ICMP4_FILTER_OPT, &filt,
		    sizeof(filt)) == -1)
			log_debug("arbiter: ICMP_FILTER: %s", strerror(errno));
	} else if (s->raw) {
		struct icmp6_filter filt;

		ICMP6_FILTER_SETBLOCKALL(&filt);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filt);
		if (setsockopt(s->fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt,
		    sizeof(filt)) == -1)
			log_debug("arbiter: ICMP6_FILTER: %s", strerror(errno));
	}
	if (s->raw) {
		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = (uint16_t)getpid();
		s->id = rnd;
	} else {
		/* the kernel picks the port, and it is the echo id on the wire */
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = family;
		sslen = family == AF_INET ? sizeof(struct sockaddr_in) :
		    sizeof(struct sockaddr_in6);
		if (bind(s->fd, (struct sockaddr *)&ss, sslen) == -1 ||
		    getsockname(s->fd, (struct sockaddr *)&ss, &sslen) == -1)
			goto fail;
		s->id = ntohs(family == AF_INET ?
		    ((struct sockaddr_in *)&ss)->sin_port :
		    ((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	if (loop_add_fd(s->fd, EPOLLIN, arb_recv_cb, s) == -1)
		goto fail;
	return 0;
fail:
	close(s->fd);
	s->fd = -1;
	return -1;
}

static int
arb_target_set(struct arb_target *t, const char *text)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&t->sa;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->sa;

	memset(t, 0, sizeof(*t));
	t->text = text;
	if (inet_pton(AF_INET, text, t->addr) == 1) {
		t->family = AF_INET;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, t->addr, 4);
		t->salen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, text, t->addr) == 1) {
		t->family = AF_INET6;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, t->addr, 16);
		t->salen = sizeof(*sin6);
	} else
		return -1;
	return 0;
}

int
arbiter_init(const struct config *cfg, arbiter_cb cb, void *arg)
{
	bool v4 = false, v6 = false;
	size_t off = 0;

	/* a reload keeps an unreachable verdict until a target answers */
	bool was_reachable = !arb.info.enabled || arb.info.reachable;

	arbiter_finalise();
	if (cfg->narbiter <= 0)
		return 0;
	arb.n = cfg->narbiter < CFG_MAX_ARBITER ? cfg->narbiter :
	    CFG_MAX_ARBITER;
	arb.list[0] = '\0';
	for (int i = 0; i < arb.n; i++) {
		snprintf(arb.text[i], sizeof(arb.text[i]), "%s",
		    cfg->arbiter_ping[i]);
		if (arb_target_set(&arb.t[i], arb.text[i]) == -1) {
			log_warnx("arbiter: %s is not an IP address",
			    arb.text[i]);
			arb.n = 0;
			errno = EINVAL;
			return -1;
		}
		v4 |= arb.t[i].family == AF_INET;
		v6 |= arb.t[i].family == AF_INET6;
		off += snprintf(arb.list + off, sizeof(arb.list) - off, "%s%s",
		    i ? ", " : "", arb.text[i]);
	}
	if ((v4 && arb_sock_open(&arb.s4, AF_INET) == -1) ||
	    (v6 && arb_sock_open(&arb.s6, AF_INET6) == -1)) {
		/* raw: CAP_NET_RAW; ping socket: net.ipv4.ping_group_range */
		log_warn("arbiter: cannot open an ICMP%s socket",
		    v6 && arb.s6.fd == -1 ? "v6" : "");
		arbiter_finalise();
		return -1;
	}
	if (getrandom(arb.token, sizeof(arb.token), 0) != sizeof(arb.token)) {
		uint64_t t = now_us() ^ (uint64_t)getpid() << 40;

		memcpy(arb.token, &t, sizeof(arb.token));
	}
	arb.interval_ms = cfg->arbiter_interval_ms ? cfg->arbiter_interval_ms :
	    500;
	arb.fail_after = cfg->arbiter_fail_after ? cfg->arbiter_fail_after : 3;
	arb.cb = cb;
	arb.arg = arg;
	arb.info = (struct arbiter_info){ .enabled = true,
	    .reachable = was_reachable };
	arb.sent = arb.replied = false;
	/* the first round from the loop, at once */
	arb.next = now_ms();
	loop_timer_set(&arb.timer, arb.next, arb_round_cb, NULL);
	log_info("arbiter: pinging %s every %u ms (%s), unreachable after %u "
	    "silent rounds", arb.list, arb.interval_ms,
	    (v4 ? arb.s4.raw : arb.s6.raw) ? "raw socket" : "ping socket",
	    arb.fail_after);
	return 0;
}

void
arbiter_finalise(void)
{
	loop_timer_cancel(&arb.timer);
	arb_sock_close(&arb.s4);
	arb_sock_close(&arb.s6);
	arb.n = 0;
	arb.cb = NULL;
	arb.reply_cb = NULL;
	arb.arg = NULL;
	arb.info = (struct arbiter_info){ 0 };
}

void
arbiter_get(struct arbiter_info *info)
{
	*info = arb.info;
}

void
arbiter_on_reply(void (*cb)(void *), void *arg)
{
	arb.reply_cb = cb;
	arb.reply_arg = arg;
}

void
arbiter_probe(void)
{
	if (arb.n == 0 || !arb.sent)
		return;		/* no round yet: the first one goes out at once */
	for (int i = 0; i < arb.n; i++)
		arb_send(&arb.t[i]);
}
