/*
 * prober: measure how long an address was unreachable, as a client sees it.
 *
 *	prober [-i INTERVAL_MS] [-d DURATION_MS] [-c COUNT] [-g GRACE_MS]
 *	    [-t CSVFILE] ADDRESS
 *
 * Sends one ICMP (IPv4) or ICMPv6 echo request every interval on an
 * absolute timerfd schedule, so that the send times do not drift, and
 * matches replies by identifier, sequence and a per-run cookie in the
 * payload. Stops after COUNT probes, after DURATION_MS, or on SIGINT or
 * SIGTERM, then waits for outstanding replies: a reply later than GRACE_MS
 * (default 1000) after its request counts as lost. Prints one
 * JSON line on stdout:
 *
 *	{"sent":N,"received":N,"lost":N,"max_gap_ms":X,"downtime_ms":X,
 *	 "first_lost_seq":N,"interval_ms":N}
 *
 * Sequence numbers start at 1; first_lost_seq is 0 when nothing was lost.
 * max_gap_ms is the longest time, by send time, between two consecutive
 * answered probes, counting the run's start and end as answered (so it
 * equals the interval when nothing was lost). downtime_ms = lost * interval.
 * With -t, one CSV line per probe, no header: seq,send_ms,rtt_ms (rtt_ms
 * empty if lost; send_ms since the first probe).
 *
 * Uses raw sockets: needs root or CAP_NET_RAW. Prints "prober: ready ..."
 * on stderr just before the first probe, for scripts that wait for it.
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <linux/icmp.h>

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_DURATION_MS	(10 * 60 * 1000)
#define DEFAULT_GRACE_MS 1000
#define PAYLOAD_LEN	32	/* cookie(8) seq(8) padding */
#define PKT_MAX		2048

struct probe {
	double		send_ms;	/* since start */
	double		rtt_ms;		/* < 0: no reply (yet) */
};

struct prober {
	int		 family;
	int		 sock;
	struct sockaddr_storage dst;
	socklen_t	 dstlen;
	uint16_t	 ident;
	uint64_t	 cookie;
	unsigned	 interval_ms;
	unsigned	 grace_ms;
	struct timespec	 start;
	struct probe	*probes;
	uint64_t	 max;		/* probes we may send */
	uint64_t	 sent;
	uint64_t	 received;
	uint64_t	 settled;	/* probes before this one are answered or late */
};

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: prober [-i interval_ms] [-d duration_ms] "
	    "[-c count] [-g grace_ms] [-t csvfile] address\n");
	exit(2);
}

static unsigned long
number(const char *s, const char *what, unsigned long min, unsigned long max)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || *s == '-' ||
	    v < min || v > max) {
		fprintf(stderr, "prober: %s must be a number in %lu..%lu: %s\n",
		    what, min, max, s);
		exit(2);
	}
	return v;
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1e3 +
	    (now.tv_nsec - t0->tv_nsec) / 1e6;
}

static uint16_t
inet_cksum(const void *data, size_t len)
{
	const uint8_t	*p = data;
	uint32_t	 sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static void
put64(uint8_t *p, uint64_t v)
{
	int	i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int
open_socket(struct prober *pr)
{
	int	s, rcvbuf = 1 << 20;

	if (pr->family == AF_INET) {
		struct icmp_filter filt;

		s = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    IPPROTO_ICMP);
		if (s == -1)
			return -1;
		/* Bits set are dropped: keep only echo replies. */
		filt.data = ~(1U << ICMP_ECHOREPLY);
		if (setsockopt(s, SOL_RAW, ICMP_FILTER, &filt,
		    sizeof(filt)) == -1)
			goto fail;
	} else {
		struct icmp6_filter filt;

		s = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    IPPROTO_ICMPV6);
		if (s == -1)
			return -1;
		ICMP6_FILTER_SETBLOCKALL(&filt);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filt);
		if (setsockopt(s, IPPROTO_ICMPV6, ICMP6_FILTER, &filt,
		    sizeof(filt)) == -1)
			goto fail;
	}
	/* Best effort: a burst of late replies must not overflow the queue. */
	(void)setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return s;
