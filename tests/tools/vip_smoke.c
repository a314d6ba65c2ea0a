/*
 * vip_smoke: drives daemon/vip.c and daemon/announce.c against the real
 * kernel, for tests/tools/vip_smoke.sh (root, inside a network namespace).
 *
 *	vip_smoke -i IFNAME [-l LEASE_S] [-L LABEL] [-r REFRESH_MS] ADDR/PLEN...
 *
 * Commands on stdin, one a line; answers and netlink events on stdout:
 *	add | del | present | announce		each VIP: "CMD ADDR/PLEN RESULT"
 *	refresh on|off				vip_add every REFRESH_MS
 *	carrier [IFNAME]			"carrier IF N ifindex M"
 *	bench N					time N vip_present calls
 *	rcvbuf BYTES				shrink the watch socket (overrun test)
 *	quit
 * Events: "event addr_deleted ADDR/PLEN ifindex N",
 *	   "event link_changed IF ifindex N carrier 0|1".
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "announce.h"
#include "log.h"
#include "loop.h"
#include "vip.h"

static struct cfg_vip	vips[CFG_MAX_VIPS];
static int		nvips;
static char		ifname[IF_NAMESIZE];
static unsigned		lease_s = 3;
static unsigned		refresh_ms;
static struct loop_timer refresh_timer;
static bool		quit;

static void
usage(void)
{
	fprintf(stderr, "usage: vip_smoke -i IFNAME [-l LEASE_S] [-L LABEL] "
	    "[-r REFRESH_MS] ADDR/PLEN...\n");
	exit(2);
}

static int
parse_vip(const char *s, const char *label, struct cfg_vip *v)
{
	char buf[64], *slash, *end;
	long plen;

	memset(v, 0, sizeof(*v));
	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf) ||
	    (slash = strchr(buf, '/')) == NULL)
		return -1;
	*slash = '\0';
	if (inet_pton(AF_INET, buf, v->addr) == 1)
		v->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, v->addr) == 1)
		v->family = AF_INET6;
	else
		return -1;
	errno = 0;
	plen = strtol(slash + 1, &end, 10);
	if (errno || *end != '\0' || plen < 1 ||
	    plen > (v->family == AF_INET ? 32 : 128))
		return -1;
	v->prefixlen = (int)plen;
	snprintf(v->ifname, sizeof(v->ifname), "%s", ifname);
	if (v->family == AF_INET)
		snprintf(v->label, sizeof(v->label), "%s", label);
	snprintf(v->text, sizeof(v->text), "%s", s);
	return 0;
}

static void
ev_addr_deleted(void *arg, int family, const unsigned char *addr,
    int prefixlen, int ifindex)
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, buf, sizeof(buf));
	printf("event addr_deleted %s/%d ifindex %d\n", buf, prefixlen,
	    ifindex);
}

static void
ev_link_changed(void *arg, const char *name, int ifindex, bool carrier)
{
	printf("event link_changed %s ifindex %d carrier %d\n", name, ifindex,
	    carrier);
}

static void
refresh(void *arg)
{
	for (int i = 0; i < nvips; i++)
		if (vip_add(&vips[i], lease_s) == -1)
			printf("refresh %s fail\n", vips[i].text);
	loop_timer_set(&refresh_timer, now_ms() + refresh_ms, refresh, NULL);
}

static void
each_vip(const char *cmd)
{
	int rv;

	for (int i = 0; i < nvips; i++) {
		if (strcmp(cmd, "add") == 0)
			rv = vip_add(&vips[i], lease_s);
		else if (strcmp(cmd, "del") == 0)
			rv = vip_del(&vips[i]);
		else if (strcmp(cmd, "announce") == 0)
			rv = announce_vip(&vips[i]);
		else {
			printf("present %s %d\n", vips[i].text,
			    vip_present(&vips[i]));
			continue;
		}
		printf("%s %s %s\n", cmd, vips[i].text, rv == 0 ? "ok" : "fail");
	}
}

static void
bench(long n)
{
	uint64_t t0 = now_us();
	int bad = 0;

	for (long i = 0; i < n; i++)
		if (vip_present(&vips[0]) != 1)
			bad++;
	printf("bench %ld calls avg_us %llu not_present %d\n", n,
	    (unsigned long long)((now_us() - t0) / (uint64_t)(n ? n : 1)), bad);
}

static void
set_rcvbuf(int bytes)
{
	int got = 0;
	socklen_t len = sizeof(got);

	if (setsockopt(vip_watch_fd(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes,
	    sizeof(bytes)) == -1 ||
	    getsockopt(vip_watch_fd(), SOL_SOCKET, SO_RCVBUF, &got, &len) == -1)
		printf("rcvbuf %d fail %s\n", bytes, strerror(errno));
	else
		printf("rcvbuf %d ok got %d\n", bytes, got);
}

static void
command(char *line)
{
	char *arg = strchr(line, ' ');

	if (arg)
		*arg++ = '\0';
	if (strcmp(line, "add") == 0 || strcmp(line, "del") == 0 ||
	    strcmp(line, "present") == 0 || strcmp(line, "announce") == 0)
		each_vip(line);
	else if (strcmp(line, "refresh") == 0 && arg) {
		if (strcmp(arg, "on") == 0)
			refresh(NULL);
		else
			loop_timer_cancel(&refresh_timer);
		printf("refresh %s\n", arg);
	} else if (strcmp(line, "carrier") == 0) {
		const char *name = arg ? arg : ifname;

		printf("carrier %s %d ifindex %d\n", name,
		    vip_link_carrier(name), vip_ifindex(name));
	} else if (strcmp(line, "bench") == 0 && arg)
		bench(strtol(arg, NULL, 10));
	else if (strcmp(line, "rcvbuf") == 0 && arg)
		set_rcvbuf((int)strtol(arg, NULL, 10));
	else if (strcmp(line, "quit") == 0)
		quit = true;
	else if (line[0] != '\0')
		printf("error unknown command %s\n", line);
}

static void
stdin_read(int fd, uint32_t events, void *arg)
{
	static char buf[4096];
	static size_t len;
	char *nl;
	ssize_t n;

	n = read(fd, buf + len, sizeof(buf) - 1 - len);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			quit = true;
		return;
	}
	len += n;
	buf[len] = '\0';
	while ((nl = strchr(buf, '\n')) != NULL) {
		*nl = '\0';
		command(buf);
		len -= nl + 1 - buf;
		memmove(buf, nl + 1, len + 1);
	}
	if (len == sizeof(buf) - 1)
		len = 0;	/* an absurd line: drop it */
}

