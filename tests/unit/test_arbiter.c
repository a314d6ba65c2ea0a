/*
 * The arbiter (arbiter.c) driven by a local event loop. Disabled and
 * misconfigured arbiters need no privileges. The rest needs root: it moves
 * the test into a new, anonymous network namespace (gone when the test
 * exits) with lo and a veth pair, pings 127.0.0.1 and ::1 (which answer) or
 * addresses nobody has, and silences the arbiter's own requests with an
 * nftables rule where a test needs rounds without a reply; it is skipped
 * when not root. Both kinds of socket: raw, then ping sockets.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <linux/capability.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arbiter.h"
#include "log.h"
#include "loop.h"
#include "unit.h"
#include "unit_sandbox.h"

#define count unit_count

static bool
never(void *arg)
{
	return false;
}

/* ---- verdicts and replies ---- */

static struct arb_event {
	bool			reachable;
	uint64_t		ms;
	struct arbiter_info	info;		/* as arbiter_get() says then */
} arb_events[16];
static int narb_events;
static int nreplies;			/* arbiter_on_reply() callbacks */
static char calls[64];			/* 'v' verdict, 'r' reply, in order */
static size_t ncalls;

static void
call_seen(char c)
{
	if (ncalls + 1 < sizeof(calls)) {
		calls[ncalls++] = c;
		calls[ncalls] = '\0';
	}
}

static void
calls_reset(void)
{
	narb_events = 0;
	nreplies = 0;
	ncalls = 0;
	calls[0] = '\0';
}

static void
arb_event(void *arg, bool reachable)
{
	struct arbiter_info info;

	if (narb_events == (int)(sizeof(arb_events) / sizeof(arb_events[0])))
		fatalx("too many arbiter events");
	arbiter_get(&info);
	arb_events[narb_events++] = (struct arb_event){ reachable, now_ms(),
	    info };
	call_seen('v');
	/* reported with the verdict already in place */
	CHECK_EQ(info.reachable, reachable);
}

static void
arb_reply(void *arg)
{
	nreplies++;
	call_seen('r');
}

/* arbiter_init() with both callbacks, counting afresh */
static void
arb_start(const struct config *cfg)
{
	calls_reset();
	CHECK_EQ(arbiter_init(cfg, arb_event, NULL), 0);
	arbiter_on_reply(arb_reply, NULL);
}

static bool
arb_events_at_least(void *arg)
{
	return narb_events >= *(int *)arg;
}

static bool
replies_at_least(void *arg)
{
	return nreplies >= *(int *)arg;
}

static bool
misses_at_least(void *arg)
{
	struct arbiter_info info;

	arbiter_get(&info);
	return info.misses >= *(unsigned *)arg;
}

static bool
replied_since_miss(void *arg)
{
	struct arbiter_info info;

	arbiter_get(&info);
	return info.misses == 0 && info.last_reply_ms > 0;
}

static void
test_arbiter_disabled(void)
{
	struct config cfg = { .narbiter = 0, .arbiter_interval_ms = 50,
	    .arbiter_fail_after = 3 };
	struct arbiter_info info = { .enabled = true };

	CHECK_EQ(arbiter_init(&cfg, arb_event, NULL), 0);
	arbiter_on_reply(arb_reply, NULL);
	arbiter_get(&info);
	CHECK(!info.enabled);
	arbiter_probe();		/* nothing to ping: nothing happens */
	unit_run_until(never, NULL, 100);
	CHECK_EQ(narb_events, 0);
	CHECK_EQ(nreplies, 0);
	arbiter_finalise();
}