fail:
	close(s);
	return -1;
}

static void
send_probe(struct prober *pr)
{
	uint8_t		 pkt[8 + PAYLOAD_LEN];
	uint64_t	 seq = ++pr->sent;
	struct probe	*p = &pr->probes[seq - 1];

	memset(pkt, 0, sizeof(pkt));
	pkt[0] = pr->family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	pkt[4] = pr->ident >> 8;
	pkt[5] = pr->ident & 0xff;
	pkt[6] = (seq >> 8) & 0xff;
	pkt[7] = seq & 0xff;
	put64(pkt + 8, pr->cookie);
	put64(pkt + 16, seq);
	/* The kernel fills in the ICMPv6 checksum (it covers a pseudo-header). */
	if (pr->family == AF_INET) {
		uint16_t ck = inet_cksum(pkt, sizeof(pkt));

		memcpy(pkt + 2, &ck, sizeof(ck));
	}
	p->send_ms = ms_since(&pr->start);
	p->rtt_ms = -1;
	/* A failed send (no route, no neighbour) is simply a lost probe. */
	(void)sendto(pr->sock, pkt, sizeof(pkt), 0,
	    (struct sockaddr *)&pr->dst, pr->dstlen);
}

/* Parse one datagram from the socket; record it if it answers one of ours. */
static void
take_reply(struct prober *pr, const uint8_t *buf, size_t len)
{
	const uint8_t	*icmp = buf;
	uint64_t	 seq;
	uint16_t	 ident;
	struct probe	*p;
	double		 rtt;

	if (pr->family == AF_INET) {
		size_t	hl;

		if (len < 20)
			return;
		hl = (size_t)(buf[0] & 0x0f) * 4;
		if (hl < 20 || len < hl)
			return;
		icmp = buf + hl;
		len -= hl;
		if (len < 8 + PAYLOAD_LEN || icmp[0] != ICMP_ECHOREPLY)
			return;
	} else if (len < 8 + PAYLOAD_LEN || icmp[0] != ICMP6_ECHO_REPLY)
		return;
	ident = (uint16_t)(icmp[4] << 8 | icmp[5]);
	if (ident != pr->ident || get64(icmp + 8) != pr->cookie)
		return;
	seq = get64(icmp + 16);
	if (seq == 0 || seq > pr->sent || (icmp[6] << 8 | icmp[7]) !=
	    (int)(seq & 0xffff))
		return;
	p = &pr->probes[seq - 1];
	if (p->rtt_ms >= 0)
		return;		/* duplicate */
	rtt = ms_since(&pr->start) - p->send_ms;
	if (rtt > pr->grace_ms)
		return;		/* too late: counts as lost */
	p->rtt_ms = rtt;
	pr->received++;
}

/* True once every probe is answered or older than the grace period. */
static bool
all_settled(struct prober *pr)
{
	double	now = ms_since(&pr->start);

	while (pr->settled < pr->sent) {
		const struct probe *p = &pr->probes[pr->settled];

		if (p->rtt_ms < 0 && now - p->send_ms <= pr->grace_ms)
			return false;
		pr->settled++;
	}
	return true;
}

static void
drain(struct prober *pr)
{
	uint8_t		buf[PKT_MAX];
	ssize_t		n;
	int		i;

	/* Bounded, so that a flood cannot starve the send schedule. */
	for (i = 0; i < 256; i++) {
		n = recv(pr->sock, buf, sizeof(buf), 0);
		if (n == -1)
			return;
		take_reply(pr, buf, (size_t)n);
	}
}