static void
watch_read(int fd, uint32_t events, void *arg)
{
	vip_watch_read();
}

int
main(int argc, char **argv)
{
	struct vip_events ev = { ev_addr_deleted, ev_link_changed, NULL };
	const char *label = "";
	int ch, got = 0;
	socklen_t len = sizeof(got);

	while ((ch = getopt(argc, argv, "i:l:L:r:")) != -1) {
		switch (ch) {
		case 'i':
			snprintf(ifname, sizeof(ifname), "%s", optarg);
			break;
		case 'l':
			lease_s = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'L':
			label = optarg;
			break;
		case 'r':
			refresh_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (ifname[0] == '\0' || argc < 1 || argc > CFG_MAX_VIPS)
		usage();
	for (int i = 0; i < argc; i++)
		if (parse_vip(argv[i], label, &vips[nvips++]) == -1)
			usage();
	if (refresh_ms == 0)
		refresh_ms = lease_s ? lease_s * 1000 / 3 : 1000;

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init("vip_smoke", 1);
	if (loop_init() == -1)
		fatal("loop_init");
	if (vip_init(&ev) == -1 || announce_init() == -1)
		fatalx("init failed");
	if (loop_add_fd(STDIN_FILENO, EPOLLIN, stdin_read, NULL) == -1 ||
	    loop_add_fd(vip_watch_fd(), EPOLLIN, watch_read, NULL) == -1)
		fatal("loop_add_fd");
	if (getsockopt(vip_watch_fd(), SOL_SOCKET, SO_RCVBUF, &got, &len) == 0)
		printf("watch_rcvbuf %d\n", got);
	printf("ready\n");

	while (!quit)
		if (loop_run_once() == -1)
			fatal("loop");

	announce_finalise();
	vip_finalise();
	loop_finalise();
	printf("bye\n");
	return 0;
}
