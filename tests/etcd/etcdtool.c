/*
 * etcdtool: the etcd client module (daemon/etcd.c) on the daemon's loop,
 * without the rest of the daemon, driven by commands on stdin and
 * reporting JSON lines on stdout. For tests/integration/test_etcd.py.
 *
 *   etcdtool -n NODE [-c CLUSTER_ID] [-t TTL_S] [-p PREFIX] [-s STATE_DIR]
 *            [-g ADOPT_GRACE_MS] URL...
 *
 * Commands, one per line: acquire G | takeover G FROM | release G |
 * holder G | revoke | status | ticks | quit.
 * Events: {"ev":"ready"}, {"ev":"lease",...}, {"ev":"renewed",...},
 * {"ev":"key",...}, {"ev":"status",...}, {"ev":"ticks",...},
 * {"ev":"ack","cmd":...,"rc":N}. Every event has "now", CLOCK_MONOTONIC ms
 * (Python's time.monotonic() * 1000).
 *
 * A 10 ms timer ticks all along; "ticks" reports the worst lateness of a
 * tick since the last "ticks": a blocked loop shows there.
 */
#include <sys/epoll.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "etcd.h"
#include "log.h"
#include "loop.h"

#define TICK_MS	10

static struct loop_timer tick;
static uint64_t tick_due, worst_late, nticks;
static bool quit;
static char inbuf[4096];
static size_t inlen;