/* a target that is no address: -1 and nothing runs (config.c says so first) */
static void
test_arbiter_bad_target(void)
{
	struct config cfg = { .narbiter = 2, .arbiter_interval_ms = 50,
	    .arbiter_fail_after = 3 };
	struct arbiter_info info;
	char *log;

	snprintf(cfg.arbiter_ping[0], sizeof(cfg.arbiter_ping[0]), "127.0.0.1");
	snprintf(cfg.arbiter_ping[1], sizeof(cfg.arbiter_ping[1]), "gateway");
	calls_reset();
	unit_capture_start("bad_target.log");
	errno = 0;
	CHECK_EQ(arbiter_init(&cfg, arb_event, NULL), -1);
	CHECK_EQ(errno, EINVAL);
	log = unit_capture_stop("bad_target.log");
	CHECK_EQ(count(log, "arbiter: gateway is not an IP address\n"), 1);
	CHECK_EQ(count(log, "pinging"), 0);
	free(log);
	arbiter_get(&info);
	CHECK(!info.enabled);
	arbiter_probe();
	unit_run_until(never, NULL, 100);
	CHECK_EQ(narb_events, 0);
	arbiter_finalise();
}

static void
arb_cfg(struct config *cfg, const char *a, const char *b)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->arbiter_interval_ms = 50;
	cfg->arbiter_fail_after = 3;
	snprintf(cfg->arbiter_ping[cfg->narbiter++], 64, "%s", a);
	if (b)
		snprintf(cfg->arbiter_ping[cfg->narbiter++], 64, "%s", b);
}

static int
sh(const char *cmd)
{
	int r = system(cmd);

	if (r != 0)
		fprintf(stderr, "test_arbiter: '%s' failed (%d)\n", cmd, r);
	return r;
}

/* targets that answer: reachable throughout */
static void
arbiter_reachable(const char *mode)
{
	struct arbiter_info info;
	struct config cfg;
	char want[64], *log;

	arb_cfg(&cfg, "127.0.0.1", "::1");
	narb_events = 0;
	unit_capture_start("arbiter.log");
	CHECK_EQ(arbiter_init(&cfg, arb_event, NULL), 0);
	unit_run_until(never, NULL, 500);
	arbiter_get(&info);
	log = unit_capture_stop("arbiter.log");
	snprintf(want, sizeof(want), "every 50 ms (%s)", mode);
	CHECK(strstr(log, want) != NULL);
	free(log);
	CHECK(info.enabled);
	CHECK(info.reachable);
	CHECK_EQ(info.misses, 0);
	CHECK(info.last_reply_ms > 0);
	CHECK(now_ms() - info.last_reply_ms < 200);
	CHECK_EQ(narb_events, 0);
	arbiter_finalise();
	arbiter_get(&info);
	CHECK(!info.enabled);
}

/* nobody has the targets: unreachable after 3 rounds; back with a reply */
static void
arbiter_unreachable(const char *t4, const char *t6)
{
	struct arbiter_info info;
	struct config cfg;
	char cmd[128];
	uint64_t start;
	int want = 1;

	arb_cfg(&cfg, t4, t6);
	narb_events = 0;
	start = now_ms();
	CHECK_EQ(arbiter_init(&cfg, arb_event, NULL), 0);
	CHECK(unit_run_until(arb_events_at_least, &want, 3000));
	CHECK(!arb_events[0].reachable);
	CHECK(arb_events[0].ms - start >= 140);
	CHECK(arb_events[0].ms - start < 1000);
	arbiter_get(&info);
	CHECK(!info.reachable);
	CHECK(info.misses >= 3);
	CHECK_EQ(info.last_reply_ms, 0);
	unit_run_until(never, NULL, 200);
	CHECK_EQ(narb_events, 1);

	/* the address appears (here, as a local one): reachable again */
	snprintf(cmd, sizeof(cmd), "ip addr add %s/24 dev fodarb1", t4);
	CHECK_EQ(sh(cmd), 0);
	want = 2;
	CHECK(unit_run_until(arb_events_at_least, &want, 3000));
	CHECK(arb_events[1].reachable);
	arbiter_get(&info);
	CHECK_EQ(info.misses, 0);
	CHECK(info.last_reply_ms > 0);
	arbiter_finalise();
	snprintf(cmd, sizeof(cmd), "ip addr del %s/24 dev fodarb1", t4);
	CHECK_EQ(sh(cmd), 0);
}