static int
write_csv(const struct prober *pr, FILE *f)
{
	uint64_t	 i;

	for (i = 0; i < pr->sent; i++) {
		const struct probe *p = &pr->probes[i];

		if (p->rtt_ms >= 0)
			fprintf(f, "%" PRIu64 ",%.3f,%.3f\n", i + 1,
			    p->send_ms, p->rtt_ms);
		else
			fprintf(f, "%" PRIu64 ",%.3f,\n", i + 1, p->send_ms);
	}
	return fclose(f);
}

static void
report(const struct prober *pr)
{
	double		 prev = -(double)pr->interval_ms, gap, max_gap = 0;
	uint64_t	 i, first_lost = 0;

	for (i = 0; i < pr->sent; i++) {
		const struct probe *p = &pr->probes[i];

		if (p->rtt_ms < 0) {
			if (first_lost == 0)
				first_lost = i + 1;
			continue;
		}
		if ((gap = p->send_ms - prev) > max_gap)
			max_gap = gap;
		prev = p->send_ms;
	}
	/* The end of the run counts as an answer at the next slot. */
	if ((gap = (double)pr->sent * pr->interval_ms - prev) > max_gap)
		max_gap = gap;
	printf("{\"sent\":%" PRIu64 ",\"received\":%" PRIu64
	    ",\"lost\":%" PRIu64 ",\"max_gap_ms\":%.3f,\"downtime_ms\":%"
	    PRIu64 ",\"first_lost_seq\":%" PRIu64 ",\"interval_ms\":%u}\n",
	    pr->sent, pr->received, pr->sent - pr->received, max_gap,
	    (pr->sent - pr->received) * pr->interval_ms, first_lost,
	    pr->interval_ms);
	fflush(stdout);
}

static int
resolve(struct prober *pr, const char *host)
{
	struct addrinfo	 hints, *res;
	int		 error;

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST;
	hints.ai_socktype = SOCK_RAW;
	if ((error = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		fprintf(stderr, "prober: %s: %s (a numeric address is "
		    "needed)\n", host, gai_strerror(error));
		return -1;
	}
	pr->family = res->ai_family;
	memcpy(&pr->dst, res->ai_addr, res->ai_addrlen);
	pr->dstlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Send until done or stopped, then wait out the grace period for replies. */
static void
run(struct prober *pr, int tfd)
{
	struct pollfd		 pfd[2];
	struct itimerspec	 its;
	struct timespec		 ts;
	sigset_t		 empty;
	uint64_t		 ticks;
	double			 end_ms = -1, left;

	sigemptyset(&empty);
	clock_gettime(CLOCK_MONOTONIC, &pr->start);
	memset(&its, 0, sizeof(its));
	its.it_interval.tv_sec = pr->interval_ms / 1000;
	its.it_interval.tv_nsec = (long)(pr->interval_ms % 1000) * 1000000L;
	its.it_value.tv_sec = pr->start.tv_sec + its.it_interval.tv_sec;
	its.it_value.tv_nsec = pr->start.tv_nsec + its.it_interval.tv_nsec;
	if (its.it_value.tv_nsec >= 1000000000L) {
		its.it_value.tv_sec++;
		its.it_value.tv_nsec -= 1000000000L;
	}
	if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) == -1) {
		perror("prober: timerfd_settime");
		exit(1);
	}
	send_probe(pr);

	pfd[0].fd = pr->sock;
	pfd[0].events = POLLIN;
	pfd[1].fd = tfd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (end_ms < 0 && (stop_requested || pr->sent >= pr->max))
			end_ms = ms_since(&pr->start) + pr->grace_ms;
		if (end_ms >= 0) {
			if (all_settled(pr))
				break;
			/* Until the oldest unanswered probe turns late. */
			left = pr->probes[pr->settled].send_ms + pr->grace_ms -
			    ms_since(&pr->start);
			if (end_ms - ms_since(&pr->start) < left)
				left = end_ms - ms_since(&pr->start);
			if (left < 0)
				left = 0;
			ts.tv_sec = (time_t)(left / 1e3);
			ts.tv_nsec = (long)((left - ts.tv_sec * 1e3) * 1e6);
		}
		/* Signals are blocked except inside ppoll: no lost wake-up. */
		if (ppoll(pfd, end_ms < 0 ? 2 : 1, end_ms < 0 ? NULL : &ts,
		    &empty) == -1) {
			if (errno == EINTR)
				continue;
			perror("prober: ppoll");
			exit(1);
		}
		if (pfd[0].revents & POLLIN)
			drain(pr);
		if (end_ms < 0 && (pfd[1].revents & POLLIN) &&
		    read(tfd, &ticks, sizeof(ticks)) == sizeof(ticks)) {
			/* Catch up on missed slots rather than drift. */
			while (ticks-- > 0 && pr->sent < pr->max)
				send_probe(pr);
		}
	}
}