static void
jstr(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void
begin(const char *ev)
{
	printf("{\"ev\":\"%s\",\"now\":%" PRIu64, ev, now_ms());
}

static void
end(void)
{
	printf("}\n");
	fflush(stdout);
}

static void
on_lease(bool valid, void *arg)
{
	begin("lease");
	printf(",\"valid\":%s,\"id\":\"%" PRId64 "\",\"ttl\":%" PRId64
	    ",\"valid_until\":%" PRIu64 ",\"adopted\":%s", valid ? "true" :
	    "false", etcd_lease_id(), etcd_lease_ttl_s(),
	    etcd_lease_valid_until_ms(), etcd_lease_adopted() ? "true" : "false");
	end();
}

static void
on_renewed(uint64_t until, void *arg)
{
	begin("renewed");
	printf(",\"valid_until\":%" PRIu64 ",\"id\":\"%" PRId64 "\"", until,
	    etcd_lease_id());
	end();
}

static void
on_key(const struct etcd_key_event *e, void *arg)
{
	begin("key");
	printf(",\"group\":");
	jstr(e->group);
	printf(",\"op\":\"%s\",\"result\":\"%s\",\"holder\":", etcd_op_name(e->op),
	    etcd_result_name(e->result));
	jstr(e->holder);
	printf(",\"holder_lease\":\"%" PRId64 "\",\"error\":", e->holder_lease);
	jstr(e->error);
	end();
}

static void
status(void)
{
	static struct etcd_status s;
	int i;

	etcd_to_status(&s, now_ms());
	begin("status");
	printf(",\"reachable\":%d,\"lease_id\":\"%" PRId64 "\",\"ttl\":%" PRId64
	    ",\"lease_ms_left\":%" PRId64 ",\"adopted\":%s,\"members\":[",
	    s.reachable, s.lease_id, s.ttl_s, s.lease_ms_left,
	    s.adopted ? "true" : "false");
	for (i = 0; i < s.nmembers; i++) {
		printf("%s{\"url\":", i ? "," : "");
		jstr(s.members[i].url);
		printf(",\"reachable\":%s,\"ok_ms_ago\":%" PRId64
		    ",\"fail_ms_ago\":%" PRId64 ",\"error\":",
		    s.members[i].reachable ? "true" : "false",
		    s.members[i].ok_ms_ago, s.members[i].fail_ms_ago);
		jstr(s.members[i].error);
		printf("}");
	}
	printf("],\"groups\":[");
	for (i = 0; i < s.ngroups; i++) {
		printf("%s{\"name\":", i ? "," : "");
		jstr(s.groups[i].name);
		printf(",\"key\":");
		jstr(s.groups[i].key);
		printf(",\"state\":\"%s\",\"holder\":",
		    etcd_result_name(s.groups[i].state));
		jstr(s.groups[i].holder);
		printf(",\"seen_ms_ago\":%" PRId64 "}", s.groups[i].seen_ms_ago);
	}
	printf("]");
	end();
}

static void
ack(const char *cmd, int rc)
{
	begin("ack");
	printf(",\"cmd\":");
	jstr(cmd);
	printf(",\"rc\":%d", rc);
	end();
}

static void
command(char *line)
{
	char *argv[4] = { 0 };
	int argc = 0, rc = -1;
	char *save = NULL, *w;

	for (w = strtok_r(line, " \t\r", &save); w && argc < 4;
	    w = strtok_r(NULL, " \t\r", &save))
		argv[argc++] = w;
	if (argc == 0)
		return;
	if (strcmp(argv[0], "acquire") == 0 && argc == 2)
		rc = etcd_acquire(argv[1]);
	else if (strcmp(argv[0], "takeover") == 0 && argc == 3)
		rc = etcd_takeover(argv[1], argv[2]);
	else if (strcmp(argv[0], "release") == 0 && argc == 2)
		rc = etcd_release(argv[1]);
	else if (strcmp(argv[0], "holder") == 0 && argc == 2)
		rc = etcd_holder(argv[1]);
	else if (strcmp(argv[0], "revoke") == 0)
		rc = etcd_revoke();
	else if (strcmp(argv[0], "status") == 0) {
		status();
		rc = 0;
	} else if (strcmp(argv[0], "ticks") == 0) {
		begin("ticks");
		printf(",\"worst_late_ms\":%" PRIu64 ",\"count\":%" PRIu64,
		    worst_late, nticks);
		end();
		worst_late = nticks = 0;
		rc = 0;
	} else if (strcmp(argv[0], "quit") == 0) {
		quit = true;
		rc = 0;
	}
	ack(argv[0], rc);
}

static void
on_stdin(int fd, uint32_t events, void *arg)
{
	ssize_t n;
	char *nl;

	n = read(fd, inbuf + inlen, sizeof(inbuf) - 1 - inlen);
	if (n <= 0) {
		if (n == 0 || errno != EAGAIN)
			quit = true;
		return;
	}
	inlen += (size_t)n;
	inbuf[inlen] = '\0';
	while ((nl = strchr(inbuf, '\n')) != NULL) {
		*nl = '\0';
		command(inbuf);
		inlen -= (size_t)(nl + 1 - inbuf);
		memmove(inbuf, nl + 1, inlen + 1);
	}
	if (inlen == sizeof(inbuf) - 1)
		inlen = 0;	/* an endless line: dropped */
}

static void
on_tick(void *arg)
{
	uint64_t now = now_ms();

	if (now - tick_due > worst_late)
		worst_late = now - tick_due;
	nticks++;
	tick_due = now + TICK_MS;
	loop_timer_set(&tick, tick_due, on_tick, NULL);
}

static void
usage(void)
{
	fprintf(stderr, "usage: etcdtool -n NODE [-c CLUSTER_ID] [-t TTL_S]"
	    " [-p PREFIX] [-s STATE_DIR] [-g ADOPT_GRACE_MS] URL...\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static struct cfg_quorum q;
	struct etcd_params p = { .quorum = &q, .cluster_id = 1 };
	char err[256];
	int c;

	q.enabled = true;
	q.ttl_s = 2;
	snprintf(q.prefix, sizeof(q.prefix), "/failoverd");
	while ((c = getopt(argc, argv, "n:c:t:p:s:g:")) != -1) {
		switch (c) {
		case 'n':
			p.node = optarg;
			break;
		case 'c':
			p.cluster_id = (unsigned)atoi(optarg);
			break;
		case 't':
			q.ttl_s = (unsigned)atoi(optarg);
			break;
		case 'p':
			snprintf(q.prefix, sizeof(q.prefix), "%s", optarg);
			break;
		case 's':
			p.state_dir = optarg;
			break;
		case 'g':
			p.adopt_grace_ms = (uint32_t)atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (p.node == NULL || optind >= argc || argc - optind > CFG_MAX_ETCD)
		usage();
	for (c = optind; c < argc; c++)
		snprintf(q.urls[q.nurls++], sizeof(q.urls[0]), "%s", argv[c]);
	signal(SIGPIPE, SIG_IGN);
	log_init("etcdtool", 1);
	p.cb.lease = on_lease;
	p.cb.key = on_key;
	p.cb.renewed = on_renewed;
	if (loop_init() == -1)
		fatal("loop_init");
	if (etcd_init(&p, err, sizeof(err)) == -1)
		fatalx("%s", err);
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	if (loop_add_fd(0, EPOLLIN, on_stdin, NULL) == -1)
		fatal("stdin");
	tick_due = now_ms() + TICK_MS;
	loop_timer_set(&tick, tick_due, on_tick, NULL);
	begin("ready");
	end();
	while (!quit)
		if (loop_run_once() == -1)
			fatal("loop");
	etcd_finalise();
	loop_finalise();
	return 0;
}