/* Someone else's echo requests to the same target, from another socket. */
static struct {
	int			fd;
	uint16_t		seq;
	int			replies;
	struct loop_timer	t;
} foreign = { .fd = -1 };

static void
foreign_send(void *arg)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	unsigned char pkt[40] = { 8, 0 };	/* echo request */
	uint32_t sum = 0;

	/* seq 0, 1, 2, ... like the arbiter's; other id, longer payload */
	pkt[4] = 0x5a;
	pkt[5] = 0xa5;
	pkt[6] = foreign.seq >> 8;
	pkt[7] = foreign.seq & 0xff;
	foreign.seq = (foreign.seq + 1) % 8;
	for (size_t i = 0; i < sizeof(pkt); i += 2)
		sum += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	pkt[2] = (unsigned char)(~sum >> 8);
	pkt[3] = (unsigned char)~sum;
	(void)sendto(foreign.fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&sin,
	    sizeof(sin));
	loop_timer_set(&foreign.t, now_ms() + 5, foreign_send, NULL);
}

static void
foreign_recv(int fd, uint32_t ev, void *arg)
{
	unsigned char buf[256];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		/* IPv4 header, then an echo reply with the foreign id */
		if (n >= 28 && buf[20] == 0 && buf[24] == 0x5a &&
		    buf[25] == 0xa5)
			foreign.replies++;
}

/*
 * Replies to another program's pings of the target do not count: with our
 * own requests dropped (nftables, by length), the arbiter must give up.
 */
static void
arbiter_foreign(void)
{
	struct arbiter_info info;
	struct config cfg;
	int want = 1;

	if ((foreign.fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, IPPROTO_ICMP)) == -1)
		fatal("raw socket");
	CHECK_EQ(loop_add_fd(foreign.fd, EPOLLIN, foreign_recv, NULL), 0);
	CHECK_EQ(sh("nft add table ip fodarb && nft add chain ip fodarb out "
	    "'{ type filter hook output priority 0; }' && nft add rule ip "
	    "fodarb out icmp type echo-request ip length 36 drop"), 0);
	arb_cfg(&cfg, "127.0.0.1", NULL);
	narb_events = 0;
	foreign.replies = 0;
	foreign_send(NULL);
	CHECK_EQ(arbiter_init(&cfg, arb_event, NULL), 0);
	CHECK(unit_run_until(arb_events_at_least, &want, 3000));
	CHECK(!arb_events[0].reachable);
	CHECK(foreign.replies >= 10);
	arbiter_get(&info);
	CHECK_EQ(info.last_reply_ms, 0);

	/* our requests go out again */
	CHECK_EQ(sh("nft delete table ip fodarb"), 0);
	want = 2;
	CHECK(unit_run_until(arb_events_at_least, &want, 3000));
	CHECK(arb_events[1].reachable);
	arbiter_finalise();
	loop_timer_cancel(&foreign.t);
	loop_del_fd(foreign.fd);
	close(foreign.fd);
	foreign.fd = -1;
}

/* Our own echo requests (IPv4 header and 16 bytes) go nowhere, or again. */
static void
silence_own(bool on)
{
	if (on)
		CHECK_EQ(sh("nft add table ip fodsil && nft add chain ip fodsil "
		    "out '{ type filter hook output priority 0; }' && nft add "
		    "rule ip fodsil out icmp type echo-request ip length 36 "
		    "drop"), 0);
	else
		CHECK_EQ(sh("nft delete table ip fodsil"), 0);
}

/*
 * Misses count rounds without any reply; the fail_after-th one makes the
 * arbiter unreachable, once. Meanwhile a failing send is logged once, not
 * every round. A reload keeps the verdict; the first reply ends it, and the
 * verdict callback comes before the reply callback.
 */
