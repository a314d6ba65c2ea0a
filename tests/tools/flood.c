/*
 * flood: send bounded bursts of hostile UDP datagrams at a heartbeat port,
 * for failoverd's adversarial tests. IPv4 only; run inside a test namespace.
 *
 *   flood -d DST [-p PORT] [-s SRC] [-m random|header|zero] [-l MIN] [-L MAX]
 *         [-c CLUSTER] [-V VERSION] [-r PPS] [-t SECONDS] [-n COUNT]
 *
 * Without -s an ordinary UDP socket sends from the namespace's own address.
 * With -s the source address is spoofed through a raw socket (IP_HDRINCL,
 * needs root); datagrams longer than one 1500-byte frame are then sent as
 * IP fragments, so that even a 65507-byte payload arrives whole.
 *
 * Payloads: "random" bytes, "zero" bytes, or "header": a plausible header
 * (magic "FOVD", version, type 1, cluster id) followed by random bytes, so
 * that the receiver has to compute and compare an HMAC before it drops it.
 * Lengths are drawn uniformly from [MIN, MAX].
 *
 * Sending stops at COUNT datagrams or after SECONDS, whichever comes first;
 * both are capped. The rate is kept by sending, every millisecond, what is
 * due since the start. One JSON line on stdout sums it up.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAYLOAD	65507		/* 65535 - IPv4 header - UDP header */
#define MAX_COUNT	10000000ULL
#define MAX_SECONDS	120
#define MAX_RATE	1000000
#define BATCH		64		/* datagrams per sendmmsg() */
#define FRAG_DATA	1480		/* IP payload per fragment: 1500 - 20 */
#define MAX_FRAGS	((MAX_PAYLOAD + 8 + FRAG_DATA - 1) / FRAG_DATA)

enum mode { M_RANDOM, M_HEADER, M_ZERO };

