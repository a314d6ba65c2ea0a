/*
 * failoverd: start-up, signals and the one epoll loop (timers, signalfd,
 * sockets, netlink). The state machine decides; role.c carries it out.
 */
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/epoll.h>

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "announce.h"
#include "checks.h"
#include "failoverd.h"
#include "hooks.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "proto.h"
#include "quorum.h"
#include "sdnotify.h"
#include "vip.h"

#define DEFAULT_CONF	"/etc/failoverd/failoverd.conf"
#define EXIT_GRACE_MS	3000	/* hooks still running at exit get this long */

struct daemon d __attribute__((aligned(4096))) = { .conf_path = DEFAULT_CONF };

static struct loop_timer watchdog_timer, exit_timer;

static void
watchdog_tick(void *arg)
{
	/* petted from the loop itself: a stuck loop stops the pets */
	sdnotify("WATCHDOG=1");
	loop_timer_set(&watchdog_timer, now_ms() + sdnotify_watchdog_ms(),
	    watchdog_tick, NULL);
}

static void
wake(void *arg)
{
}

static void
on_netlink(int fd, uint32_t events, void *arg)
{
	vip_watch_read();
}

static void
on_log(int fd, uint32_t events, void *arg)
{
	log_flush();
}

/* Heartbeat sockets follow their interface first: a fault cleared by the
 * same news sends at once. */
static void
on_link_changed(void *arg, const char *ifname, int ifindex, bool carrier)
{
	link_iface_changed(ifname, ifindex, carrier);
	faults_link_changed(arg, ifname, ifindex, carrier);
}

static void
on_signal(int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			if (role_stopping()) {
				log_warnx("second stop signal: leaving now");
				role_stop_now();
				break;
			}
			log_info("stop requested");
			role_stop();
			break;
		case SIGHUP:
			d.reload_requested = true;
			break;
		}
	}
}

static int
setup_signals(void)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return -1;
	if ((fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		return -1;
	return loop_add_fd(fd, EPOLLIN, on_signal, NULL);
}

static void
go_realtime(void)
{
	struct sched_param sp = { .sched_priority = 50 };

	/* hooks and checks are ordinary processes: they must not starve us */
	if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) == -1)
		log_warn("realtime: SCHED_FIFO");
	if (mlockall(MCL_CURRENT | MCL_FUTURE) == -1)
		log_warn("realtime: mlockall");
}

/* A library the config asks for (metrics, quorum) loads: -t and a start ask first. */
static int
load_libraries(char *err, size_t errlen)
{
	if (metrics_http_load(&d.cfg, err, errlen) == -1 ||
	    quorum_load(&d.cfg, err, errlen) == -1)
		return -1;
	return 0;
}

static int
check_only(void)
{
	uint8_t key[AUTH_KEY_MAX];
	size_t keylen;
	char err[CFG_ERR_MAX];

	if (daemon_load_key(&d.cfg, key, &keylen, err, sizeof(err)) == -1) {
		fputs(err, stderr);
		return 1;
	}
	if (load_libraries(err, sizeof(err)) == -1) {
		fputs(err, stderr);
		return 1;
	}
	printf("%s: configuration OK\n", d.cfg.path);
	return 0;
}

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: failoverd [-f FILE] [-t] [-v] [-V]\n"
	    "       failoverd --cleanup [-f FILE]\n");
	exit(1);
}

/*
 * After the daemon died (ExecStopPost): its VIPs go now, not when their
 * lease runs out. A daemon that still answers on the control socket, even
 * a frozen one, is left alone.
 */