static void
arbiter_misses(void)
{
	struct arbiter_info info;
	struct config cfg;
	unsigned more;
	char *log;
	int want = 1;

	arb_cfg(&cfg, "127.0.0.1", NULL);
	cfg.arbiter_fail_after = 4;
	silence_own(true);
	unit_capture_start("misses.log");
	arb_start(&cfg);
	arbiter_get(&info);
	CHECK(info.enabled);
	CHECK(info.reachable);		/* it starts reachable */
	CHECK(unit_run_until(arb_events_at_least, &want, 3000));
	CHECK(!arb_events[0].reachable);
	CHECK_EQ(arb_events[0].info.misses, 4);
	CHECK_EQ(arb_events[0].info.last_reply_ms, 0);
	/* still silent: misses go on counting, no second verdict */
	more = arb_events[0].info.misses + 3;
	CHECK(unit_run_until(misses_at_least, &more, 3000));
	log = unit_capture_stop("misses.log");
	CHECK_EQ(narb_events, 1);
	CHECK_EQ(nreplies, 0);
	CHECK_EQ(count(log, "arbiter: no reply from any target (1/4)\n"), 1);
	CHECK_EQ(count(log, "arbiter: no reply from any target (2/4)\n"), 1);
	CHECK_EQ(count(log, "arbiter: no reply from any target (3/4)\n"), 1);
	CHECK_EQ(count(log, "arbiter: no reply from any target"), 3);
	CHECK_EQ(count(log, "arbiter: none of 127.0.0.1 answered in 4 rounds: "
	    "unreachable\n"), 1);
	CHECK_EQ(count(log, "arbiter: ping 127.0.0.1: "), 1);
	free(log);

	/* a reload: still unreachable, without a callback, misses afresh */
	CHECK_EQ(arbiter_init(&cfg, arb_event, NULL), 0);
	arbiter_on_reply(arb_reply, NULL);
	arbiter_get(&info);
	CHECK(info.enabled);
	CHECK(!info.reachable);
	CHECK_EQ(info.misses, 0);
	more = 5;
	CHECK(unit_run_until(misses_at_least, &more, 3000));
	CHECK_EQ(narb_events, 1);

	/* a reply: reachable again, then the reply callback */
	unit_capture_start("misses2.log");
	silence_own(false);
	want = 2;
	CHECK(unit_run_until(arb_events_at_least, &want, 3000));
	log = unit_capture_stop("misses2.log");
	CHECK(arb_events[1].reachable);
	CHECK_EQ(arb_events[1].info.misses, 0);
	CHECK(arb_events[1].info.last_reply_ms > 0);
	CHECK_STR(calls, "vvr");	/* unreachable; reachable, then the reply */
	CHECK_EQ(count(log, "arbiter: ping 127.0.0.1: sent again\n"), 1);
	CHECK_EQ(count(log, "arbiter: reply from 127.0.0.1: reachable again\n"),
	    1);
	free(log);
	arbiter_finalise();
}

/*
 * Rounds without a reply, fewer than fail_after: reachable throughout; a
 * reply sets misses back to 0.
 */
static void
arbiter_miss_then_reply(void)
{
	struct arbiter_info info;
	struct config cfg;
	unsigned two = 2;
	char *log;

	arb_cfg(&cfg, "127.0.0.1", NULL);
	cfg.arbiter_fail_after = 1000;
	silence_own(true);
	unit_capture_start("miss_reply.log");
	arb_start(&cfg);
	CHECK(unit_run_until(misses_at_least, &two, 3000));
	arbiter_get(&info);
	CHECK(info.reachable);
	silence_own(false);
	CHECK(unit_run_until(replied_since_miss, NULL, 3000));
	log = unit_capture_stop("miss_reply.log");
	arbiter_get(&info);
	CHECK(info.reachable);
	CHECK_EQ(info.misses, 0);
	CHECK_EQ(narb_events, 0);
	CHECK(nreplies >= 1);
	CHECK_EQ(count(log, "arbiter: no reply from any target (1/1000)\n"), 1);
	CHECK_EQ(count(log, "arbiter: no reply from any target (2/1000)\n"), 1);
	CHECK_EQ(count(log, "arbiter: reply from 127.0.0.1 again\n"), 1);
	CHECK_EQ(count(log, "reachable again"), 0);
	free(log);
	arbiter_finalise();
}