struct opts {
	struct in_addr	dst, src;
	int		spoof;
	unsigned	port;
	enum mode	mode;
	size_t		minlen, maxlen;
	unsigned	cluster, version;
	unsigned long	rate;
	double		seconds;
	unsigned long long count;
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next_random(void)
{
	/* xorshift64*: fast and good enough for garbage */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static void
fill_random(uint8_t *p, size_t n)
{
	uint64_t r;

	for (size_t i = 0; i < n; i += 8) {
		r = next_random();
		memcpy(p + i, &r, n - i < 8 ? n - i : 8);
	}
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static __attribute__((noreturn)) void
usage(const char *why)
{
	if (why)
		fprintf(stderr, "flood: %s\n", why);
	fprintf(stderr, "usage: flood -d DST [-p PORT] [-s SRC] "
	    "[-m random|header|zero] [-l MIN] [-L MAX] [-c CLUSTER] "
	    "[-V VERSION] [-r PPS] [-t SECONDS] [-n COUNT]\n");
	exit(2);
}

static unsigned long long
number(const char *s, unsigned long long max, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v > max) {
		fprintf(stderr, "flood: bad %s %s (at most %llu)\n", what, s, max);
		exit(2);
	}
	return v;
}

static void
parse(int argc, char **argv, struct opts *o)
{
	int ch;
	char *end;

	memset(o, 0, sizeof(*o));
	o->port = 694;
	o->minlen = o->maxlen = 128;
	o->cluster = 1;
	o->version = 1;
	o->rate = 1000;
	o->seconds = 1;
	o->count = 1000;
	while ((ch = getopt(argc, argv, "d:p:s:m:l:L:c:V:r:t:n:")) != -1) {
		switch (ch) {
		case 'd':
			if (inet_pton(AF_INET, optarg, &o->dst) != 1)
				usage("bad destination address");
			break;
		case 's':
			if (inet_pton(AF_INET, optarg, &o->src) != 1)
				usage("bad source address");
			o->spoof = 1;
			break;
		case 'p':
			o->port = (unsigned)number(optarg, 65535, "port");
			break;
		case 'm':
			if (strcmp(optarg, "random") == 0)
				o->mode = M_RANDOM;
			else if (strcmp(optarg, "header") == 0)
				o->mode = M_HEADER;
			else if (strcmp(optarg, "zero") == 0)
				o->mode = M_ZERO;
			else
				usage("bad mode");
			break;
		case 'l':
			o->minlen = (size_t)number(optarg, MAX_PAYLOAD, "length");
			break;
		case 'L':
			o->maxlen = (size_t)number(optarg, MAX_PAYLOAD, "length");
			break;
		case 'c':
			o->cluster = (unsigned)number(optarg, 65535, "cluster id");
			break;
		case 'V':
			o->version = (unsigned)number(optarg, 255, "version");
			break;
		case 'r':
			o->rate = (unsigned long)number(optarg, MAX_RATE, "rate");
			break;
		case 't':
			o->seconds = strtod(optarg, &end);
			if (*end != '\0' || !(o->seconds > 0) ||
			    o->seconds > MAX_SECONDS)
				usage("bad duration");
			break;
		case 'n':
			o->count = number(optarg, MAX_COUNT, "count");
			break;
		default:
			usage(NULL);
		}
	}
	if (optind != argc || o->dst.s_addr == 0)
		usage(NULL);
	if (o->minlen > o->maxlen)
		o->maxlen = o->minlen;
	if (o->rate == 0 || o->count == 0)
		usage("rate and count must be positive");
}

static size_t
make_payload(const struct opts *o, uint8_t *p)
{
	size_t n = o->minlen;

	if (o->maxlen > o->minlen)
		n += next_random() % (o->maxlen - o->minlen + 1);
	if (o->mode == M_ZERO)
		memset(p, 0, n);
	else
		fill_random(p, n);
	if (o->mode == M_HEADER) {
		/* magic, version, type, cluster id: whatever fits */
		uint8_t h[8] = { 'F', 'O', 'V', 'D', (uint8_t)o->version, 1,
		    (uint8_t)(o->cluster >> 8), (uint8_t)o->cluster };

		memcpy(p, h, n < sizeof(h) ? n : sizeof(h));
	}
	return n;
}

/*
 * One datagram as raw IPv4 packets (one, or fragments). The kernel fills
 * in the header checksum and total length; the IP id is ours so that the
 * fragments of one datagram share it. UDP checksum 0: none (IPv4 allows).
 */
static int
raw_packets(const struct opts *o, const uint8_t *payload, size_t len,
    uint8_t pkts[][20 + FRAG_DATA], size_t *lens)
{
	uint8_t udp[8 + MAX_PAYLOAD];
	size_t total = 8 + len, off = 0;
	uint16_t id = (uint16_t)(next_random() | 1);
	int n = 0;

	udp[0] = (uint8_t)(o->port >> 8);
	udp[1] = (uint8_t)o->port;
	udp[2] = (uint8_t)(o->port >> 8);
	udp[3] = (uint8_t)o->port;
	udp[4] = (uint8_t)(total >> 8);
	udp[5] = (uint8_t)total;
	udp[6] = udp[7] = 0;
	memcpy(udp + 8, payload, len);
	do {
		size_t chunk = total - off > FRAG_DATA ? FRAG_DATA : total - off;
		int more = off + chunk < total;
		struct iphdr *ip = (struct iphdr *)pkts[n];

		memset(ip, 0, sizeof(*ip));
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->id = htons(id);
		ip->frag_off = htons((uint16_t)((more ? IP_MF : 0) | off / 8));
		if (total <= FRAG_DATA)
			ip->frag_off = htons(IP_DF);
		ip->saddr = o->src.s_addr;
		ip->daddr = o->dst.s_addr;
		ip->tot_len = htons((uint16_t)(20 + chunk));
		memcpy(pkts[n] + 20, udp + off, chunk);
		lens[n++] = 20 + chunk;
		off += chunk;
	} while (off < total);
	return n;
}

/*
 * Prepare up to k datagrams in msgs; returns how many messages (packets)
 * to pass to sendmmsg(), and in *k how many datagrams they carry.
 */
static int
fill_batch(const struct opts *o, struct sockaddr_in *to, struct mmsghdr *msgs,
    struct iovec *iov, int *k)
{
	static uint8_t dgrams[BATCH][MAX_PAYLOAD];
	static uint8_t pkts[BATCH > MAX_FRAGS ? BATCH : MAX_FRAGS][20 + FRAG_DATA];
	size_t lens[MAX_FRAGS], len;
	int n = 0;

	/* a fragmented datagram goes alone, so that it is all or nothing */
	if (o->spoof && o->maxlen + 8 > FRAG_DATA)
		*k = 1;
	for (int i = 0; i < *k; i++) {
		len = make_payload(o, dgrams[i]);
		if (o->spoof) {
			int nf = raw_packets(o, dgrams[i], len, pkts + n, lens);

			for (int f = 0; f < nf; f++) {
				iov[n + f].iov_base = pkts[n + f];
				iov[n + f].iov_len = lens[f];
			}
			n += nf;
		} else {
			iov[n].iov_base = dgrams[i];
			iov[n].iov_len = len;
			n++;
		}
	}
	memset(msgs, 0, sizeof(*msgs) * (size_t)n);
	for (int i = 0; i < n; i++) {
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		if (o->spoof) {
			msgs[i].msg_hdr.msg_name = to;
			msgs[i].msg_hdr.msg_namelen = sizeof(*to);
		}
	}
	return n;
}

int
main(int argc, char **argv)
{
	struct mmsghdr msgs[BATCH > MAX_FRAGS ? BATCH : MAX_FRAGS];
	struct iovec iov[BATCH > MAX_FRAGS ? BATCH : MAX_FRAGS];
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct timespec tick;
	struct opts o;
	unsigned long long sent = 0, errors = 0, due, want;
	double start, elapsed;
	int fd, on = 1, n, k, r, last_errno = 0;

	parse(argc, argv, &o);
	rng ^= (uint64_t)getpid() << 17 ^ (uint64_t)time(NULL);
	to.sin_addr = o.dst;
	to.sin_port = htons((uint16_t)o.port);
	if (o.spoof) {
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
		if (fd == -1 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &on,
		    sizeof(on)) == -1) {
			perror("flood: raw socket");
			return 1;
		}
		to.sin_port = 0;
	} else {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd == -1 || connect(fd, (struct sockaddr *)&to,
		    sizeof(to)) == -1) {
			perror("flood: udp socket");
			return 1;
		}
	}