int
main(int argc, char *argv[])
{
	struct prober		 pr;
	struct sigaction	 sa;
	sigset_t		 block;
	const char		*csv = NULL;
	FILE			*csvf = NULL;
	unsigned long		 duration = 0, count = 0;
	int			 ch, tfd, ret = 0;
	char			 text[64];

	memset(&pr, 0, sizeof(pr));
	pr.interval_ms = 10;
	pr.grace_ms = DEFAULT_GRACE_MS;
	while ((ch = getopt(argc, argv, "c:d:g:i:t:")) != -1) {
		switch (ch) {
		case 'c':
			count = number(optarg, "count", 1, MAX_DURATION_MS);
			break;
		case 'd':
			duration = number(optarg, "duration (ms)", 1,
			    MAX_DURATION_MS);
			break;
		case 'g':
			pr.grace_ms = number(optarg, "grace (ms)", 1, 60000);
			break;
		case 'i':
			pr.interval_ms = number(optarg, "interval (ms)", 1,
			    60000);
			break;
		case 't':
			csv = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();

	/* Never run unbounded: at most ten minutes of probes. */
	pr.max = MAX_DURATION_MS / pr.interval_ms;
	if (duration && duration / pr.interval_ms < pr.max)
		pr.max = duration / pr.interval_ms ? duration / pr.interval_ms : 1;
	if (count) {
		if ((uint64_t)count * pr.interval_ms > MAX_DURATION_MS) {
			fprintf(stderr, "prober: %lu probes every %u ms exceed "
			    "ten minutes\n", count, pr.interval_ms);
			return 2;
		}
		if (count < pr.max)
			pr.max = count;
	}
	if (resolve(&pr, argv[optind]) == -1)
		return 2;
	/* Before probing, so that a bad path does not waste the run. */
	if (csv && (csvf = fopen(csv, "w")) == NULL) {
		perror(csv);
		return 2;
	}
	if ((pr.probes = calloc(pr.max, sizeof(*pr.probes))) == NULL) {
		perror("prober: calloc");
		return 1;
	}
	if ((pr.sock = open_socket(&pr)) == -1) {
		perror("prober: raw ICMP socket (needs root or CAP_NET_RAW)");
		return 1;
	}
	if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC)) == -1) {
		perror("prober: timerfd_create");
		return 1;
	}
	if (getrandom(&pr.cookie, sizeof(pr.cookie), 0) != sizeof(pr.cookie)) {
		perror("prober: getrandom");
		return 1;
	}
	pr.ident = (uint16_t)(getpid() ^ (pr.cookie >> 48));

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (getnameinfo((struct sockaddr *)&pr.dst, pr.dstlen, text,
	    sizeof(text), NULL, 0, NI_NUMERICHOST) != 0)
		strcpy(text, "?");
	fprintf(stderr, "prober: ready: %s every %u ms, at most %" PRIu64
	    " probes\n", text, pr.interval_ms, pr.max);
	fflush(stderr);

	run(&pr, tfd);
	report(&pr);
	if (csvf && write_csv(&pr, csvf) != 0) {
		perror(csv);
		ret = 1;
	}
	free(pr.probes);
	return ret;
}