static int
cleanup(void)
{
	static const struct vip_events none;
	int removed = 0, rc = 0;

	if (control_daemon_running(d.cfg.runtime_dir)) {
		fprintf(stderr, "failoverd --cleanup: a daemon is running for %s "
		    "(%s/control.sock answers): touching nothing\n", d.cfg.path,
		    d.cfg.runtime_dir);
		return 1;
	}
	if (vip_init(&none) == -1) {
		fprintf(stderr, "failoverd --cleanup: netlink: cannot open route "
		    "sockets\n");
		return 1;
	}
	for (int i = 0; i < d.cfg.nvips; i++) {
		const struct cfg_vip *v = &d.cfg.vips[i];
		int present = vip_present(v);

		/* one that fails does not keep the others */
		if (present == -1 || (present == 1 && vip_del(v) == -1)) {
			log_warnx("cleanup: cannot remove VIP %s from %s", v->text,
			    v->ifname);
			rc = 1;
		} else if (present == 1) {
			log_info("cleanup: removed VIP %s from %s", v->text,
			    v->ifname);
			removed++;
		}
	}
	if (removed == 0 && rc == 0)
		log_info("cleanup: no VIP of %s was present", d.cfg.path);
	vip_finalise();
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct vip_events vev = {
		.addr_deleted = role_addr_deleted,
		.addr_ready = role_addr_ready,
		.link_changed = on_link_changed,
	};
	static const struct option longopts[] = {
		{ "cleanup", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	char err[CFG_ERR_MAX];
	uint8_t key[AUTH_KEY_MAX];
	size_t keylen;
	int ch, test = 0, verbose = 0, clean = 0;
	bool links_open;
	uint64_t exit_deadline = 0;

	while ((ch = getopt_long(argc, argv, "f:tvV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			clean = 1;
			break;
		case 'f':
			d.conf_path = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("failoverd %s\n", FOD_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc || (clean && test))
		usage();
	log_init("failoverd", verbose);

	if (config_load(d.conf_path, &d.cfg, err, sizeof(err)) == -1) {
		fputs(err, stderr);
		if (err[0] && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		return 1;
	}
	daemon_config_warnings(&d.cfg);
	if (test)
		return check_only();
	if (clean)
		return cleanup();
	if (daemon_load_key(&d.cfg, key, &keylen, err, sizeof(err)) == -1 ||
	    load_libraries(err, sizeof(err)) == -1) {
		err[strcspn(err, "\n")] = '\0';
		fatalx("%s", err);
	}
	if ((d.auth = auth_new(key, keylen)) == NULL)
		fatalx("cannot set up HMAC-SHA256");
	explicit_bzero(key, sizeof(key));
	if (epoch_next(d.cfg.state_dir, &d.epoch, err, sizeof(err)) == -1)
		fatalx("%s", err);

	static char tag[64];
	snprintf(tag, sizeof(tag), "failoverd[%s]", d.cfg.node_name);
	log_set_tag(tag);

	if (d.cfg.realtime)
		go_realtime();
	if (loop_init() == -1)
		fatal("event loop");
	/* edge-triggered: only the end of a stall matters; a file or /dev/null (EPERM) never stalls */
	if (loop_add_fd(log_fd(), EPOLLOUT | EPOLLET, on_log, NULL) == -1 &&
	    errno != EPERM)
		log_warn("cannot watch stderr");
	if (setup_signals() == -1)
		fatal("signals");
	if (vip_init(&vev) == -1)
		fatalx("netlink: cannot open route sockets");
	if (loop_add_fd(vip_watch_fd(), EPOLLIN, on_netlink, NULL) == -1)
		fatal("netlink watch");
	if (announce_init() == -1)
		fatalx("cannot open ARP/NA sockets");
	if (hooks_init(d.cfg.hooks_dir, d.cfg.hooks_timeout_ms) == -1)
		fatalx("hooks");
	/* first: it refuses to start next to a running daemon */
	if (control_init() == -1)
		fatalx("cannot open the control socket in %s", d.cfg.runtime_dir);
	if (metrics_http_init(&d.cfg, err, sizeof(err)) == -1) {
		control_finalise();
		err[strcspn(err, "\n")] = '\0';
		fatalx("%s", err);
	}
	/* a copy left by an earlier run (crash, kill -9) must not linger */
	for (int i = 0; i < d.cfg.nvips; i++)
		if (vip_present(&d.cfg.vips[i]) == 1) {
			log_info("removing stale VIP %s from %s", d.cfg.vips[i].text,
			    d.cfg.vips[i].ifname);
			vip_del(&d.cfg.vips[i]);
		}
	if (link_open_all() == -1)
		fatalx("cannot open heartbeat links");

	d.started_ms = now_ms();
	role_init();
	log_info("started (version %s, epoch %llu, priority %d, %d link(s), "
	    "%d VIP(s) in %d group(s))", FOD_VERSION, (unsigned long long)d.epoch,
	    d.cfg.priority, d.cfg.nlinks, d.cfg.nvips, d.cfg.ngroups);

	sdnotify_init();
	if (sdnotify_watchdog_ms())
		watchdog_tick(NULL);
	if (faults_start() == -1)
		fatalx("cannot start interface tracking, health checks or arbiter");
	link_on_message(daemon_peer_message);
	{
		static const struct quorum_events qe = {
			.key = role_quorum_key, .lease = role_quorum_lease,
			.renewed = role_quorum_renewed,
		};

		if (quorum_init(&d.cfg, &qe, err, sizeof(err)) == -1)
			fatalx("quorum: %s", err);
	}
	role_start();
	links_open = link_any_open();
	if (!links_open)
		fault_set("no-heartbeat-link", true);

	for (;;) {
		if (loop_run_once() == -1)
			fatal("epoll_wait");
		/* no heartbeat socket (every link's interface gone): claim nothing */
		if (link_any_open() != links_open) {
			links_open = !links_open;
			fault_set("no-heartbeat-link", !links_open);
		}
		if (d.reload_requested) {
			d.reload_requested = false;
			char rerr[CFG_ERR_MAX];

			(void)daemon_reload(rerr, sizeof(rerr));
		}
		if (!d.exiting)
			continue;
		if (exit_deadline == 0)
			exit_deadline = now_ms() + d.cfg.hooks_timeout_ms + EXIT_GRACE_MS;
		/* let demote hooks of a graceful stop finish, within a bound */
		if (hooks_pending() == 0 || now_ms() >= exit_deadline)
			break;
		loop_timer_set(&exit_timer, now_ms() + 50, wake, NULL);
	}
	role_release_all();
	quorum_stop();
	quorum_finalise();
	faults_finalise();
	hooks_finalise();
	metrics_http_finalise();
	control_finalise();
	link_close_all();
	announce_finalise();
	vip_finalise();
	auth_free(d.auth);
	loop_finalise();
	sdnotify_finalise();
	log_info("stopped");
	return 0;
}