	start = now_s();
	clock_gettime(CLOCK_MONOTONIC, &tick);
	for (;;) {
		elapsed = now_s() - start;
		if (elapsed >= o.seconds || sent + errors >= o.count)
			break;
		due = (unsigned long long)(elapsed * (double)o.rate) + 1;
		if (due > o.count)
			due = o.count;
		/* behind the rate: catch up, but never past the deadline */
		while (sent + errors < due && now_s() - start < o.seconds) {
			want = due - sent - errors;
			k = want > BATCH ? BATCH : (int)want;
			n = fill_batch(&o, &to, msgs, iov, &k);
			r = sendmmsg(fd, msgs, (unsigned)n, 0);
			if (r == n) {
				sent += (unsigned long long)k;
				continue;
			}
			/* a full queue or no neighbour yet: count, retry next tick */
			last_errno = r == -1 ? errno : EAGAIN;
			errors += (unsigned long long)k;
			break;
		}
		tick.tv_nsec += 1000000;
		if (tick.tv_nsec >= 1000000000) {
			tick.tv_sec++;
			tick.tv_nsec -= 1000000000;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &tick, NULL);
	}
	elapsed = now_s() - start;
	printf("{\"sent\":%llu,\"errors\":%llu,\"seconds\":%.3f,\"pps\":%.0f,"
	    "\"last_error\":\"%s\"}\n", sent, errors, elapsed,
	    elapsed > 0 ? (double)sent / elapsed : 0.0,
	    last_errno ? strerror(last_errno) : "");
	close(fd);
	return 0;
}