/*
 * arbiter_probe() pings every target again within the round: with rounds
 * 10 s apart, each probe brings one more reply from each target, long
 * before the next round. After arbiter_finalise() the reply callback is
 * gone, also for a new arbiter_init().
 */
static void
arbiter_probe_now(void)
{
	struct arbiter_info info;
	struct config cfg;
	int want;

	arb_cfg(&cfg, "127.0.0.1", "::1");
	cfg.arbiter_interval_ms = 10000;
	arb_start(&cfg);
	want = 2;			/* the first round, at once */
	CHECK(unit_run_until(replies_at_least, &want, 3000));
	unit_run_until(never, NULL, 300);
	CHECK_EQ(nreplies, 2);		/* one per target and round */
	for (int i = 1; i <= 2; i++) {
		arbiter_probe();
		want = 2 + 2 * i;
		CHECK(unit_run_until(replies_at_least, &want, 3000));
		unit_run_until(never, NULL, 100);
		CHECK_EQ(nreplies, want);
	}
	arbiter_get(&info);
	CHECK(info.reachable);
	CHECK_EQ(info.misses, 0);
	CHECK_EQ(narb_events, 0);

	arbiter_finalise();
	CHECK_EQ(arbiter_init(&cfg, arb_event, NULL), 0);
	CHECK(unit_run_until(replied_since_miss, NULL, 3000));
	arbiter_probe();
	unit_run_until(never, NULL, 100);
	CHECK_EQ(nreplies, 6);
	arbiter_finalise();
	arbiter_probe();		/* finalised: nothing to ping */
}

/* CAP_NET_RAW off in the effective set: raw sockets fail with EPERM. */
static int
drop_net_raw(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) == -1)
		return -1;
	data[CAP_TO_INDEX(CAP_NET_RAW)].effective &= ~CAP_TO_MASK(CAP_NET_RAW);
	return (int)syscall(SYS_capset, &hdr, data);
}

static void
test_arbiter_root(void)
{
	int fd;

	if (geteuid() != 0) {
		printf("test_arbiter: tests with ICMP skipped (not "
		    "root)\n");
		return;
	}
	/* anonymous: it disappears with this process, also on a crash */
	if (unshare(CLONE_NEWNET) == -1) {
		printf("test_arbiter: tests with ICMP skipped (unshare: "
		    "%s)\n", strerror(errno));
		return;
	}
	if (sh("ip link set lo up && "
	    "ip link add fodarb0 type veth peer name fodarb1 && "
	    "ip addr add 192.0.2.1/24 dev fodarb0 && "
	    "ip -6 addr add 2001:db8::1/64 dev fodarb0 nodad && "
	    "ip link set fodarb0 up && ip link set fodarb1 up") != 0) {
		CHECK(0);
		return;
	}
	arbiter_reachable("raw socket");
	arbiter_unreachable("192.0.2.99", "2001:db8::99");
	arbiter_foreign();
	arbiter_misses();
	arbiter_miss_then_reply();
	arbiter_probe_now();

	/* ping sockets, where the echo id is the local port */
	if ((fd = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY)) == -1 ||
	    write(fd, "0 2147483647\n", 13) != 13)
		fatal("ping_group_range");
	close(fd);
	CHECK_EQ(drop_net_raw(), 0);
	CHECK_EQ(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), -1);
	arbiter_reachable("ping socket");
	arbiter_unreachable("192.0.2.98", "2001:db8::98");
	arbiter_misses();
	arbiter_probe_now();
}

int
main(void)
{
	log_init("test_arbiter", 0);
	signal(SIGPIPE, SIG_IGN);	/* as the daemon does */
	unit_sandbox_start("test_arbiter");

	test_arbiter_disabled();
	test_arbiter_bad_target();
	test_arbiter_root();

	unit_sandbox_end();
	return unit_summary("test_arbiter");
}
